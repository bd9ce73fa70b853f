// By hand (`npx tsx bench/scripts/push-encoding.ts`): CPU and bytes of one delta push of the API's registry
// (api/observability/metrics.ts) in each protocol of METRICS_PUSH_PROTOCOL — text 0.0.4 for /aggregate and OTLP
// protobuf for /v1/metrics (pushgateway/client/otlp-body.ts) — with every series changed since the baseline (the
// largest push a cycle builds). Alternating rounds in one process; ratios per round, median (min–max).
import { Registry } from 'prom-client';
import { createApiMetrics } from '../../api/observability/metrics.js';
import type { BodyWriter } from '../../pushgateway/client/body-writer.js';
import { Baseline, buildDeltaPush } from '../../pushgateway/client/delta.js';
import { otlpDeltaWriter } from '../../pushgateway/client/otlp-body.js';
import { textBodyWriter } from '../../pushgateway/client/push-text.js';
import { snapshotFromPromJson } from '../../pushgateway/client/snapshot.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const pushes = Number(process.env.BENCH_PUSHES ?? 2_000);

const metrics = createApiMetrics(new Registry(), { nodeCollectors: false });
const endpoints = ['/api/users', '/api/users/:id', '/api/users/:id/tasks', '/api/tasks/:id', '/api/health', '/livez', 'unmatched'];
for (const endpoint of endpoints)
  for (const method of ['GET', 'POST', 'DELETE'])
    for (const status of ['200', '201', '404', '500']) {
      metrics.httpRequestsTotal.inc({ method, endpoint, status }, 3);
      metrics.httpRequestDurationSeconds.observe({ method, endpoint }, 0.012);
    }
for (const operation of ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'OTHER'] as const) {
  metrics.dbQueriesTotal.inc({ operation }, 5);
  metrics.dbQueryDurationSeconds.observe({ operation }, 0.002);
}
const snapshot = snapshotFromPromJson(await metrics.registry.getMetricsAsJSON());
const interval = { startNs: 1_700_000_000_000_000_000n, endNs: 1_700_000_005_000_000_000n };
const writers: Record<string, () => BodyWriter> = {
  'text 0.0.4 (/aggregate)': textBodyWriter,
  'OTLP protobuf (/v1/metrics)': () => otlpDeltaWriter({ job: 'api', instance: 'host:1234' }, interval),
};

const cpu = new Map<string, number[]>();
const bytes = new Map<string, number>();
let series = 0;
for (let round = 0; round < rounds; round++) {
  for (const [name, writer] of round % 2 === 0 ? Object.entries(writers) : Object.entries(writers).reverse()) {
    const before = process.cpuUsage();
    for (let n = 0; n < pushes; n++) {
      const push = buildDeltaPush(snapshot, new Baseline(), 1024 * 1024, writer());
      series = push.series;
      bytes.set(name, typeof push.body === 'string' ? new TextEncoder().encode(push.body).length : push.body.length);
    }
    const used = process.cpuUsage(before);
    cpu.set(name, [...(cpu.get(name) ?? []), (used.user + used.system) / pushes]);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const [textName, otlpName] = Object.keys(writers) as [string, string];
const ratios = cpu.get(otlpName)!.map((micros, i) => micros / cpu.get(textName)![i]!);
console.log(`one delta push of ${series} series (counters and histograms), ${rounds} rounds × ${pushes} pushes`);
for (const [name, values] of cpu) console.log(`${name}: ${median(values).toFixed(1)} µs CPU/push, ${bytes.get(name)} bytes`);
console.log(
  `OTLP ÷ text: ${median(ratios).toFixed(2)}× CPU (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}), ` +
    `${(bytes.get(otlpName)! / bytes.get(textName)!).toFixed(2)}× bytes`,
);
