import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../db/migrate.js';
import type { AppDatabase } from '../db/types.js';
import * as schema from '../../drizzle/schema.js';
import { difference, durationCount, queryCounts, runKnownWorkload } from '../../test/support/query-workload.js';
import { createApiMetrics } from './metrics.js';
import { instrumentPgliteClient, sqlOperation } from './query-timing.js';

describe('sqlOperation', () => {
  it.each([
    ['select 1', 'SELECT'],
    ['  SELECT * from t', 'SELECT'],
    ['insert into "users" ("id") values ($1)', 'INSERT'],
    ['update "users" set "name" = $1', 'UPDATE'],
    ['delete from "users" where "id" = $1', 'DELETE'],
    ['-- comment\n/* block */ select 1', 'SELECT'],
    ['(select 1) union (select 2)', 'SELECT'],
    ['with x as (select 1), y as (select "delete" from z) insert into t select * from x', 'INSERT'],
    ['WITH RECURSIVE r(n) AS (SELECT 1 UNION SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r', 'SELECT'],
    ["with x as (select 'update') delete from t", 'DELETE'],
    ['begin', 'OTHER'],
    ['CREATE TABLE "users" (id uuid)', 'OTHER'],
    ['selectivity', 'OTHER'],
    ['', 'OTHER'],
  ])('%j → %s', (sql, operation) => {
    expect(sqlOperation(sql)).toBe(operation);
  });
});

describe('instrumentPgliteClient (real PGlite, Drizzle on top)', () => {
  let raw: PGlite;
  beforeAll(async () => {
    raw = await PGlite.create('memory://');
  });
  afterAll(async () => {
    await raw?.close();
  });

  it('times every statement Drizzle sends, migrations, transactions and failures included', async () => {
    const metrics = createApiMetrics();
    const client = instrumentPgliteClient(raw, metrics);
    const db = drizzle(client, { schema }) as unknown as AppDatabase;
    await migrate(drizzle(client), { migrationsFolder });
    const afterMigrations = await queryCounts(metrics.registry);
    // The migrator's bookkeeping (schema, table, lookup, record) and the migration's own DDL in a transaction.
    expect(afterMigrations.OTHER).toBeGreaterThanOrEqual(5);
    expect(afterMigrations.SELECT).toBeGreaterThanOrEqual(1);
    expect(afterMigrations.INSERT).toBeGreaterThanOrEqual(1);

    const expected = await runKnownWorkload(db, 'pglite');
    expect(difference(await queryCounts(metrics.registry), afterMigrations)).toEqual(expected);
    const total = Object.values(await queryCounts(metrics.registry)).reduce((a, b) => a + b, 0);
    expect(await durationCount(metrics.registry)).toBe(total);
  });

  it('leaves the client fully usable: raw query, exec, sql template and instanceof', async () => {
    const metrics = createApiMetrics();
    const client = instrumentPgliteClient(raw, metrics);
    expect(client instanceof PGlite).toBe(true);
    expect((await client.query<{ n: number }>('select 41 + 1 as n')).rows[0]?.n).toBe(42);
    await client.exec('create table t (n int); insert into t values (1);');
    expect((await client.sql<{ n: number }>`select n from t`).rows).toEqual([{ n: 1 }]);
    expect(await queryCounts(metrics.registry)).toEqual({ SELECT: 2, INSERT: 0, UPDATE: 0, DELETE: 0, OTHER: 1 });
  });
});
