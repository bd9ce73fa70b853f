// Query timing over real PostgreSQL 15 through postgres.js, as the app builds it (createPostgresClient, Drizzle on
// top): every statement Drizzle sends is counted once with its verb, migrations included; the Postgres collector
// reads pg_stat_activity / pg_stat_database and tells this instance's connections apart by application_name.
// These counts are also the guard against driver changes: if Drizzle stopped going through `unsafe`/`begin`, or
// postgres.js queries stopped being Promises, the exact numbers below would no longer match.
import { drizzle } from 'drizzle-orm/postgres-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratePostgresDatabase } from '../../api/db/migrate.js';
import { createPostgresClient } from '../../api/db/postgres.js';
import type { AppDatabase } from '../../api/db/types.js';
import { postgresCollector, postgresRunQuery, tagPostgresConnections } from '../../api/observability/collectors/postgres.js';
import { createApiMetrics } from '../../api/observability/metrics.js';
import { instrumentPostgresClient, uninstrumentedPostgresClient } from '../../api/observability/query-timing.js';
import { createRepository } from '../../api/repository.js';
import * as schema from '../../drizzle/schema.js';
import { difference, durationCount, queryCounts, runKnownWorkload } from '../support/query-workload.js';
import { type RunningPostgres, startPostgres } from '../support/services/index.js';

let pg: RunningPostgres;
let url: string;

beforeAll(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('queries');
});
afterAll(async () => {
  await pg?.stop();
});

describe('query timing over real PostgreSQL (postgres.js + Drizzle)', () => {
  it('counts migrations, then exactly the statements of a known workload, failures and transactions included', async () => {
    const metrics = createApiMetrics();
    await migratePostgresDatabase(url, (raw) => instrumentPostgresClient(raw, metrics));
    const afterMigrations = await queryCounts(metrics.registry);
    // Advisory lock/unlock and the migrator's lookup are SELECTs; DDL, BEGIN/COMMIT are OTHER; the record is an INSERT.
    expect(afterMigrations.SELECT).toBeGreaterThanOrEqual(3);
    expect(afterMigrations.OTHER).toBeGreaterThanOrEqual(5);
    expect(afterMigrations.INSERT).toBe(1);

    const raw = createPostgresClient(url, { max: 3 });
    try {
      const client = instrumentPostgresClient(raw, metrics);
      const db = drizzle(client, { schema }) as unknown as AppDatabase;
      const expected = await runKnownWorkload(db, 'postgres');
      expect(difference(await queryCounts(metrics.registry), afterMigrations)).toEqual(expected);
      const counted = Object.values(await queryCounts(metrics.registry)).reduce((a, b) => a + b, 0);
      expect(await durationCount(metrics.registry)).toBe(counted);

      // The raw client behind it is reachable for bookkeeping, and what goes through it is not counted.
      expect(uninstrumentedPostgresClient(client)).toBe(raw);
      await uninstrumentedPostgresClient(client)`select 1`;
      expect(Object.values(await queryCounts(metrics.registry)).reduce((a, b) => a + b, 0)).toBe(counted);
    } finally {
      await raw.end({ timeout: 5 });
    }
  });

  it("times the repository's point reads, which go out as named prepared statements", async () => {
    const metrics = createApiMetrics();
    // One connection: the statements it prepared are the ones pg_prepared_statements shows it.
    const raw = createPostgresClient(url, { max: 1 });
    try {
      const repository = createRepository(drizzle(instrumentPostgresClient(raw, metrics), { schema }) as unknown as AppDatabase);
      const user = await repository.createUser({ email: 'prepared-reads@example.com', name: 'Prepared' });
      const before = await queryCounts(metrics.registry);
      for (let round = 0; round < 3; round++) {
        expect(await repository.getUser(user.id)).toEqual(user);
        expect(await repository.userExists(user.id)).toBe(true);
        expect(await repository.getTask(user.id)).toBeUndefined();
      }
      expect(difference(await queryCounts(metrics.registry), before)).toEqual({ SELECT: 9, INSERT: 0, UPDATE: 0, DELETE: 0, OTHER: 0 });
      const prepared = await raw<{ statement: string }[]>`select statement from pg_prepared_statements`;
      expect(prepared.filter(({ statement }) => statement.includes('"id" = $1'))).toHaveLength(3);
    } finally {
      await raw.end({ timeout: 5 });
    }
  });

  it('keeps postgres.js semantics: tagged templates, helpers, .values(), reserve and pipelined transactions', async () => {
    const metrics = createApiMetrics();
    const raw = createPostgresClient(url, { max: 2 });
    try {
      const sql = instrumentPostgresClient(raw, metrics);
      expect(await sql`select ${41}::int + 1 as n`).toEqual([{ n: 42 }]);
      expect(await sql.unsafe('select $1::int as n', [7]).values()).toEqual([[7]]);
      expect(await sql`select * from ${sql('users')} where false`).toEqual([]);
      const results = await sql.begin((tx) => [tx`select 1 as a`, tx`select 2 as b`]);
      expect(results).toEqual([[{ a: 1 }], [{ b: 2 }]]);
      const reserved = await sql.reserve();
      await reserved`select 3`;
      reserved.release();
      expect(await queryCounts(metrics.registry)).toEqual({ SELECT: 6, INSERT: 0, UPDATE: 0, DELETE: 0, OTHER: 2 });
    } finally {
      await raw.end({ timeout: 5 });
    }
  });

  it("collects postgres_connections, this instance's database_connections and postgres_queries_per_second", async () => {
    const metrics = createApiMetrics();
    const raw = createPostgresClient(url, { max: 4 });
    const other = createPostgresClient(url, { max: 1 });
    try {
      const name = tagPostgresConnections(raw, 'api test-instance');
      const collector = postgresCollector(postgresRunQuery(raw), metrics, { applicationName: name });
      // Hold three of our connections and one foreign one open at once.
      await Promise.all([raw`select pg_sleep(0.2)`, raw`select pg_sleep(0.2)`, raw`select pg_sleep(0.2)`, other`select 1`]);
      await collector.collect();
      const value = async (metric: { get(): Promise<{ values: Array<{ value: number }> }> }) => (await metric.get()).values[0]?.value;
      expect(await value(metrics.databaseConnections)).toBe(3);
      expect(await value(metrics.postgresConnections)).toBeGreaterThanOrEqual(4);
      for (let i = 0; i < 20; i++) await raw`select 1`;
      // Backends publish their counters to pg_stat_database at most once a second, when idle.
      await expect
        .poll(
          async () => {
            await collector.collect();
            return await value(metrics.postgresQueriesPerSecond);
          },
          { timeout: 15_000, interval: 1_000 },
        )
        .toBeGreaterThan(0);
    } finally {
      await Promise.all([raw.end({ timeout: 5 }), other.end({ timeout: 5 })]);
    }
  });
});
