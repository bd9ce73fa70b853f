// One large push against the official Pushgateway: how long /-/healthy waits while a 400 000-series PUT (≈ 11 MB)
// is taken in. Health is probed sequentially from the bench process (CPU 0) during the PUT; the servers run
// pinned to CPU 1. Reported per round: the slowest probe and the PUT's own time.
import type { BenchProcess } from '../lib/processes.js';
import { formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate, atMostRounds } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';
import { startOfficialGateway, startOurGateway } from './gateway.js';

interface LargePushRun {
  /** Slowest /-/healthy answer while the PUT was in flight. */
  worstHealthyMs: number;
  probes: number;
  putMs: number;
}

function largeBody(series: number): string {
  const lines = ['# TYPE large_push_series gauge\n'];
  for (let i = 0; i < series; i++) lines.push(`large_push_series{endpoint="/api/items/${i}",method="GET",zone="eu-west-1"} ${i}\n`);
  return lines.join('');
}

async function measure(server: BenchProcess, body: string): Promise<LargePushRun> {
  const started = performance.now();
  let done = false;
  const put = fetch(`${server.url}/metrics/job/large/instance/bench`, { method: 'PUT', body, signal: AbortSignal.timeout(120_000) }).then(
    async (response) => {
      await response.text();
      done = true;
      if (!response.ok) throw new Error(`PUT answered ${response.status}`);
      return performance.now() - started;
    },
  );
  let worstHealthyMs = 0;
  let probes = 0;
  while (!done) {
    const probeStart = performance.now();
    const response = await fetch(`${server.url}/-/healthy`, { signal: AbortSignal.timeout(120_000) });
    await response.text();
    if (!response.ok) throw new Error(`/-/healthy answered ${response.status}`);
    worstHealthyMs = Math.max(worstHealthyMs, performance.now() - probeStart);
    probes++;
  }
  const putMs = await put;
  const deleted = await fetch(`${server.url}/metrics/job/large/instance/bench`, { method: 'DELETE' });
  await deleted.text();
  return { worstHealthyMs, probes, putMs };
}

export const gatewayLargePushSuite: Suite = {
  name: 'large-push',
  description: 'our gateway vs the official Pushgateway: /-/healthy latency while one 400k-series PUT is taken in',
  async run(allSettings, log) {
    const settings = atMostRounds(allSettings, 3);
    const series = settings.quick ? 100_000 : 400_000;
    const body = largeBody(series);
    const servers: BenchProcess[] = [];
    try {
      const official = await startOfficialGateway();
      servers.push(official);
      const ours = await startOurGateway('gateway-large-push', {
        GATEWAY_MAX_BODY_BYTES: String(64 * 1024 * 1024),
        GATEWAY_MAX_STORED_BYTES: '0',
      });
      servers.push(ours);
      const targets = [
        { name: 'official', server: official },
        { name: 'ours', server: ours },
      ];
      const rounds = await alternate<LargePushRun>(
        targets.map(({ name, server }) => ({
          name,
          measure: async (round) => {
            const run = await measure(server, body);
            log(
              `round ${round + 1} ${name}: worst /-/healthy ${run.worstHealthyMs.toFixed(0)} ms over ${run.probes} probes, PUT ${run.putMs.toFixed(0)} ms`,
            );
            return run;
          },
        })),
        settings.rounds,
      );
      const of = (name: string, pick: (run: LargePushRun) => number) => rounds.get(name)!.map(pick);
      const table: Table = {
        title: `One ${series.toLocaleString('en')}-series PUT (${(Buffer.byteLength(body) / 1024 / 1024).toFixed(1)} MiB): /-/healthy meanwhile, ${settings.rounds} rounds`,
        columns: ['gateway', 'worst /-/healthy ms', 'PUT ms', 'worst healthy ÷ official'],
        rows: targets.map(({ name }) => [
          name,
          formatSpread(spread(of(name, (run) => run.worstHealthyMs))),
          formatSpread(spread(of(name, (run) => run.putMs))),
          formatRatio(
            spread(
              pairedRatios(
                of(name, (run) => run.worstHealthyMs),
                of('official', (run) => run.worstHealthyMs),
              ),
            ),
          ),
        ]),
        notes: [
          `probes are sequential GET /-/healthy from the bench process while the PUT is in flight (the body is one family of ${series} gauge series)`,
        ],
      };
      return [table];
    } finally {
      for (const server of servers.reverse()) await server.stop();
    }
  },
};
