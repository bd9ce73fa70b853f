// By hand (`taskset -c 1 npx tsx bench/scripts/remote-write-snapshot.ts`): CPU of one remote-write snapshot of a
// ≈100k-series memory store (the `remote-write` suite's mixed series), built and encoded one batch at a time
// (`forEachBatch`, what the gateway does) against every sample built first and then cut into batches. Both in one
// process, alternating which goes first; CPU from process.cpuUsage, GC included; median (min–max) of the rounds.
import { encodeRequestBody, type RemoteSample } from '../../pushgateway/remote-write/encode.js';
import { forEachBatch, samplesOfGroups } from '../../pushgateway/remote-write/series.js';
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

const variants: Record<string, (take: (batch: RemoteSample[]) => void) => void> = {
  'one batch at a time': (take) => forEachBatch(stored, Date.now(), batchSize, take),
  'all samples first': (take) => {
    const samples = samplesOfGroups(stored, Date.now());
    for (let start = 0; start < samples.length; start += batchSize) take(samples.slice(start, start + batchSize));
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
      variants[name]!((batch) => {
        encodeRequestBody(batch);
        count += batch.length;
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
  `  batched ÷ all first   ${formatRatio(spread(pairedRatios(microsPerSample['one batch at a time']!, microsPerSample['all samples first']!)))}`,
);
