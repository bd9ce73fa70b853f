// The HTTP contract on Node over real PostgreSQL 15 (postgres.js, migrations applied by the migrator)
// and real Redis 7 through the Upstash REST bridge; plus what is specific to postgres.js.
import pino from 'pino';
import postgres from 'postgres';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../api/app.js';
import { migratePostgresDatabase } from '../../api/db/migrate.js';
import { openDatabase } from '../../api/db/node.js';
import { createPostgresDatabase } from '../../api/db/postgres.js';
import type { Database } from '../../api/db/types.js';
import { upstashOptions } from '../../api/redis.js';
import {
  freePort,
  startPostgres,
  startRedis,
  startRedisBridge,
  type RunningPostgres,
  type RunningRedisBridge,
  type RunningService,
} from '../support/services/index.js';
import { defineApiSuite } from '../support/api-contract.js';

let pg: RunningPostgres;
let redisServer: RunningService;
let bridge: RunningRedisBridge;
let database: Database;
let app: App;

beforeAll(async () => {
  [pg, redisServer] = await Promise.all([startPostgres(), startRedis()]);
  bridge = await startRedisBridge(redisServer.url);
  const url = await pg.createDatabase();
  database = await openDatabase({ databaseUrl: url, pgliteDir: 'unused' });
  const redis = new Redis(upstashOptions({ url: bridge.url, token: bridge.token, timeoutMs: 1_000 }));
  app = createApp({ database, redis, logger: pino({ level: 'silent' }), settings: { rateLimit: { max: 100_000, windowSeconds: 60 } } });
});
afterAll(async () => {
  await database?.close();
  await bridge?.stop();
  await redisServer?.stop();
  await pg?.stop();
});

defineApiSuite('Node app.request() over PostgreSQL 15 and Redis 7', () => ({
  fetch: (path, init) => app.request(path, init),
  redis: true,
}));

describe('migrations on PostgreSQL', () => {
  it('creates the schema once, even when several instances migrate at the same time', async () => {
    const url = await pg.createDatabase();
    await Promise.all([migratePostgresDatabase(url), migratePostgresDatabase(url), migratePostgresDatabase(url)]);
    await migratePostgresDatabase(url);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const applied = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
      expect(applied[0]?.n).toBe(1);
      const tables = await sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
      expect(tables.map((row) => row.table_name)).toEqual(['tasks', 'users']);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it('reports a database that is down: ping rejects, health and data routes answer 503', async () => {
    const unreachable = createPostgresDatabase(`postgres://postgres@127.0.0.1:${await freePort()}/none`, { connectTimeoutSeconds: 2 });
    try {
      await expect(unreachable.ping()).rejects.toThrow();
      const health = await createApp({
        database: unreachable,
        logger: pino({ level: 'silent' }),
        settings: { healthCheckTimeoutMs: 3_000 },
      }).request('/api/health');
      expect(health.status).toBe(503);
      const report = (await health.json()) as { status: string; checks: Record<string, Array<{ status: string }>> };
      expect(report.status).toBe('fail');
      expect(report.checks['postgres:responseTime']?.[0]?.status).toBe('fail');

      const app = createApp({ database: unreachable, logger: pino({ level: 'silent' }) });
      const list = await app.request('/api/users');
      expect(list.status).toBe(503);
      expect(list.headers.get('retry-after')).toBe('5');
      expect(await list.json()).toEqual({ error: { code: 'unavailable', message: 'Database unavailable; retry later' } });
      const create = await app.request('/api/users', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'down@example.com', name: 'Down' }),
      });
      expect(create.status).toBe(503);

      // Waves of concurrent requests during the outage keep failing fast instead of queueing behind
      // postgres.js' default reconnect backoff (up to 20 s per attempt, shared by the pool). The bound is
      // generous (8x the capped backoff) so only the uncapped behaviour can miss it.
      for (let wave = 0; wave < 4; wave++) {
        const statuses = await Promise.race([
          Promise.all(Array.from({ length: 10 }, async () => (await app.request('/api/users')).status)),
          new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 8_000)),
        ]);
        expect(statuses, `wave ${wave}`).toEqual(new Array(10).fill(503));
      }
    } finally {
      await unreachable.close();
    }
  });
});
