// Shared by the instrumentation tests: reading counts back from a registry, and a Drizzle workload whose exact
// statement mix is known, run against PGlite (unit test) and real PostgreSQL (integration test).
import { eq, sql } from 'drizzle-orm';
import type { Registry } from 'prom-client';
import { expect } from 'vitest';
import { uuidv7 } from '../../api/uuid.js';
import type { AppDatabase } from '../../api/db/types.js';
import type { SqlOperation } from '../../api/observability/metrics.js';
import { tasks, users } from '../../drizzle/schema.js';

export type OperationCounts = Record<SqlOperation, number>;

export async function queryCounts(registry: Registry): Promise<OperationCounts> {
  const counts: OperationCounts = { SELECT: 0, INSERT: 0, UPDATE: 0, DELETE: 0, OTHER: 0 };
  const metric = registry.getSingleMetric('db_queries_total');
  if (!metric) throw new Error('db_queries_total is not registered');
  for (const value of (await metric.get()).values) counts[value.labels.operation as SqlOperation] += value.value;
  return counts;
}

export async function durationCount(registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric('db_query_duration_seconds');
  if (!metric) throw new Error('db_query_duration_seconds is not registered');
  return (await metric.get()).values
    .filter((v) => (v as { metricName?: string }).metricName === 'db_query_duration_seconds_count')
    .reduce((sum, v) => sum + v.value, 0);
}

export function difference(after: OperationCounts, before: OperationCounts): OperationCounts {
  return {
    SELECT: after.SELECT - before.SELECT,
    INSERT: after.INSERT - before.INSERT,
    UPDATE: after.UPDATE - before.UPDATE,
    DELETE: after.DELETE - before.DELETE,
    OTHER: after.OTHER - before.OTHER,
  };
}

/**
 * Selects, inserts, updates, deletes, db.execute (including a CTE and a failing statement), a committed and a
 * rolled-back transaction, and a nested one. Returns the statement counts the driver must have sent.
 */
export async function runKnownWorkload(db: AppDatabase, driver: 'postgres' | 'pglite'): Promise<OperationCounts> {
  const id = uuidv7();
  await db.insert(users).values({ id, email: `${id}@example.test`, name: 'Ada' }); // INSERT
  await db.select().from(users).where(eq(users.id, id)); // SELECT
  await db.update(users).set({ name: 'Ada L.' }).where(eq(users.id, id)); // UPDATE
  await db.execute(sql`select 1`); // SELECT
  await db.execute(sql`with doomed as (select id from tasks where false) delete from tasks where id in (select id from doomed)`); // DELETE
  await expect(db.execute(sql`select * from no_such_table`)).rejects.toThrow(); // SELECT, failed
  await db.transaction(async (tx) => {
    // BEGIN … COMMIT
    await tx.insert(tasks).values({ id: uuidv7(), userId: id, title: 'one' }); // INSERT
    await tx.select().from(tasks).where(eq(tasks.userId, id)); // SELECT
  });
  await expect(
    db.transaction(async (tx) => {
      // BEGIN … ROLLBACK
      await tx.insert(tasks).values({ id: uuidv7(), userId: id, title: 'two' }); // INSERT
      throw new Error('roll back');
    }),
  ).rejects.toThrow('roll back');
  await db.transaction(async (tx) => {
    // BEGIN, SAVEPOINT (+ RELEASE on PGlite, where Drizzle sends it), COMMIT
    await tx.transaction(async (nested) => {
      await nested.select().from(users).where(eq(users.id, id)); // SELECT
    });
  });
  await db.delete(users).where(eq(users.id, id)); // DELETE
  const nested = driver === 'pglite' ? 4 : 3;
  return { SELECT: 5, INSERT: 3, UPDATE: 1, DELETE: 2, OTHER: 2 + 2 + nested };
}
