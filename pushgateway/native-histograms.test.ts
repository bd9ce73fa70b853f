// Native histograms through the HTTP surface of the gateway on the memory store: protobuf pushes to /metrics and
// /aggregate, each scrape format, the JSON API, and the refusals.
import { describe, expect, it } from 'vitest';
import { encodeDelimited } from '../test/support/protobuf-bodies.js';
import { createGatewayApp } from './app.js';
import { defaultGatewayConfig } from './config/gateway.js';
import type { HistogramMetric, MetricFamily, NativeBuckets } from './core/model.js';
import { decodeDelimitedMetricFamilies } from './core/protobuf.js';
import { protobufContentType } from './core/protobuf-exposition.js';
import { MemoryStore } from './store/memory.js';

function gateway() {
  let now = 1_700_000_000_000;
  const app = createGatewayApp({ store: new MemoryStore(), config: defaultGatewayConfig, clock: () => (now += 1000) });
  const push = (method: string, path: string, family: MetricFamily) =>
    app.request(path, { method, headers: { 'content-type': protobufContentType }, body: encodeDelimited([family]) as BodyInit });
  return { app, push };
}

const native = (partial: Partial<NativeBuckets> = {}): NativeBuckets => ({
  schema: 2,
  zeroThreshold: 2 ** -128,
  zeroCount: 1,
  positiveSpans: [{ offset: 0, length: 2 }],
  positiveCounts: [2, 3],
  negativeSpans: [{ offset: 4, length: 1 }],
  negativeCounts: [1],
  ...partial,
});

const family = (buckets: NativeBuckets, count = 7, sum = 4.5): MetricFamily => ({
  name: 'latency_seconds',
  help: 'Latency.',
  type: 'histogram',
  metrics: [{ labels: { path: '/' }, buckets: [], sum, count, native: buckets }],
});

async function scrapedNative(app: ReturnType<typeof gateway>['app']): Promise<HistogramMetric> {
  const response = await app.request('/metrics', { headers: { accept: `${protobufContentType};q=0.5,text/plain;q=0.4` } });
  expect(response.headers.get('content-type')).toContain('application/vnd.google.protobuf');
  const { families } = decodeDelimitedMetricFamilies(new Uint8Array(await response.arrayBuffer()));
  return families.find((f) => f.name === 'latency_seconds')!.metrics[0] as HistogramMetric;
}

describe('native histograms over HTTP', () => {
  it('stores a pushed native histogram and serves it in protobuf exposition as pushed', async () => {
    const { app, push } = gateway();
    expect((await push('PUT', '/metrics/job/j', family(native()))).status).toBe(200);
    expect(await scrapedNative(app)).toEqual({
      labels: { instance: '', job: 'j', path: '/' },
      buckets: [],
      sum: 4.5,
      count: 7,
      native: native(),
    });
  });

  it('renders only the +Inf bucket, _sum and _count in the text formats, as expfmt does', async () => {
    const { app, push } = gateway();
    await push('PUT', '/metrics/job/j', family(native()));
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain(
      'latency_seconds_bucket{instance="",job="j",path="/",le="+Inf"} 7\nlatency_seconds_sum{instance="",job="j",path="/"} 4.5\nlatency_seconds_count{instance="",job="j",path="/"} 7\n',
    );
    const om = await (await app.request('/metrics', { headers: { accept: 'application/openmetrics-text; version=1.0.0' } })).text();
    expect(om).toContain('latency_seconds_bucket{instance="",job="j",path="/",le="+Inf"} 7\n');
  });

  it('lists native buckets in /api/v1/metrics as the official gateway does', async () => {
    const { app, push } = gateway();
    await push('PUT', '/metrics/job/j', family(native({ schema: 0, positiveSpans: [{ offset: 1, length: 2 }], positiveCounts: [2, 0] })));
    const body = (await (await app.request('/api/v1/metrics')).json()) as { data: Array<Record<string, { metrics: unknown[] }>> };
    expect(body.data[0]!.latency_seconds!.metrics[0]).toEqual({
      labels: { instance: '', job: 'j', path: '/' },
      count: '7',
      sum: '4.5',
      buckets: [
        // negative bucket 4 of schema 0: [-16, -8)
        [1, '-16', '-8', '1'],
        [3, '-2.938735877055719e-39', '2.938735877055719e-39', '1'],
        [0, '1', '2', '2'],
      ],
    });
  });

  it('merges native deltas in /aggregate and refuses a merge it cannot do with 400 saying why, changing nothing', async () => {
    const { app, push } = gateway();
    expect((await push('POST', '/aggregate/metrics/job/j', family(native()))).status).toBe(200);
    expect((await push('POST', '/aggregate/metrics/job/j', family(native({ schema: 1 }), 7, 0.5))).status).toBe(200);
    const merged = await scrapedNative(app);
    // schema 2 buckets 0, 1 → schema 1 buckets 0, 1; negative 4 → 2; the pushed schema-1 buckets add on.
    expect(merged.native).toEqual({
      schema: 1,
      zeroThreshold: 2 ** -128,
      zeroCount: 2,
      positiveSpans: [{ offset: 0, length: 2 }],
      positiveCounts: [4, 6],
      negativeSpans: [{ offset: 2, length: 3 }],
      negativeCounts: [1, 0, 1],
    });
    expect([merged.count, merged.sum]).toEqual([14, 5]);

    const float = await push('POST', '/aggregate/metrics/job/j', family(native({ float: true }), 7));
    expect(float.status).toBe(400);
    expect(await float.text()).toContain('a native histogram with float counts cannot be merged into one with integer counts');
    const inconsistent = await push('POST', '/aggregate/metrics/job/j', family(native({ positiveCounts: [1] })));
    expect(inconsistent.status).toBe(400);
    expect(await inconsistent.text()).toContain('positive spans cover 2 buckets but 1 bucket counts were given');
    expect((await scrapedNative(app)).native).toEqual(merged.native);
  });

  it('refuses an inconsistent native histogram pushed to /metrics with 400', async () => {
    const { push } = gateway();
    const response = await push('PUT', '/metrics/job/j', family(native({ schema: 9 })));
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('native histogram schema 9 is outside -4…8');
  });
});
