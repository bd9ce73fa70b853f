// One large push against the official Pushgateway: how long /-/healthy waits while a 400 000-series PUT (≈ 32 MiB)
// is taken in. The PUT is sent by curl, a process of its own, so uploading 32 MiB does not delay the probes; health
// is probed sequentially from the bench process (both on CPU 0) during the PUT; the servers run pinned to CPU 1.
// Reported per round: the slowest probe, the 99th percentile of the probes and the PUT's own time.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeDir, requireBinary } from '../../test/support/services/process.js';
import { type BenchProcess, LOAD_CPU, pinned } from '../lib/processes.js';
import { formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate, atMostRounds } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';
import { startOfficialGateway, startOurGateway } from './gateway.js';

interface LargePushRun {
  /** Slowest /-/healthy answer while the PUT was in flight. */
  worstHealthyMs: number;
  /** 99th percentile of the /-/healthy answers while the PUT was in flight. */
  p99HealthyMs: number;
  probes: number;
  putMs: number;
}

function largeBody(series: number): string {
  const lines = ['# TYPE large_push_series gauge\n'];
  for (let i = 0; i < series; i++) lines.push(`large_push_series{endpoint="/api/items/${i}",method="GET",zone="eu-west-1"} ${i}\n`);
  return lines.join('');
}

/** PUTs the file with curl; resolves with curl's own total time once the answer is in. */
function putWithCurl(url: string, bodyFile: string): Promise<number> {
  const curl = requireBinary(['/usr/bin/curl'], 'curl');
  const [command, args] = pinned(LOAD_CPU, curl, [
    '-s',
    '-o',
    '/dev/null',
    '--max-time',
    '120',
    '-X',
    'PUT',
    '-H',
    'content-type: text/plain; version=0.0.4',
    '--data-binary',
    `@${bodyFile}`,
    '-w',
    '%{http_code} %{time_total}',
    url,
  ]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      const [status, seconds] = output.trim().split(' ').map(Number);
      if (code !== 0 || status !== 200) reject(new Error(`PUT ${url}: curl exit ${code}, status ${status}`));
      else resolve(seconds! * 1000);
    }),
  );
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

async function measure(server: BenchProcess, bodyFile: string): Promise<LargePushRun> {
  let done = false;
  const put = putWithCurl(`${server.url}/metrics/job/large/instance/bench`, bodyFile).finally(() => {
    done = true;
  });
  const probes: number[] = [];
  while (!done) {
    const probeStart = performance.now();
    const response = await fetch(`${server.url}/-/healthy`, { signal: AbortSignal.timeout(120_000) });
    await response.text();
    if (!response.ok) throw new Error(`/-/healthy answered ${response.status}`);
    probes.push(performance.now() - probeStart);
  }
  const putMs = await put;
  const deleted = await fetch(`${server.url}/metrics/job/large/instance/bench`, { method: 'DELETE' });
  await deleted.text();
  return { worstHealthyMs: Math.max(0, ...probes), p99HealthyMs: percentile(probes, 0.99), probes: probes.length, putMs };
}

export const gatewayLargePushSuite: Suite = {
  name: 'large-push',
  description: 'our gateway vs the official Pushgateway: /-/healthy latency while one 400k-series PUT is taken in',
  async run(allSettings, log) {
    const settings = atMostRounds(allSettings, 3);
    const series = settings.quick ? 100_000 : 400_000;
    const body = largeBody(series);
    const dir = makeTempDir('bench-large-push');
    const bodyFile = join(dir, 'body.txt');
    writeFileSync(bodyFile, body);
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
            const run = await measure(server, bodyFile);
            log(
              `round ${round + 1} ${name}: /-/healthy worst ${run.worstHealthyMs.toFixed(0)} ms, p99 ${run.p99HealthyMs.toFixed(0)} ms over ${run.probes} probes, PUT ${run.putMs.toFixed(0)} ms`,
            );
            return run;
          },
        })),
        settings.rounds,
      );
      const of = (name: string, pick: (run: LargePushRun) => number) => rounds.get(name)!.map(pick);
      const table: Table = {
        title: `One ${series.toLocaleString('en')}-series PUT (${(Buffer.byteLength(body) / 1024 / 1024).toFixed(1)} MiB): /-/healthy meanwhile, ${settings.rounds} rounds`,
        columns: ['gateway', 'worst /-/healthy ms', 'p99 /-/healthy ms', 'PUT ms', 'worst ÷ official', 'p99 ÷ official'],
        rows: targets.map(({ name }) => [
          name,
          formatSpread(spread(of(name, (run) => run.worstHealthyMs))),
          formatSpread(spread(of(name, (run) => run.p99HealthyMs))),
          formatSpread(spread(of(name, (run) => run.putMs))),
          ...[(run: LargePushRun) => run.worstHealthyMs, (run: LargePushRun) => run.p99HealthyMs].map((pick) =>
            formatRatio(spread(pairedRatios(of(name, pick), of('official', pick)))),
          ),
        ]),
        notes: [
          `probes are sequential GET /-/healthy from the bench process while curl sends the PUT (the body is one family of ${series} gauge series)`,
        ],
      };
      return [table];
    } finally {
      for (const server of servers.reverse()) await server.stop();
      removeDir(dir);
    }
  },
};
