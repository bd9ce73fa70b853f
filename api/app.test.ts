// The HTTP contract (test/support/api-contract.ts) over embedded PGlite with the migrations applied,
// driven through app.request(), plus what only an in-process app can show: a failing database gives a
// 500 that leaks nothing, and health turns 503.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineApiSuite } from '../test/support/api-contract.js';
import { createApp, type App } from './app.js';
import { migratePgliteDatabase } from './db/migrate.js';
import { createPgliteDatabase } from './db/pglite.js';
import type { Database } from './db/types.js';

let database: Database & { client: import('@electric-sql/pglite').PGlite };
let app: App;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  database = await createPgliteDatabase('memory://');
  await migratePgliteDatabase(database.client);
  app = createApp({ database, logger });
});
afterAll(async () => {
  await database?.close();
});

defineApiSuite('Node app.request() over PGlite', () => ({ fetch: (path, init) => app.request(path, init), redis: false }));

describe('a failing database', () => {
  it('gives 500 without internals and a failing health check, while /livez stays up', async () => {
    const broken: Database = {
      db: database.db,
      driver: 'pglite',
      ping: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2')),
      close: async () => {},
    };
    const lines: string[] = [];
    const capturing = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });
    const failing = createApp({
      database: () => ({
        ...broken,
        db: {
          select: () => {
            throw new Error('relation "users" password=hunter2');
          },
        } as never,
      }),
      logger: capturing,
    });
    const response = await failing.request('/api/users');
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: 'Internal server error' } });
    expect(text).not.toContain('hunter2');
    expect(lines.join('')).toContain('unhandled error');

    const health = await createApp({ database: broken, logger }).request('/api/health');
    expect(health.status).toBe(503);
    const report = (await health.json()) as { status: string; checks: Record<string, Array<{ status: string; output: string }>> };
    expect(report.status).toBe('fail');
    expect(report.checks['postgres:responseTime']?.[0]).toMatchObject({ status: 'fail', output: 'check failed' });
    expect(JSON.stringify(report)).not.toContain('hunter2');
    expect((await failing.request('/livez')).status).toBe(200);
  });

  it('fails a health check that hangs after its own timeout, without waiting for it', async () => {
    const hanging: Database = { ...database, ping: () => new Promise(() => {}) };
    const response = await createApp({ database: hanging, logger, settings: { healthCheckTimeoutMs: 50 } }).request('/api/health');
    expect(response.status).toBe(503);
    const report = (await response.json()) as { checks: Record<string, Array<{ status: string; output: string }>> };
    expect(report.checks['postgres:responseTime']?.[0]).toMatchObject({ status: 'fail', output: 'no answer within 50 ms' });
  });
});

describe('middleware hooks', () => {
  it('run for every request, including 404, 413 and 500, after the request id is set', async () => {
    const seen: Array<{ path: string; status: number; requestId: string }> = [];
    const hooked = createApp({
      database,
      logger,
      settings: { maxBodyBytes: 10 },
      middleware: [
        async (c, next) => {
          await next();
          seen.push({ path: c.req.path, status: c.res.status, requestId: c.get('requestId') });
        },
      ],
    });
    await hooked.request('/nowhere');
    await hooked.request('/api/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"far too long"}',
    });
    await hooked.request('/livez');
    expect(seen.map(({ path, status }) => [path, status])).toEqual([
      ['/nowhere', 404],
      ['/api/users', 413],
      ['/livez', 200],
    ]);
    expect(seen.every((entry) => entry.requestId.length > 0)).toBe(true);

    const statuses: number[] = [];
    const failing = createApp({
      database: () => {
        throw new Error('pool exhausted');
      },
      logger,
      middleware: [
        async (c, next) => {
          await next();
          statuses.push(c.res.status);
        },
      ],
    });
    expect((await failing.request('/api/users')).status).toBe(500);
    expect(statuses).toEqual([500]);
  });
});
