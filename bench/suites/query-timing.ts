// 4. Query timing: the cost of timing every query (db_queries_total, db_query_duration_seconds) on 10,000
//    point selects through Drizzle against real PostgreSQL.
import { startPostgres } from '../../test/support/services/postgres.js';
import { migratePostgresDatabase } from '../../api/db/migrate.js';
import { runNodeScript } from '../lib/processes.js';
import { formatNumber, formatSpread, type Table } from '../lib/report.js';
import { spread } from '../lib/stats.js';
import { atMostRounds } from '../lib/rounds.js';
import type { Suite } from '../lib/suite.js';

const QUERIES = 10_000;
const TARGET_OVERHEAD_PERCENT = 3;

export const queryTimingSuite: Suite = {
  name: 'queries',
  description: '10,000 Drizzle point selects on real PostgreSQL, with query timing vs without',
  async run(allSettings, log) {
    // 10,000 selects × 2 variants per round take 20 s a round on a busy machine: 3 rounds keep the run bounded.
    const settings = atMostRounds(allSettings, 3);
    const postgres = await startPostgres();
    try {
      const url = await postgres.createDatabase('bench');
      await migratePostgresDatabase(url);
      const results = await runNodeScript<Array<{ plainMs: number; timedMs: number }>>('query-timing', 'bench/scripts/query-timing.ts', {
        env: { DATABASE_URL: url, BENCH_ROUNDS: String(settings.rounds), BENCH_QUERIES: String(QUERIES) },
        timeoutMs: 300_000,
      });
      for (const [round, result] of results.entries()) {
        log(`round ${round + 1}: without ${result.plainMs.toFixed(0)} ms, with timing ${result.timedMs.toFixed(0)} ms`);
      }
      const overhead = spread(results.map((result) => (result.timedMs / result.plainMs - 1) * 100));
      const perQuery = (ms: number) => (ms * 1000) / QUERIES;
      const table: Table = {
        title: `Query timing: ${formatNumber(QUERIES)} point selects through Drizzle on PostgreSQL 15, ${settings.rounds} rounds`,
        columns: ['without timing µs/query', 'with timing µs/query', 'overhead', 'target'],
        rows: [
          [
            formatSpread(spread(results.map((result) => perQuery(result.plainMs))), 1),
            formatSpread(spread(results.map((result) => perQuery(result.timedMs))), 1),
            formatSpread(overhead, 1, ' %'),
            `< ${TARGET_OVERHEAD_PERCENT} % ${overhead.median < TARGET_OVERHEAD_PERCENT ? 'met' : 'MISSED'}`,
          ],
        ],
        notes: [
          'one connection each, queries in sequence; both variants in one process, alternating per round; PostgreSQL on loopback, unpinned',
        ],
      };
      return [table];
    } finally {
      await postgres.stop();
    }
  },
};
