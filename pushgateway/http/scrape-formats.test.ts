// GET /metrics by Accept: text 0.0.4, OpenMetrics, delimited protobuf (expfmt.Negotiate in the official
// gateway's promhttp handler, main.go), gzip when accepted; and the official push summaries
// (handler/metrics.go httpPushSize/httpPushDuration).
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createGatewayApp } from '../app.js';
import { defaultGatewayConfig } from '../config/gateway.js';
import { decodeDelimitedMetricFamilies } from '../core/protobuf.js';
import { negotiateScrapeFormat } from '../core/scrape-negotiation.js';
import { MemoryStore } from '../store/memory.js';

const prometheusNativeHistograms =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.8,application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const prometheusDefault =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('negotiateScrapeFormat', () => {
  it('picks protobuf when preferred, OpenMetrics or text otherwise', () => {
    expect(negotiateScrapeFormat(prometheusNativeHistograms)).toBe('protobuf');
    expect(negotiateScrapeFormat(prometheusDefault)).toBe('openmetrics');
    expect(negotiateScrapeFormat('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily')).toBe('protobuf'); // encoding defaults to delimited
    expect(negotiateScrapeFormat('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text')).toBe('text');
    expect(negotiateScrapeFormat('application/vnd.google.protobuf;proto=other.Message;encoding=delimited')).toBe('text');
    expect(
      negotiateScrapeFormat(
        'text/plain;q=0.9,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.2',
      ),
    ).toBe('text');
    expect(negotiateScrapeFormat(undefined)).toBe('text');
  });
});

async function gatewayWithPushes() {
  let now = 1_700_000_000_000;
  const app = createGatewayApp({ store: new MemoryStore(), config: defaultGatewayConfig, clock: () => now });
  const push = async (path: string, body: string) => expect((await app.request(path, { method: 'PUT', body })).status).toBe(200);
  await push(
    '/metrics/job/batch/instance/a',
    '# HELP done_total Jobs done.\n# TYPE done_total counter\ndone_total{kind="x"} 7\n# TYPE lat histogram\nlat_bucket{le="0.5"} 2\nlat_bucket{le="+Inf"} 3\nlat_sum 1.25\nlat_count 3\n',
  );
  await push('/metrics/job/other', '# TYPE q summary\nq{quantile="0.5"} 0.2\nq_sum 4\nq_count 10\n# TYPE g gauge\ng -1.5\n');
  now += 1000;
  return app;
}

describe('GET /metrics in delimited protobuf', () => {
  it('carries every pushed family, the push times and the self-metrics, decodable as MetricFamily messages', async () => {
    const app = await gatewayWithPushes();
    const response = await app.request('/metrics', { headers: { accept: prometheusNativeHistograms } });
    expect(response.headers.get('content-type')).toBe(
      'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
    );
    const { families } = decodeDelimitedMetricFamilies(new Uint8Array(await response.arrayBuffer()));
    const byName = new Map(families.map((f) => [f.name, f]));
    expect(byName.get('done_total')).toEqual({
      name: 'done_total',
      help: 'Jobs done.',
      type: 'counter',
      metrics: [{ labels: { instance: 'a', job: 'batch', kind: 'x' }, value: 7 }],
    });
    expect(byName.get('lat')?.metrics).toEqual([
      {
        labels: { instance: 'a', job: 'batch' },
        buckets: [
          { upperBound: 0.5, cumulativeCount: 2 },
          { upperBound: Infinity, cumulativeCount: 3 },
        ],
        sum: 1.25,
        count: 3,
      },
    ]);
    expect(byName.get('q')?.metrics).toEqual([
      { labels: { instance: '', job: 'other' }, quantiles: [{ quantile: 0.5, value: 0.2 }], sum: 4, count: 10 },
    ]);
    expect(byName.get('g')?.metrics[0]).toEqual({ labels: { instance: '', job: 'other' }, value: -1.5 });
    expect(byName.get('push_time_seconds')?.metrics).toHaveLength(2);
    expect(byName.get('push_time_seconds')?.metrics).toEqual(
      expect.arrayContaining([
        { labels: { instance: 'a', job: 'batch' }, value: 1_700_000_000 },
        { labels: { instance: '', job: 'other' }, value: 1_700_000_000 },
      ]),
    );
    expect(byName.get('gateway_groups')?.metrics).toEqual([{ labels: {}, value: 2 }]);
    expect(byName.get('pushgateway_http_push_duration_seconds')?.type).toBe('summary');
  });

  it('is gzip-compressed when the scraper accepts gzip', async () => {
    const app = await gatewayWithPushes();
    const response = await app.request('/metrics', { headers: { accept: prometheusNativeHistograms, 'accept-encoding': 'gzip' } });
    expect(response.headers.get('content-encoding')).toBe('gzip');
    const { families } = decodeDelimitedMetricFamilies(gunzipSync(new Uint8Array(await response.arrayBuffer())));
    expect(families.map((f) => f.name)).toContain('done_total');
  });
});

describe('pushgateway_http_push_duration_seconds and pushgateway_http_push_size_bytes', () => {
  it('are summaries by lower-case method with the quantiles 0.1, 0.5 and 0.9, counting PUT and POST only', async () => {
    const app = createGatewayApp({ store: new MemoryStore(), config: defaultGatewayConfig });
    for (const method of ['PUT', 'POST', 'POST', 'DELETE'])
      await app.request('/metrics/job/s', { method, body: method === 'DELETE' ? null : 'x 1\n' });
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain(
      '# HELP pushgateway_http_push_duration_seconds HTTP request duration for pushes to the Pushgateway.\n# TYPE pushgateway_http_push_duration_seconds summary\n',
    );
    expect(text).toContain('# TYPE pushgateway_http_push_size_bytes summary\n');
    for (const q of ['0.1', '0.5', '0.9'])
      expect(text).toMatch(new RegExp(`pushgateway_http_push_duration_seconds\\{method="post",quantile="${q}"\\} \\d`));
    expect(text).toContain('pushgateway_http_push_duration_seconds_count{method="post"} 2\n');
    expect(text).toContain('pushgateway_http_push_size_bytes_count{method="put"} 1\n');
    expect(text).not.toContain('method="delete",quantile');
    const size = Number(/pushgateway_http_push_size_bytes\{method="put",quantile="0.5"\} (\S+)/.exec(text)![1]);
    expect(size).toBeGreaterThanOrEqual('/metrics/job/s'.length + 'x 1\n'.length);
  });
});
