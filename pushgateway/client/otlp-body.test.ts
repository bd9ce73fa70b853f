// The OTLP push bodies, read back by the gateway's own decoder and translator (otlp/decode.ts, otlp/translate.ts):
// the resource names the group, counters arrive as monotonic DELTA sums and histograms as DELTA histograms over the
// push's interval, gauges as gauges, the metric names unchanged; and the byte bound holds for any labels.
import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { decodeExportRequest, encodeExportResponse } from '../otlp/decode.js';
import { translateExportRequest } from '../otlp/translate.js';
import { AggregationTemporality } from '../proto/opentelemetry/proto/metrics/v1/metrics_pb.js';
import { Baseline, buildDeltaPush, buildGaugePush } from './delta.js';
import { otlpDeltaWriter, otlpGaugeWriter, otlpRefusedPoints } from './otlp-body.js';
import { snapshotFromPromJson } from './snapshot.js';

const resource = { job: 'api', instance: 'host-1:42' };
const interval = { startNs: 1_700_000_000_000_000_000n, endNs: 1_700_000_005_000_000_000n };

function fixture() {
  const registry = new Registry();
  const requests = new Counter({ name: 'http_requests_total', help: 'Requests.', labelNames: ['method', 'status'], registers: [registry] });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Duration.',
    labelNames: ['method'],
    buckets: [0.1, 1],
    registers: [registry],
  });
  const inFlight = new Gauge({ name: 'active_connections', help: 'In flight.', registers: [registry] });
  const snapshot = async () => snapshotFromPromJson(await registry.getMetricsAsJSON());
  return { requests, duration, inFlight, snapshot };
}

const asBinary = (body: string | Uint8Array) => {
  expect(body).toBeInstanceOf(Uint8Array);
  return body as Uint8Array;
};

