// Child process of the `queries` suite: 10,000 point selects through Drizzle on real PostgreSQL, with the
// query timer (db_queries_total / db_query_duration_seconds) wrapped around the client and without it.
// Both databases live in this one process and take turns, round by round, so they share the same moment.
import { eq } from 'drizzle-orm';
import { Registry } from 'prom-client';
import { createPostgresDatabase } from '../../api/db/postgres.js';
import { createApiMetrics } from '../../api/observability/metrics.js';
import { instrumentPostgresClient } from '../../api/observability/query-timing.js';
import { users } from '../../drizzle/schema.js';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL must be set');
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const queries = Number(process.env.BENCH_QUERIES ?? 10_000);

// One connection each: point selects in sequence, as a request handler makes them.
const plain = createPostgresDatabase(url, { max: 1 });
const metrics = createApiMetrics(new Registry(), { nodeCollectors: false });
const timed = createPostgresDatabase(url, { max: 1, wrapClient: (client) => instrumentPostgresClient(client, metrics) });

const ids: string[] = [];
for (let index = 0; index < 100; index++) {
  const id = `0190a000-0000-7000-8000-${String(index).padStart(12, '0')}`;
  ids.push(id);
}
await plain.db
  .insert(users)
  .values(ids.map((id, index) => ({ id, email: `bench-${index}@example.com`, name: `Bench ${index}` })))
  .onConflictDoNothing();

async function selects(database: typeof plain, count: number): Promise<number> {
  const started = performance.now();
  for (let index = 0; index < count; index++) {
    const rows = await database.db
      .select()
      .from(users)
      .where(eq(users.id, ids[index % ids.length]!));
    if (rows.length !== 1) throw new Error(`point select returned ${rows.length} rows`);
  }
  return performance.now() - started;
}

// Warm-up: prepared statement caches, JIT.
await selects(plain, 1_000);
await selects(timed, 1_000);

const results: Array<{ plainMs: number; timedMs: number }> = [];
for (let round = 0; round < rounds; round++) {
  // Alternate which goes first.
  if (round % 2 === 0) {
    const plainMs = await selects(plain, queries);
    const timedMs = await selects(timed, queries);
    results.push({ plainMs, timedMs });
  } else {
    const timedMs = await selects(timed, queries);
    const plainMs = await selects(plain, queries);
    results.push({ plainMs, timedMs });
  }
}
// The timed variant must really have timed every select, or the comparison means nothing.
const counted = (await metrics.dbQueriesTotal.get()).values.find((value) => value.labels.operation === 'SELECT')?.value ?? 0;
const expected = 1_000 + rounds * queries;
if (counted < expected) throw new Error(`query timer counted ${counted} SELECTs, expected at least ${expected}`);
await plain.close();
await timed.close();
console.log(`BENCH_RESULT ${JSON.stringify(results)}`);
