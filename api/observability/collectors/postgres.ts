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

export function postgresCollector(sql: Sql, metrics: ApiMetrics, { applicationName, now = () => performance.now() }: { applicationName: string; now?: () => number }): Collector {
  let last: { transactions: number; atMs: number } | undefined;
  return {
    name: 'postgres',
    async collect() {
      const [row] = await sql<Array<{ connections: number; ours: number; transactions: string | null }>>`
        select
          (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as connections,
          (select count(*)::int from pg_stat_activity where application_name = ${applicationName}) as ours,
          (select (xact_commit + xact_rollback)::text from pg_stat_database where datname = current_database()) as transactions`;
      if (!row) return;
      metrics.postgresConnections.set(row.connections);
      metrics.databaseConnections.set(row.ours);
      const transactions = Number(row.transactions ?? 0);
      const atMs = now();
      if (last && atMs > last.atMs && transactions >= last.transactions) {
        metrics.postgresQueriesPerSecond.set((transactions - last.transactions) / ((atMs - last.atMs) / 1000));
      }
      last = { transactions, atMs };
    },
  };
}