describe('OTLP delta bodies', () => {
  it('carry counters as monotonic DELTA sums and histograms as DELTA histograms over the interval, in one resource', async () => {
    const { requests, duration, snapshot } = fixture();
    requests.inc({ method: 'GET', status: '200' }, 3);
    duration.observe({ method: 'GET' }, 0.05);
    duration.observe({ method: 'GET' }, 0.5);
    duration.observe({ method: 'GET' }, 5);
    const push = buildDeltaPush(await snapshot(), new Baseline(), 64 * 1024, otlpDeltaWriter(resource, interval));
    const request = decodeExportRequest(asBinary(push.body), 'protobuf');

    expect(request.resourceMetrics).toHaveLength(1);
    const [resourceMetrics] = request.resourceMetrics;
    expect(resourceMetrics!.resource!.attributes.map((kv) => [kv.key, kv.value?.value.value])).toEqual([
      ['service.name', 'api'],
      ['service.instance.id', 'host-1:42'],
    ]);
    expect(resourceMetrics!.scopeMetrics[0]!.scope).toBeUndefined();
    const metrics = resourceMetrics!.scopeMetrics[0]!.metrics;
    const sum = metrics.find((m) => m.name === 'http_requests_total')!;
    expect(sum.data.case).toBe('sum');
    if (sum.data.case !== 'sum') return;
    expect(sum.data.value.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    expect(sum.data.value.isMonotonic).toBe(true);
    const point = sum.data.value.dataPoints[0]!;
    expect([point.startTimeUnixNano, point.timeUnixNano]).toEqual([interval.startNs, interval.endNs]);
    expect(point.value).toEqual({ case: 'asDouble', value: 3 });

    const histogram = metrics.find((m) => m.name === 'http_request_duration_seconds')!;
    expect(histogram.data.case).toBe('histogram');
    if (histogram.data.case !== 'histogram') return;
    expect(histogram.data.value.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    const bucketsPoint = histogram.data.value.dataPoints[0]!;
    expect(bucketsPoint.explicitBounds).toEqual([0.1, 1]);
    expect(bucketsPoint.bucketCounts).toEqual([1n, 1n, 1n]);
    expect([bucketsPoint.count, bucketsPoint.sum]).toEqual([3n, 5.55]);
    expect(bucketsPoint.timeUnixNano).toBe(interval.endNs);
  });

  it('translate on the gateway to the group job + instance, with the names, labels and buckets prom-client had', async () => {
    const { requests, duration, snapshot } = fixture();
    requests.inc({ method: 'POST', status: '201' }, 2);
    duration.observe({ method: 'POST' }, 0.5);
    const push = buildDeltaPush(await snapshot(), new Baseline(), 64 * 1024, otlpDeltaWriter(resource, interval));
    const translation = await translateExportRequest(decodeExportRequest(asBinary(push.body), 'protobuf'));
    expect(translation.rejected).toBe(0);
    expect(translation.groups.map((group) => group.grouping)).toEqual([{ job: 'api', instance: 'host-1:42' }]);
    const points = translation.groups[0]!.points;
    // No target_info (no other resource attributes), no otel_scope_* labels (no scope).
    expect(points.map((p) => [p.name, p.type, p.combine])).toEqual([
      ['http_requests_total', 'counter', 'add'],
      ['http_request_duration_seconds', 'histogram', 'add'],
    ]);
    expect(points[0]!.metric).toEqual({ labels: { method: 'POST', status: '201' }, value: 2 });
    expect(points[1]!.metric).toMatchObject({
      labels: { method: 'POST' },
      buckets: [
        { upperBound: 0.1, cumulativeCount: 0 },
        { upperBound: 1, cumulativeCount: 1 },
        { upperBound: Infinity, cumulativeCount: 1 },
      ],
      sum: 0.5,
      count: 1,
    });
    expect(points.every((p) => p.window?.startNs === interval.startNs && p.window.endNs === interval.endNs)).toBe(true);
  });

  it('carry the delta since the baseline, not the running total', async () => {
    const { requests, snapshot } = fixture();
    const baseline = new Baseline();
    requests.inc({ method: 'GET', status: '200' }, 5);
    baseline.advance(buildDeltaPush(await snapshot(), baseline, 64 * 1024, otlpDeltaWriter(resource, interval)).covered);
    requests.inc({ method: 'GET', status: '200' }, 2);
    const next = { startNs: interval.endNs, endNs: interval.endNs + 5_000_000_000n };
    const push = buildDeltaPush(await snapshot(), baseline, 64 * 1024, otlpDeltaWriter(resource, next));
    const translation = await translateExportRequest(decodeExportRequest(asBinary(push.body), 'protobuf'));
    expect(translation.groups[0]!.points.map((p) => [p.metric, p.window?.startNs])).toEqual([
      [{ labels: { method: 'GET', status: '200' }, value: 2 }, next.startNs],
    ]);
  });

  it('stay under the byte bound, whatever the labels hold, and lose no series across pushes', () => {
    const labelValue = fc.string({ unit: 'grapheme', maxLength: 40 });
    fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(labelValue, fc.integer({ min: 1, max: 1000 })), { minLength: 1, maxLength: 60 }), async (incs) => {
        const registry = new Registry();
        const counter = new Counter({ name: 'c_total', help: 'H\u00e9lp.', labelNames: ['v'], registers: [registry] });
        const histogram = new Histogram({ name: 'h', help: 'H.', labelNames: ['v'], buckets: [1, 10, 100], registers: [registry] });
        for (const [value, amount] of incs) {
          counter.inc({ v: value }, amount);
          histogram.observe({ v: value }, amount);
        }
        const baseline = new Baseline();
        const snapshot = snapshotFromPromJson(await registry.getMetricsAsJSON());
        const maxBytes = 1024;
        let sent = 0;
        for (let round = 0; round < 200; round++) {
          const push = buildDeltaPush(snapshot, baseline, maxBytes, otlpDeltaWriter(resource, interval));
          expect(push.oversized).toEqual([]);
          if (push.series === 0) break;
          expect(asBinary(push.body).length).toBeLessThanOrEqual(maxBytes);
          const translation = await translateExportRequest(decodeExportRequest(asBinary(push.body), 'protobuf'));
          sent += translation.groups[0]!.points.length;
          baseline.advance(push.covered);
        }
        // Every series of both families went out exactly once.
        expect(sent).toBe(new Set(incs.map(([value]) => value)).size * 2);
      }),
      { numRuns: 40 },
    );
  });
});

describe('OTLP gauge bodies', () => {
  it('carry the current values as gauges observed at the given time', async () => {
    const { inFlight, snapshot } = fixture();
    inFlight.set(4);
    const push = buildGaugePush(await snapshot(), 64 * 1024, otlpGaugeWriter(resource, interval.endNs));
    const translation = await translateExportRequest(decodeExportRequest(asBinary(push.body), 'protobuf'));
    expect(translation.groups[0]!.points.map((p) => [p.name, p.type, p.combine, p.metric, p.window])).toEqual([
      ['active_connections', 'gauge', 'replace', { labels: {}, value: 4 }, undefined],
    ]);
  });
});

describe('otlpRefusedPoints', () => {
  it("reads partial_success from the gateway's answer, and nothing from a full success or a body that is no answer", () => {
    const answer = (rejected: number, message: string) => encodeExportResponse('protobuf', rejected, message) as Uint8Array;
    expect(otlpRefusedPoints(answer(3, 'overlapping window'))).toEqual({ count: 3, message: 'overlapping window' });
    expect(otlpRefusedPoints(answer(0, ''))).toBeUndefined();
    expect(otlpRefusedPoints(undefined)).toBeUndefined();
    expect(otlpRefusedPoints(new TextEncoder().encode('{"error":"x"}'))).toBeUndefined();
  });
});
