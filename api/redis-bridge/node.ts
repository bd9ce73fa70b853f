// Node entry of the Upstash REST bridge: `REDIS_URL=redis://127.0.0.1:6379 BRIDGE_TOKEN=... tsx api/redis-bridge/node.ts`.
import { serve } from '@hono/node-server';
import { createClient } from 'redis';
import { createRedisBridgeApp } from './app.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const token = process.env.BRIDGE_TOKEN;
const port = Number(process.env.BRIDGE_PORT ?? '8079');
const hostname = process.env.BRIDGE_HOST ?? '127.0.0.1';

if (!token) {
  console.error('BRIDGE_TOKEN must be set: the bridge never runs without authentication');
  process.exit(1);
}
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`BRIDGE_PORT must be a TCP port, got "${process.env.BRIDGE_PORT}"`);
  process.exit(1);
}

const client = createClient({ url: redisUrl });
client.on('error', (error: Error) => console.error(`redis: ${error.message}`));
await client.connect();

const server = serve({ fetch: createRedisBridgeApp({ client, token }).fetch, port, hostname }, (info) => {
  console.log(`upstash-rest-bridge listening on http://${hostname}:${info.port} -> ${redisUrl.replace(/\/\/[^@]*@/, '//***@')}`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => void client.quit().finally(() => process.exit(0)));
  });
}
