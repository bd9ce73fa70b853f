// Redis features against real Redis 7 (through the Upstash REST bridge) and real PostgreSQL 15:
// the read-through cache and its invalidation, @upstash/ratelimit's 429 with Retry-After, and what
// happens when Redis goes away (requests still served, health 503, limiter fails open with a log line).
import { Redis } from '@upstash/redis';
import { eq } from 'drizzle-orm';
import pino from 'pino';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type AppDeps } from '../../api/app.js';
import { openDatabase } from '../../api/db/node.js';
import type { Database } from '../../api/db/types.js';
import { upstashOptions } from '../../api/redis.js';
import { users } from '../../drizzle/schema.js';
import {
  startPostgres,
  startRedis,
  startRedisBridge,
  type RunningPostgres,
  type RunningRedisBridge,
  type RunningService,
} from '../support/services/index.js';

let pg: RunningPostgres;
let database: Database;
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  pg = await startPostgres();
  database = await openDatabase({ databaseUrl: await pg.createDatabase(), pgliteDir: 'unused' });
});
afterAll(async () => {
  await database?.close();
  await pg?.stop();
});

const post = (body: unknown, method = 'POST'): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const fromHeader: AppDeps['clientAddress'] = (c) => c.req.header('x-test-client');

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return await Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(resolve, ms))]);
}

describe('with Redis up', () => {
  let redisServer: RunningService;
  let bridge: RunningRedisBridge;
  let redis: Redis;
  let inspector: ReturnType<typeof createClient>;

  beforeAll(async () => {
    redisServer = await startRedis();
    bridge = await startRedisBridge(redisServer.url);
    redis = new Redis(upstashOptions({ url: bridge.url, token: bridge.token, timeoutMs: 1_000 }));
    inspector = createClient({ url: redisServer.url });
    await inspector.connect();
  });
  afterAll(async () => {
    if (inspector?.isOpen) await inspector.quit();
    await bridge?.stop();
    await redisServer?.stop();
  });

  it('caches GET /api/users/:id with a TTL and drops the entry on PATCH and DELETE', async () => {
    const app = createApp({ database, redis, logger: silent, settings: { cacheTtlSeconds: 120 } });
    const user = (await (await app.request('/api/users', post({ email: `cached.${Date.now()}@example.com`, name: 'Before' }))).json()) as {
      id: string;
    };

    const miss = await app.request(`/api/users/${user.id}`);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    const key = `cache:user:${user.id}`;
    const ttl = await inspector.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);

    const hit = await app.request(`/api/users/${user.id}`);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(await hit.json()).toEqual(await miss.json());

    // Proof the HIT came from Redis: a row changed behind the API's back is not seen until invalidation.
    await database.db.update(users).set({ name: 'Changed in SQL' }).where(eq(users.id, user.id));
    expect(((await (await app.request(`/api/users/${user.id}`)).json()) as { name: string }).name).toBe('Before');

    expect((await app.request(`/api/users/${user.id}`, post({ name: 'After' }, 'PATCH'))).status).toBe(200);
    expect(await inspector.exists(key)).toBe(0);
    const afterPatch = await app.request(`/api/users/${user.id}`);
    expect(afterPatch.headers.get('x-cache')).toBe('MISS');
    expect(((await afterPatch.json()) as { name: string }).name).toBe('After');

    expect((await app.request(`/api/users/${user.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await app.request(`/api/users/${user.id}`)).status).toBe(404);
    expect(await inspector.exists(key)).toBe(0);
  });

  it('limits each client: 429 with Retry-After past the budget, shared by every instance, health exempt', async () => {
    const settings = { serviceName: `rl${Date.now()}`, rateLimit: { max: 3, windowSeconds: 30 } };
    const app = createApp({ database, redis, logger: silent, clientAddress: fromHeader, settings });
    const asAlice = { headers: { 'x-test-client': 'alice' } };

    for (let i = 0; i < 3; i++) {
      const response = await app.request('/api/users?limit=1', asAlice);
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBe('3');
      expect(response.headers.get('ratelimit-remaining')).toBe(String(2 - i));
    }
    const limited = await app.request('/api/users?limit=1', asAlice);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limited');

    // The budget lives in Redis: a second instance (fresh local state) refuses alice too.
    const otherInstance = createApp({ database, redis, logger: silent, clientAddress: fromHeader, settings });
    expect((await otherInstance.request('/api/users?limit=1', asAlice)).status).toBe(429);
    expect((await otherInstance.request('/api/users?limit=1', { headers: { 'x-test-client': 'bob' } })).status).toBe(200);
    expect((await app.request('/api/health', asAlice)).status).toBe(200);
    expect((await app.request('/livez', asAlice)).status).toBe(200);
  });
});

describe('with Redis gone', () => {
  it('serves CRUD from the database, reports 503 on health, and the limiter fails open with a log line', async () => {
    const redisServer = await startRedis();
    const bridge = await startRedisBridge(redisServer.url);
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const redis = new Redis(upstashOptions({ url: bridge.url, token: bridge.token, timeoutMs: 500 }));
    const app = createApp({
      database,
      redis,
      logger,
      clientAddress: fromHeader,
      settings: { healthCheckTimeoutMs: 500, rateLimit: { max: 1000, windowSeconds: 60 } },
    });
    const user = (await (await app.request('/api/users', post({ email: `gone.${Date.now()}@example.com`, name: 'Up' }))).json()) as {
      id: string;
    };
    expect((await app.request(`/api/users/${user.id}`)).headers.get('x-cache')).toBe('MISS');

    await redisServer.stop();
    try {
      const health = await app.request('/api/health');
      expect(health.status).toBe(503);
      const report = (await health.json()) as { checks: Record<string, Array<{ status: string }>> };
      expect(report.checks['redis:responseTime']?.[0]?.status).toBe('fail');
      expect(report.checks['postgres:responseTime']?.[0]?.status).toBe('pass');

      const read = await app.request(`/api/users/${user.id}`);
      expect(read.status).toBe(200);
      expect(read.headers.get('x-cache')).toBe('BYPASS');
      expect((await app.request(`/api/users/${user.id}`, post({ name: 'Still writable' }, 'PATCH'))).status).toBe(200);
      expect(((await (await app.request(`/api/users/${user.id}`)).json()) as { name: string }).name).toBe('Still writable');
      expect((await app.request('/api/users', post({ email: `gone2.${Date.now()}@example.com`, name: 'New' }))).status).toBe(201);
      expect(lines.join('')).toContain('fail open');
      expect(lines.join('')).toContain('cache read failed');

      // The bridge itself gone too (connection refused): same outcome.
      await withTimeout(bridge.stop(), 5_000);
      expect((await app.request(`/api/users/${user.id}`)).status).toBe(200);
      expect((await app.request('/api/health')).status).toBe(503);
    } finally {
      await withTimeout(bridge.stop(), 5_000);
    }
  });
});
