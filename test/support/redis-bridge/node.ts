// Node entry of the Upstash REST bridge: `REDIS_URL=redis://127.0.0.1:6379 BRIDGE_TOKEN=... tsx test/support/redis-bridge/node.ts`.
import { serve } from '@hono/node-server';
import { createClient } from 'redis';
import { ConfigError, EnvReader } from '../../../pushgateway/config/env.js';
import { createRedisBridgeApp } from './app.js';

/** Every bad variable is reported at once, in the same format as the API's and the gateway's settings. */
function readBridgeConfig(env: NodeJS.ProcessEnv) {
  const reader = new EnvReader(env);
  const token = reader.string('BRIDGE_TOKEN');
  if (!token) reader.problem('BRIDGE_TOKEN must be set: the bridge never runs without authentication');
  return reader.finish({
    redisUrl: reader.url('REDIS_URL', ['redis:', 'rediss:']) ?? 'redis://127.0.0.1:6379',
    token: token ?? '',
    port: reader.integer('BRIDGE_PORT', 8079, 1, 65_535),
    hostname: reader.string('BRIDGE_HOST') ?? '127.0.0.1',
  });
}

let config: ReturnType<typeof readBridgeConfig>;
try {
  config = readBridgeConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
const { redisUrl, token, port, hostname } = config;

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
