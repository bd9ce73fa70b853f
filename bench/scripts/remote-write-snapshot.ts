// By hand (`BENCH_ROUNDS=5 taskset -c 1 node --max-semi-space-size=1 --heap-growing-percent=50 --import tsx
// bench/scripts/remote-write-snapshot.ts`, the gateway's heap flags): CPU of one remote-write snapshot of a
// ≈100k-series memory store (the `remote-write` suite's mixed series), written straight from the stored groups into
// the reused request writer (`encodeSnapshot`, what the gateway does) against a sample object built per series first
// and then encoded. Both in one process, alternating which goes first; CPU from process.cpuUsage, GC included;
// median (min–max) of the rounds.
import { encodeRequestBody } from '../../pushgateway/remote-write/encode.js';
import { encodeSnapshot, samplesOfGroups } from '../../pushgateway/remote-write/series.js';
import { MemoryStore } from '../../pushgateway/store/memory.js';
import { formatRatio, formatSpread } from '../lib/report.js';
import { pairedRatios, spread } from '../lib/stats.js';
import { mixedGroupFamilies } from '../suites/gateway-remote-write.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
const groups = Number(process.env.BENCH_GROUPS ?? 40);
const batchSize = 2_000;

const store = new MemoryStore();
for (let group = 0; group < groups; group++) {
  const outcome = await store.apply({
    mode: 'replace',
    grouping: { job: 'rw', instance: `m${group}` },
    families: mixedGroupFamilies(group),
    nowMs: 1_000,
  });
  if (outcome.status !== 'applied') throw new Error(`group ${group}: ${JSON.stringify(outcome)}`);
}
const stored = await store.groups(1_000);

/** Each variant hands the sample count of every request body it encodes to `take`. */
const variants: Record<string, (take: (samples: number) => void) => void> = {
  'straight from store': (take) => encodeSnapshot(stored, Date.now(), batchSize, (_body, samples) => take(samples)),
  'sample objects': (take) => {
    const samples = samplesOfGroups(stored, Date.now());
    for (let start = 0; start < samples.length; start += batchSize) {
      const batch = samples.slice(start, start + batchSize);
      encodeRequestBody(batch);
      take(batch.length);
    }
  },
};
const names = Object.keys(variants);
const microsPerSample: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
let samples = 0;
for (let round = -1; round < rounds; round++) {
  for (const name of round % 2 ? names : [...names].reverse()) {
    const before = process.cpuUsage();
    let count = 0;
    for (let snapshot = 0; snapshot < 5; snapshot++) {
      variants[name]!((batchSamples) => {
        count += batchSamples;
      });
    }
    const used = process.cpuUsage(before);
    samples = count / 5;
    if (round >= 0) microsPerSample[name]!.push((used.user + used.system) / count);
  }
}
console.log(`${samples} samples per snapshot, ${rounds} rounds × 5 snapshots, CPU-µs per sample:`);
for (const name of names) console.log(`  ${name.padEnd(20)} ${formatSpread(spread(microsPerSample[name]!), 2)}`);
console.log(
  `  straight ÷ objects    ${formatRatio(spread(pairedRatios(microsPerSample['straight from store']!, microsPerSample['sample objects']!)))}`,
);
