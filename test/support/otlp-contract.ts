// The OTLP/HTTP contract every store runs (memory store in pushgateway/http/otlp.test.ts, the Redis store over each
// transport in test/support/redis-store-suite.ts): POST /v1/metrics through the app — encodings, status codes, the
// mapping to Prometheus, temporality and the exactly-once rule on delta windows.
import { gzipSync } from 'node:zlib';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../pushgateway/app.js';
import { defaultGatewayConfig, type GatewayConfig } from '../../pushgateway/config/gateway.js';
import {
  ExportMetricsServiceRequestSchema,
  ExportMetricsServiceResponseSchema,
} from '../../pushgateway/proto/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import type { GatewayStore } from '../../pushgateway/store/types.js';

export const t0 = 1_700_000_000_000_000_000n;
export const second = 1_000_000_000n;

export function otlpGateway(newStore: (config: GatewayConfig) => GatewayStore, overrides: Partial<GatewayConfig> = {}) {
  const config = { ...defaultGatewayConfig, ...overrides };
  const store = newStore(config);
  const app = createGatewayApp({ store, config, clock: () => 1_700_000_000_000 });
  const exportJson = (body: unknown, headers: Record<string, string> = {}) =>
    app.request('/v1/metrics', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const metrics = async () => (await app.request('/metrics')).text();
  return { app, store, exportJson, metrics };
}

export const resource = (service: string, extra: Record<string, string> = {}) => ({
  attributes: [
    { key: 'service.name', value: { stringValue: service } },
    ...Object.entries(extra).map(([key, value]) => ({ key, value: { stringValue: value } })),
  ],
});

/** An OTLP JSON request with one metric under one resource and scope (64-bit integers as strings, enums as ints). */
export function request(metric: Record<string, unknown>, res = resource('checkout')) {
  return { resourceMetrics: [{ resource: res, scopeMetrics: [{ scope: { name: 'shop', version: '1.2' }, metrics: [metric] }] }] };
}

export function deltaCounter(value: number, start: bigint, end: bigint, attributes: Record<string, string> = { route: '/pay' }) {
  return {
    name: 'http.server.requests',
    unit: '{request}',
    description: 'Requests served',
    sum: {
      aggregationTemporality: 1,
      isMonotonic: true,
      dataPoints: [
        {
          attributes: Object.entries(attributes).map(([key, v]) => ({ key, value: { stringValue: v } })),
          startTimeUnixNano: String(start),
          timeUnixNano: String(end),
          asInt: String(value),
        },
      ],
    },
  };
}

export const series = (value: number) =>
  `http_server_requests_total{instance="",job="checkout",otel_scope_name="shop",otel_scope_version="1.2",route="/pay"} ${value}\n`;

/** Registers the contract for the store `name`; `newStore` makes an empty store for one case. */
export function describeOtlpContract(name: string, newStore: (config: GatewayConfig) => GatewayStore): void {
  const gateway = (overrides: Partial<GatewayConfig> = {}) => otlpGateway(newStore, overrides);
  describe(`POST /v1/metrics: ${name}`, () => {
    it('sums DELTA points of a monotonic sum into a counter named as the OTel specification says', async () => {
      const { exportJson, metrics } = gateway();
      const first = await exportJson(request(deltaCounter(3, t0, t0 + 10n * second)));
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toBe('application/json');
      expect(await first.json()).toEqual({});
      expect((await exportJson(request(deltaCounter(4, t0 + 10n * second, t0 + 20n * second)))).status).toBe(200);
      const text = await metrics();
      expect(text).toContain('# HELP http_server_requests_total Requests served\n# TYPE http_server_requests_total counter\n');
      expect(text).toContain(series(7));
    });

    it('does not apply a window twice (a retried export) and refuses an overlapping one, counting both', async () => {
      const { exportJson, metrics } = gateway();
      await exportJson(request(deltaCounter(3, t0, t0 + 10n * second)));
      const retry = await exportJson(request(deltaCounter(3, t0, t0 + 10n * second)));
      expect(retry.status).toBe(200);
      expect(await retry.json()).toEqual({});
      const overlapping = await exportJson(request(deltaCounter(5, t0 + 5n * second, t0 + 15n * second)));
      expect(overlapping.status).toBe(200);
      const answer = (await overlapping.json()) as { partialSuccess: { rejectedDataPoints: string; errorMessage: string } };
      expect(answer.partialSuccess.rejectedDataPoints).toBe('1');
      expect(answer.partialSuccess.errorMessage).toMatch(/overlaps/);
      // A later window (a restarted SDK leaves a gap) is new data.
      await exportJson(request(deltaCounter(2, t0 + 60n * second, t0 + 70n * second)));
      const text = await metrics();
      expect(text).toContain(series(5));
      expect(text).toContain('gateway_otlp_points_total{outcome="applied"} 2\n');
      expect(text).toContain('gateway_otlp_points_total{outcome="replayed"} 1\n');
      expect(text).toContain('gateway_otlp_points_total{outcome="overlapping"} 1\n');
    });

    it("records on each group how OTLP wrote it, and counts a replayed export as the group's deduplicated retry", async () => {
      const { app, exportJson } = gateway();
      const facts = async () => {
        const body = (await (await app.request('/api/v1/metrics')).json()) as {
          data: Array<{ labels: { job: string }; '@gateway': { write_mode: string; deduplicated_retries: number } }>;
        };
        return Object.fromEntries(body.data.map((group) => [group.labels.job, group['@gateway']]));
      };
      const gauge = { name: 'queue.depth', gauge: { dataPoints: [{ timeUnixNano: String(t0), asDouble: 3 }] } };
      await exportJson(request(deltaCounter(3, t0, t0 + 10n * second)));
      await exportJson(request(deltaCounter(3, t0, t0 + 10n * second))); // a retry: its window was applied
      await exportJson(request(gauge, resource('stock')));
      await exportJson(request(gauge, resource('stock')));
      expect(await facts()).toEqual({
        checkout: { write_mode: 'otlp-delta', deduplicated_retries: 1, ttl_seconds: 0, expires_at: null },
        stock: { write_mode: 'otlp-cumulative', deduplicated_retries: 0, ttl_seconds: 0, expires_at: null },
      });
    });

    it('keeps streams apart by resource: the same series from two SDK instances adds up', async () => {
      const { exportJson, metrics } = gateway();
      await exportJson(request(deltaCounter(3, t0, t0 + 10n * second), resource('checkout', { 'host.name': 'a' })));
      await exportJson(request(deltaCounter(4, t0, t0 + 10n * second), resource('checkout', { 'host.name': 'b' })));
      const text = await metrics();
      expect(text).toContain(series(7));
      expect(text).toContain('target_info{host_name="a",instance="",job="checkout"} 1\n');
      expect(text).toContain('target_info{host_name="b",instance="",job="checkout"} 1\n');
    });

    it('replaces CUMULATIVE points and gauges, maps service.namespace/name and service.instance.id to job and instance', async () => {
      const { exportJson, metrics } = gateway();
      const res = {
        attributes: [
          { key: 'service.name', value: { stringValue: 'cart' } },
          { key: 'service.namespace', value: { stringValue: 'shop' } },
          { key: 'service.instance.id', value: { stringValue: 'pod-1' } },
        ],
      };
      const cumulative = (value: number, gaugeValue: number) => ({
        resourceMetrics: [
          {
            resource: res,
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'queue.size',
                    unit: 'By',
                    sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [{ timeUnixNano: String(t0), asDouble: value }] },
                  },
                  { name: 'cpu.utilization', unit: '1', gauge: { dataPoints: [{ timeUnixNano: String(t0), asDouble: gaugeValue }] } },
                ],
              },
            ],
          },
        ],
      });
      await exportJson(cumulative(10, 0.5));
      await exportJson(cumulative(4, 0.25));
      const text = await metrics();
      expect(text).toContain('# TYPE queue_size_bytes gauge\nqueue_size_bytes{instance="pod-1",job="shop/cart"} 4\n');
      expect(text).toContain('cpu_utilization_ratio{instance="pod-1",job="shop/cart"} 0.25\n');
      expect(text).not.toContain('target_info');
    });

    it('turns a DELTA explicit-bucket histogram into a classic histogram whose buckets add', async () => {
      const { exportJson, metrics } = gateway();
      const histogram = (counts: number[], start: bigint, end: bigint) =>
        request({
          name: 'http.server.duration',
          unit: 's',
          histogram: {
            aggregationTemporality: 1,
            dataPoints: [
              {
                startTimeUnixNano: String(start),
                timeUnixNano: String(end),
                count: String(counts.reduce((a, b) => a + b, 0)),
                sum: 1.5,
                bucketCounts: counts.map(String),
                explicitBounds: [0.1, 1],
              },
            ],
          },
        });
      await exportJson(histogram([1, 2, 0], t0, t0 + second));
      await exportJson(histogram([0, 1, 1], t0 + second, t0 + 2n * second));
      const text = await metrics();
      const labels = 'instance="",job="checkout",otel_scope_name="shop",otel_scope_version="1.2"';
      expect(text).toContain(`http_server_duration_seconds_bucket{${labels},le="0.1"} 1\n`);
      expect(text).toContain(`http_server_duration_seconds_bucket{${labels},le="1"} 4\n`);
      expect(text).toContain(`http_server_duration_seconds_bucket{${labels},le="+Inf"} 5\n`);
      expect(text).toContain(`http_server_duration_seconds_sum{${labels}} 3\n`);
      expect(text).toContain(`http_server_duration_seconds_count{${labels}} 5\n`);
    });

    it('takes binary protobuf, gzipped, and answers in protobuf with partial_success for refused points', async () => {
      const { app, metrics } = gateway();
      const message = create(ExportMetricsServiceRequestSchema, {
        resourceMetrics: [
          {
            resource: { attributes: [{ key: 'service.name', value: { value: { case: 'stringValue', value: 'bin' } } }] },
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'jobs.done',
                    data: {
                      case: 'sum',
                      value: {
                        aggregationTemporality: 1,
                        isMonotonic: true,
                        dataPoints: [{ startTimeUnixNano: t0, timeUnixNano: t0 + second, value: { case: 'asInt', value: 9n } }],
                      },
                    },
                  },
                  // No temporality: cannot be told apart as delta or cumulative, refused.
                  {
                    name: 'unknown',
                    data: { case: 'sum', value: { isMonotonic: true, dataPoints: [{ value: { case: 'asDouble', value: 1 } }] } },
                  },
                ],
              },
            ],
          },
        ],
      });
      const response = await app.request('/v1/metrics', {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
        body: gzipSync(toBinary(ExportMetricsServiceRequestSchema, message)),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/x-protobuf');
      const answer = fromBinary(ExportMetricsServiceResponseSchema, new Uint8Array(await response.arrayBuffer()));
      expect(answer.partialSuccess?.rejectedDataPoints).toBe(1n);
      expect(answer.partialSuccess?.errorMessage).toMatch(/temporality is unspecified/);
      expect(await metrics()).toContain('jobs_done_total{instance="",job="bin"} 9\n');
    });

    it('answers 400 for an undecodable body, 415 for another type, 413 past the body limit, 401 without the push token — storing nothing', async () => {
      const { app, exportJson, metrics } = gateway({ maxBodyBytes: 2000 });
      const post = (body: string | Uint8Array, type: string) =>
        app.request('/v1/metrics', { method: 'POST', headers: { 'content-type': type }, body: body as BodyInit });
      expect((await post(new Uint8Array([0x0a, 0xff, 0xff]), 'application/x-protobuf')).status).toBe(400);
      expect((await post('{"resourceMetrics": 3}', 'application/json')).status).toBe(400);
      expect((await post('{}', 'text/plain')).status).toBe(415);
      expect((await exportJson(request(deltaCounter(1, t0, t0 + 1n, { big: 'x'.repeat(3000) })))).status).toBe(413);
      expect(await metrics()).not.toContain('http_server_requests_total');

      const guarded = gateway({ pushToken: 'secret' });
      expect((await guarded.exportJson(request(deltaCounter(1, t0, t0 + 1n)))).status).toBe(401);
      expect((await guarded.exportJson(request(deltaCounter(1, t0, t0 + 1n)), { authorization: 'Bearer secret' })).status).toBe(200);
    });

    it('refuses a group whose points conflict with what is stored, applying the other groups of the request', async () => {
      const { app, exportJson, metrics } = gateway();
      await app.request('/metrics/job/other', {
        method: 'PUT',
        body: '# TYPE http_server_requests_total gauge\nhttp_server_requests_total 1\n',
      });
      const both = request(deltaCounter(3, t0, t0 + second));
      both.resourceMetrics.push({
        resource: resource('billing'),
        scopeMetrics: [{ scope: { name: 'b', version: '' }, metrics: [{ name: 'ok', gauge: { dataPoints: [{ asDouble: 1 }] } } as never] }],
      });
      const response = await exportJson(both);
      const answer = (await response.json()) as { partialSuccess: { rejectedDataPoints: string; errorMessage: string } };
      expect(answer.partialSuccess.rejectedDataPoints).toBe('1');
      expect(answer.partialSuccess.errorMessage).toMatch(/is pushed as counter but is a gauge/);
      const text = await metrics();
      expect(text).toContain('ok{instance="",job="billing",otel_scope_name="b"} 1\n');
      expect(text).not.toMatch(/http_server_requests_total\{[^}]*job="checkout"/);
      // The refused window was not recorded: sent again once the conflict is gone, it applies.
      await app.request('/metrics/job/other', { method: 'DELETE' });
      await exportJson(request(deltaCounter(3, t0, t0 + second)));
      expect(await metrics()).toContain(series(3));
    });

    it('answers 429 with Retry-After when the series limit refuses everything, and the retry applies once there is room', async () => {
      const { app, exportJson, metrics } = gateway({ maxSeries: 1 });
      await app.request('/metrics/job/filler', { method: 'PUT', body: '# TYPE f gauge\nf 1\n' });
      const refused = await exportJson(request(deltaCounter(3, t0, t0 + second)));
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('30');
      await app.request('/metrics/job/filler', { method: 'DELETE' });
      expect((await exportJson(request(deltaCounter(3, t0, t0 + second)))).status).toBe(200);
      expect(await metrics()).toContain(series(3));
    });

    it('is served under GATEWAY_ROUTE_PREFIX', async () => {
      const { app } = gateway({ routePrefix: '/pgw' });
      const post = (path: string) =>
        app.request(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(request(deltaCounter(1, t0, t0 + 1n))),
        });
      expect((await post('/v1/metrics')).status).toBe(404);
      expect((await post('/pgw/v1/metrics')).status).toBe(200);
    });
  });
}
