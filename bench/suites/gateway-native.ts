// Part of the `gateway` suite: what merging native histograms costs a /aggregate push. Two of our gateways take the
// same kind of delimited-protobuf push (16 clients, 100 groups, a unique Idempotency-Key each) side by side in
// alternating rounds: 20 histogram series with 12 classic buckets each, or the same 20 series as native histograms
// (schema 3, 40 populated buckets over 2 spans each, a zero bucket and negative buckets, as client_golang's
// default factor 1.1 makes them). Every native push is merged into the stored histogram of its series.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricFamily, NativeBuckets } from '../../pushgateway/core/model.js';
import { mergeNative } from '../../pushgateway/core/native-histogram.js';
import { encodeDelimitedFamilies, protobufContentType } from '../../pushgateway/core/protobuf-exposition.js';
import type { LoadResult } from '../lib/load.js';
import { type BenchProcess, settle } from '../lib/processes.js';
import { formatNumber, formatRatio, formatSpread, type Table } from '../lib/report.js';
import { alternate, type BenchSettings } from '../lib/rounds.js';
import { pairedRatios, spread } from '../lib/stats.js';
import { GROUPS, type PushTarget, pushLoad, startOurGateway } from './gateway.js';

const SERIES = 20;
const CLASSIC_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Infinity];

export function nativeBuckets(schema: number, zeroThreshold = 2 ** -128): NativeBuckets {
  return {
    schema,
    zeroThreshold,
    zeroCount: 2,
    positiveSpans: [
      { offset: -40, length: 25 },
      { offset: 4, length: 15 },
    ],
    positiveCounts: Array.from({ length: 40 }, (_, b) => 1 + ((b * 7) % 5)),
    negativeSpans: [{ offset: 0, length: 3 }],
    negativeCounts: [1, 1, 1],
  };
}

/** µs per mergeNative call in this process (validation of both sides included), median of `rounds` timings. */
function mergeMicros(stored: NativeBuckets, delta: NativeBuckets, rounds: number): number[] {
  const calls = 50_000;
  for (let i = 0; i < calls; i++) mergeNative(stored, delta);
  return Array.from({ length: rounds }, () => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) mergeNative(stored, delta);
    return Number(process.hrtime.bigint() - started) / calls / 1000;
  });
}

function histogramBody(native: boolean): Uint8Array {
  const family: MetricFamily = {
    name: 'bench_latency_seconds',
    help: 'Bench.',
    type: 'histogram',
    metrics: Array.from({ length: SERIES }, (_, i) => {
      const labels = { route: `/r${i}` };
      if (!native) {
        return { labels, buckets: CLASSIC_BOUNDS.map((upperBound, b) => ({ upperBound, cumulativeCount: b + 1 })), sum: 3.5, count: 12 };
      }
      const buckets = nativeBuckets(3);
      const observed = buckets.zeroCount + buckets.positiveCounts.reduce((a, b) => a + b, 0) + 3;
      return { labels, buckets: [], sum: 3.5, count: observed, native: buckets };
    }),
  };
  return encodeDelimitedFamilies([family]);
}

export async function nativeMergeTables(settings: BenchSettings, workDir: string, log: (line: string) => void): Promise<Table[]> {
  const servers: BenchProcess[] = [];
  try {
    const variants: Array<{ target: PushTarget; bodyFile: string }> = [];
    for (const kind of ['classic', 'native'] as const) {
      const bodyFile = join(workDir, `histograms-${kind}.pb`);
      writeFileSync(bodyFile, histogramBody(kind === 'native'));
      const server = await startOurGateway(`gateway-aggregate-${kind}`);
      servers.push(server);
      const target: PushTarget = { name: kind, server, prefix: '/aggregate/metrics/job/bench', method: 'POST', idempotency: true };
      variants.push({ target, bodyFile });
    }
    for (const { target, bodyFile } of variants) {
      // One push per group through fetch, so every measured push merges into a stored series.
      for (let group = 0; group < GROUPS; group++) {
        const response = await fetch(`${target.server.url}${target.prefix}/instance/i${group}`, {
          method: 'POST',
          headers: { 'content-type': protobufContentType },
          body: readFileSync(bodyFile),
        });
        if (!response.ok) throw new Error(`${target.name} refused the first push: ${response.status} ${await response.text()}`);
      }
      await pushLoad(target, bodyFile, settings.warmupSeconds * 2, { contentType: protobufContentType });
    }
    const runs = await alternate<LoadResult>(
      variants.map(({ target, bodyFile }) => ({
        name: target.name,
        measure: async (round) => {
          const result = await pushLoad(target, bodyFile, settings.seconds, { contentType: protobufContentType });
          await settle(target.server);
          log(`native merge round ${round + 1} ${target.name}: ${result.rps.toFixed(0)} pushes/s`);
          if (result.non2xx > 0) throw new Error(`${target.name} refused ${result.non2xx} pushes`);
          return result;
        },
      })),
      settings.rounds,
    );
    const rate = (name: string) => runs.get(name)!.map((run) => run.rps);
    // Extra time per push, per round, spread over its series: the merge cost of one native series.
    const extraUs = rate('native').map((native, i) => (1e6 / native - 1e6 / rate('classic')[i]!) / SERIES);
    return [
      {
        title: `Native-histogram merge in /aggregate: ${SERIES} histogram series per protobuf push, ${settings.rounds} rounds × ${settings.seconds} s`,
        columns: ['measure', 'value'],
        rows: [
          ['pushes/s, classic (12 buckets a series)', formatSpread(spread(rate('classic')))],
          ['pushes/s, native (schema 3, 40 + 3 buckets a series)', formatSpread(spread(rate('native')))],
          ['native ÷ classic pushes/s', formatRatio(spread(pairedRatios(rate('native'), rate('classic'))))],
          ['extra µs per native series merged (vs a classic one)', formatSpread(spread(extraUs), 1)],
          ['µs per native push (whole request)', formatNumber(1e6 / spread(rate('native')).median, 0)],
          [
            'µs per mergeNative, same schema (in process)',
            formatSpread(spread(mergeMicros(nativeBuckets(3), nativeBuckets(3), settings.rounds)), 2),
          ],
          [
            'µs per mergeNative, schema 3 into 1',
            formatSpread(spread(mergeMicros(nativeBuckets(1), nativeBuckets(3), settings.rounds)), 2),
          ],
          [
            'µs per mergeNative, zero bucket widened to 0.01',
            formatSpread(spread(mergeMicros(nativeBuckets(3), nativeBuckets(3, 0.01), settings.rounds)), 2),
          ],
        ],
        notes: ['each gateway pinned to CPU 1, wrk on CPU 0; every push carries its own Idempotency-Key and merges into stored series'],
      },
    ];
  } finally {
    for (const server of servers) await server.stop();
  }
}
