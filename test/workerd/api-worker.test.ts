// The API Worker, bundled by `wrangler deploy --dry-run` from the root wrangler.toml, running in real
// workerd: the shared HTTP contract against real PostgreSQL 15 through a Hyperdrive binding and real
// Redis 7 through the Upstash REST bridge; then the DATABASE_URL path and a misconfigured Worker.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratePostgresDatabase } from '../../api/db/migrate.js';
import { defineApiSuite } from '../support/api-contract.js';
import {
  freePort,
  startPostgres,
  startRedis,
  startRedisBridge,
  type RunningPostgres,
  type RunningRedisBridge,
  type RunningService,
} from '../support/services/index.js';
import { makeTempDir, removeDir } from '../support/services/process.js';
import { bundleWorker, startWorker, type RunningWorker } from '../support/services/workerd.js';

const config = resolve(import.meta.dirname, '../../wrangler.toml');

let postgres: RunningPostgres;
let redis: RunningService;
let bridge: RunningRedisBridge;
let databaseUrl: string;
let bundleDir: string;
let scriptPath: string;
let worker: RunningWorker;

beforeAll(async () => {
  bundleDir = makeTempDir('api-worker-bundle');
  [postgres, redis, scriptPath] = await Promise.all([startPostgres(), startRedis(), bundleWorker(config, bundleDir)]);
  bridge = await startRedisBridge(redis.url);
  databaseUrl = await postgres.createDatabase();
  await migratePostgresDatabase(databaseUrl);
  worker = await startWorker({
    config,
    scriptPath,
    // Miniflare's Hyperdrive insists on a password; the test cluster's trust auth ignores it.
    hyperdrives: { HYPERDRIVE: databaseUrl.replace('postgres@', 'postgres:unused@') },
    bindings: { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token, RATE_LIMIT_MAX: '100000', LOG_LEVEL: 'warn' },
  });
});
afterAll(async () => {
  await worker?.stop();
  await bridge?.stop();
  await redis?.stop();
  await postgres?.stop();
  if (bundleDir) removeDir(bundleDir);
});

defineApiSuite('workerd over PostgreSQL (Hyperdrive) and Redis', () => ({
  fetch: (path, init) => fetch(new URL(path, worker.url), init),
  redis: true,
}));

describe('Worker specifics', () => {
  it('serves GET /api/users/:id from the cache after the first read', async () => {
    const created = await fetch(new URL('/api/users', worker.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `cache.${Date.now()}@example.com`, name: 'Cached' }),
    });
    const { id } = (await created.json()) as { id: string };
    expect((await fetch(new URL(`/api/users/${id}`, worker.url))).headers.get('x-cache')).toBe('MISS');
    expect((await fetch(new URL(`/api/users/${id}`, worker.url))).headers.get('x-cache')).toBe('HIT');
  });

  it('rate-limits through @upstash/ratelimit over the bridge: 429 with Retry-After', async () => {
    const limited = await startWorker({
      config,
      scriptPath,
      hyperdrives: { HYPERDRIVE: databaseUrl.replace('postgres@', 'postgres:unused@') },
      bindings: {
        UPSTASH_REDIS_REST_URL: bridge.url,
        UPSTASH_REDIS_REST_TOKEN: bridge.token,
        RATE_LIMIT_MAX: '2',
        SERVICE_NAME: `limited-${Date.now()}`,
      },
    });
    try {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 3; i++) {
        last = await fetch(new URL('/api/users?limit=1', limited.url), { headers: { 'cf-connecting-ip': '203.0.113.9' } });
        statuses.push(last.status);
        if (i < 2) await last.arrayBuffer();
      }
      expect(statuses).toEqual([200, 200, 429]);
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await last!.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
      // The limiter really ran (it fails open, with a log line, when Redis refuses its scripts).
      expect(limited.output()).not.toContain('fail open');
      expect(worker.output()).not.toContain('fail open');
    } finally {
      await limited.stop();
    }
  });

  it('answers 503 (not 500) while the database is unreachable, and health says so', async () => {
    const down = await startWorker({
      config,
      scriptPath,
      bindings: { DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/none`, LOG_LEVEL: 'error' },
    });
    try {
      const health = await fetch(new URL('/api/health', down.url));
      expect(health.status).toBe(503);
      const list = await fetch(new URL('/api/users', down.url));
      const text = await list.text();
      expect(list.status, text).toBe(503);
      expect(JSON.parse(text)).toEqual({ error: { code: 'unavailable', message: 'Database unavailable; retry later' } });
    } finally {
      await down.stop();
    }
  });

  it('works with DATABASE_URL instead of Hyperdrive', async () => {
    const direct = await startWorker({ config, scriptPath, bindings: { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' } });
    try {
      const health = await fetch(new URL('/api/health', direct.url));
      expect(health.status).toBe(200);
      const created = await fetch(new URL('/api/users', direct.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `direct.${Date.now()}@example.com`, name: 'Direct' }),
      });
      expect(created.status).toBe(201);
    } finally {
      await direct.stop();
    }
  });

  it('answers 500 "misconfigured" without details when the configuration is invalid, and logs which variable', async () => {
    const misconfigured = await startWorker({ config, scriptPath, bindings: { PORT: 'not-a-port' } });
    try {
      const response = await fetch(new URL('/api/health', misconfigured.url));
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ error: { code: 'misconfigured', message: 'Service misconfigured' } });
      await expect.poll(() => misconfigured.output(), { timeout: 5_000 }).toContain('PORT must be an integer');
    } finally {
      await misconfigured.stop();
    }
  });
});
