// 3. Log shipping: ECS lines per second one Node process ships into the Elasticsearch `_bulk` stand-in.
//    (The API throughput lost to shipping is measured in the `api` suite, ours with shipping on vs off.)
import { runNodeScript, startBulkStandIn } from '../lib/processes.js';
import { formatNumber, formatSpread, type Table } from '../lib/report.js';
import { spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';

const TARGET_LINES_PER_SECOND = 20_000;

export const logShippingSuite: Suite = {
  name: 'logs',
  description: 'ECS log lines/s shipped from one Node process into the _bulk stand-in',
  async run(settings, log) {
    const bulk = await startBulkStandIn();
    try {
      const lines = settings.quick ? 30_000 : 100_000;
      log(`shipping ${settings.rounds} rounds × ${formatNumber(lines)} lines`);
      const results = await runNodeScript<Array<{ linesPerSecond: number; dropped: number }>>(
        'log-shipping',
        'bench/scripts/log-shipping.ts',
        {
          env: { ELASTICSEARCH_URL: bulk.url, BENCH_ROUNDS: String(settings.rounds), BENCH_LINES: String(lines), LOG_LEVEL: 'info' },
          timeoutMs: 180_000,
        },
      );
      for (const [round, result] of results.entries())
        log(`round ${round + 1}: ${Math.round(result.linesPerSecond)} lines/s, ${result.dropped} dropped`);
      const rate = spread(results.map((result) => result.linesPerSecond));
      const dropped = results.reduce((sum, result) => sum + result.dropped, 0);
      const table: Table = {
        title: `Log shipping into the _bulk stand-in: ${settings.rounds} rounds × ${formatNumber(lines)} lines, one Node process`,
        columns: ['lines/s', 'dropped', 'target'],
        rows: [
          [
            formatSpread(rate),
            formatNumber(dropped),
            `≥ ${formatNumber(TARGET_LINES_PER_SECOND)} lines/s ${rate.median >= TARGET_LINES_PER_SECOND ? 'met' : 'MISSED'}`,
          ],
        ],
        notes: [
          'path: pino with ECS format and redaction → LogShipper → @elastic/elasticsearch client → stand-in (another process, CPU 0)',
          'the writer waits while 20,000 lines are queued, so this is the sustained rate, not a buffer filling up',
        ],
      };
      return [table];
    } finally {
      await bulk.stop();
    }
  },
};
