// PostgreSQL server gauges from its statistics views, read over the app's own (instrumented) client:
//   postgres_connections        backends connected to the server (pg_stat_activity, client backends)
//   postgres_queries_per_second transactions (commits + rollbacks) per second in the app's database, between
//                               two readings of pg_stat_database — the server-wide rate, all instances together
//   database_connections        the connections *this instance* holds: backends whose application_name is ours
import type { Sql } from 'postgres';
import type { ApiMetrics } from '../metrics.js';
import type { Collector } from './scheduler.js';

/**
 * Gives this instance's connections a recognisable application_name (max 63 bytes in PostgreSQL), so the
 * server can tell us which backends are ours. postgres.js reads `options.connection` at each connect, and the
 * client opens connections lazily: call this before the first query. (Drizzle configures the client the same
 * way, through `options.parsers`.)
 */
export function tagPostgresConnections(sql: Sql, applicationName: string): string {
  const name = applicationName.slice(0, 63);
  const options = sql.options as unknown as { connection: Record<string, unknown> };
  options.connection = { ...options.connection, application_name: name };
  return name;
}

/** Runs one parameterised statement and returns its rows: postgres.js (`sql.unsafe`) and PGlite (`query`) both fit. */
export type RunQuery = (text: string, params: unknown[]) => Promise<ReadonlyArray<Record<string, unknown>>>;

export function postgresRunQuery(sql: Sql): RunQuery {
  return async (text, params) => await sql.unsafe(text, params as never[]);
}

export interface PostgresCollectorOptions {
  /**
   * The application_name this instance's connections carry (see tagPostgresConnections); database_connections
   * is then read from the server. Without it (embedded PGlite: one in-process connection) it is left alone.
   */
  applicationName?: string;
  /**
   * Embedded PGlite runs PostgreSQL in single-user mode: pg_stat_activity lists no client backend, and the one
   * connection there is, is the app's.
   */
  embedded?: boolean;
  now?: () => number;
}

const statsQuery = `
  select
    (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as connections,
    (select count(*)::int from pg_stat_activity where application_name = $1) as ours,
    (select (xact_commit + xact_rollback)::text from pg_stat_database where datname = current_database()) as transactions`;

export function postgresCollector(
  runQuery: RunQuery,
  metrics: ApiMetrics,
  { applicationName, embedded = false, now = () => performance.now() }: PostgresCollectorOptions = {},
): Collector {
  let last: { transactions: number; atMs: number } | undefined;
  return {
    name: 'postgres',
    async collect() {
      const [row] = await runQuery(statsQuery, [applicationName ?? '']);
      if (!row) return;
      metrics.postgresConnections.set(embedded ? 1 : Number(row.connections));
      if (applicationName !== undefined) metrics.databaseConnections.set(Number(row.ours));
      const transactions = Number(row.transactions ?? 0);
      const atMs = now();
      if (last && atMs > last.atMs && transactions >= last.transactions) {
        metrics.postgresQueriesPerSecond.set((transactions - last.transactions) / ((atMs - last.atMs) / 1000));
      }
      last = { transactions, atMs };
    },
  };
}
