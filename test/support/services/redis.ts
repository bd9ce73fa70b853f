// A real Redis 7 server (Debian `redis-server`) on loopback, and the Upstash REST bridge in front of it
// so `@upstash/redis` can talk to it.
import { type ServerType, serve } from '@hono/node-server';
import { createClient } from 'redis';
import { createRedisBridgeApp } from '../redis-bridge/app.js';
import { freePort, makeTempDir, type RunningService, requireBinary, serviceWhenReady, spawnLogged } from './process.js';

export async function startRedis(extraArgs: string[] = [], what = 'Redis'): Promise<RunningService> {
  const binary = requireBinary(['/usr/bin/redis-server'], 'redis-server');
  const dir = makeTempDir('redis');
  const port = await freePort();
  const proc = spawnLogged(
    'redis',
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', ...extraArgs],
    dir,
  );
  const url = `redis://127.0.0.1:${port}`;
  return serviceWhenReady(proc, { url, port, dir, what }, async () => {
    const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
    client.on('error', () => {});
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } finally {
      if (client.isOpen) await client.quit();
    }
  });
}

export interface RunningRedisBridge {
  /** The value for UPSTASH_REDIS_REST_URL. */
  url: string;
  /** The value for UPSTASH_REDIS_REST_TOKEN. */
  token: string;
  stop(): Promise<void>;
}

/** Serves the Upstash REST bridge in this process, in front of the Redis at `redisUrl`. */
export async function startRedisBridge(redisUrl: string, token = 'test-bridge-token'): Promise<RunningRedisBridge> {
  const client = createClient({ url: redisUrl });
  client.on('error', () => {});
  await client.connect();
  const app = createRedisBridgeApp({ client, token });
  const server: ServerType = await new Promise((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (client.isOpen) await client.quit();
    },
  };
}
