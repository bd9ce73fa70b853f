// The figures behind the bounds in pushgateway/README.md ("Auth and limits"): heap and snapshot bytes per stored
// series and per remembered Idempotency-Key in the memory store, and how they relate to gateway_stored_bytes
// (what GATEWAY_MAX_STORED_BYTES bounds). Heap is measured after a forced GC, so run it with --expose-gc:
//   node --expose-gc --import tsx bench/scripts/store-footprint.ts      (SERIES=… KEYS=… to change the sizes)
import { groupKey } from '../../pushgateway/core/grouping.js';
import { parseTextExposition } from '../../pushgateway/core/text-parser.js';
import { MemoryStore } from '../../pushgateway/store/memory.js';
import { encodeSnapshot } from '../../pushgateway/store/snapshot-codec.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (see the header)');
const series = Number(process.env.SERIES ?? 200_000);
const keys = Number(process.env.KEYS ?? 200_000);

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

/** Series shaped like the API's: a route-template label, a method and a status, in groups of 1 000. */
async function seriesFootprint(): Promise<void> {
  const store = new MemoryStore();
  const before = heap();
  const perGroup = 1000;
  for (let g = 0; g < series / perGroup; g++) {
    let body = '# TYPE http_requests_total counter\n';
    for (let i = 0; i < perGroup; i++) body += `http_requests_total{method="GET",endpoint="/api/users/:id/${i}",status="200"} ${i}\n`;
    const { families } = parseTextExposition(body);
    await store.apply({ mode: 'replace', grouping: { job: 'api', instance: `i-${g}` }, families, nowMs: 1 });
  }
  const after = heap();
  const { storedBytes = 0 } = await store.stats(1);
  const snapshot = encodeSnapshot(store.snapshot(1), 1);
  console.log(
    `series: ${series}; heap ${((after - before) / series).toFixed(0)} B/series; gateway_stored_bytes ${(storedBytes / series).toFixed(0)} B/series ` +
      `(heap = ${((after - before) / storedBytes).toFixed(2)}× stored bytes); snapshot ${(snapshot.length / series).toFixed(0)} B/series`,
  );
}

/** Remembered keys, with a short job and with a 15 000-character one: the digest makes them cost the same. */
async function keyFootprint(jobLength: number): Promise<void> {
  const store = new MemoryStore({ maxIdempotencyKeys: keys });
  const job = 'j'.repeat(jobLength);
  const { families } = parseTextExposition('# TYPE k_total counter\nk_total 1\n');
  await store.apply({ mode: 'aggregate', grouping: { job }, families, idempotencyKey: 'warm-up', nowMs: 1 });
  const before = heap();
  for (let i = 0; i < keys; i++)
    await store.apply({ mode: 'aggregate', grouping: { job }, families, idempotencyKey: crypto.randomUUID(), nowMs: 1 });
  const after = heap();
  const snapshot = encodeSnapshot(store.snapshot(1), 1).length - groupKey({ job }).length;
  console.log(
    `keys: ${keys}, job of ${jobLength} characters; heap ${((after - before) / keys).toFixed(0)} B/key; snapshot ${(snapshot / keys).toFixed(0)} B/key`,
  );
}

await seriesFootprint();
await keyFootprint(1);
await keyFootprint(15_000);
