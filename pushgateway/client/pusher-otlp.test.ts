// The pusher over OTLP against the real gateway app (memory store, POST /v1/metrics, in process): the same
// exactly-once rules as over the Pushgateway protocol, with no Idempotency-Key — the gateway recognises a retried
// body by the intervals its delta points carry. Each attempt can be made to go wrong the ways the client survives.
import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createGatewayApp } from '../app.js';
import { defaultGatewayConfig } from '../config/gateway.js';
import { memoryStoreOptions } from '../store/create.js';
import { MemoryStore } from '../store/memory.js';
import type { TransportResult } from './outcome.js';
import { MetricsPusher, type PusherLogger } from './pusher.js';
import type { TransportRequest } from './transport.js';

type Behaviour = 'ok' | 'applied-then-5xx' | 'applied-then-timeout' | 'timeout-unapplied' | 'refused' | '429';
const behaviours: Behaviour[] = ['ok', 'applied-then-5xx', 'applied-then-timeout', 'timeout-unapplied', 'refused', '429'];
const silent: PusherLogger = { info() {}, warn() {}, error() {} };

function setup(giveUpAfterMs = 240_000) {
  const config = { ...defaultGatewayConfig, pushToken: 'secret' };
  const app = createGatewayApp({ store: new MemoryStore(memoryStoreOptions(config)), config });
  const requests: TransportRequest[] = [];
  let script: Behaviour[] = [];
  const transport = async (request: TransportRequest): Promise<TransportResult> => {
    requests.push(request);
    const behaviour = script.shift() ?? 'ok';
    if (behaviour === 'refused') return { kind: 'not-sent', error: 'ECONNREFUSED' };
    if (behaviour === 'timeout-unapplied') return { kind: 'unknown', error: 'timeout' };
    if (behaviour === '429') return { kind: 'response', status: 429 };
    const response = await app.request(request.url, { method: 'POST', headers: request.headers, body: request.body });
    const body = new Uint8Array(await response.arrayBuffer());
    if (behaviour === 'applied-then-5xx') return { kind: 'response', status: 502 };
    if (behaviour === 'applied-then-timeout') return { kind: 'unknown', error: 'timeout' };
    return { kind: 'response', status: response.status, body };
  };
  const registry = new Registry();
  const counter = new Counter({ name: 'http_requests_total', help: 'Requests.', labelNames: ['status'], registers: [registry] });
  const histogram = new Histogram({ name: 'http_request_duration_seconds', help: 'D.', buckets: [0.5], registers: [registry] });
  const gauge = new Gauge({ name: 'active_connections', help: 'A.', registers: [registry] });
  let clock = 1_700_000_000_000;
  let lost = 0;
  const pusher = new MetricsPusher({
    registry,
    url: 'http://gateway.test',
    protocol: 'otlp',
    job: 'api',
    instance: 'host-1',
    token: 'secret',
    transport,
    now: () => clock,
    giveUpAfterMs,
    onGiveUp: (count) => (lost += count),
    logger: silent,
  });
  const scrape = async () => (await app.request('/metrics')).text();
  const value = async (series: string) => {
    const line = (await scrape()).split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  return {
    app,
    pusher,
    requests,
    counter,
    histogram,
    gauge,
    value,
    scrape,
    setScript: (next: Behaviour[]) => (script = next),
    advance: (ms: number) => (clock += ms),
    lost: () => lost,
  };
}

describe('MetricsPusher over OTLP (the real gateway app)', () => {
  it('sends protobuf to /v1/metrics without an Idempotency-Key; the resource makes the group job + instance', async () => {
    const { pusher, requests, counter, histogram, gauge, value, advance } = setup();
    counter.inc({ status: '200' }, 3);
    histogram.observe(0.2);
    gauge.set(2);
    await pusher.push();
    advance(1_000);
    counter.inc({ status: '200' }, 2);
    await pusher.push();
    expect(requests.map((r) => r.url)).toEqual(Array(4).fill('http://gateway.test/v1/metrics'));
    expect(requests.every((r) => r.headers['Content-Type'] === 'application/x-protobuf' && !('Idempotency-Key' in r.headers))).toBe(true);
    expect(requests.every((r) => r.headers.Authorization === 'Bearer secret')).toBe(true);
    expect(await value('http_requests_total{instance="host-1",job="api",status="200"}')).toBe(5);
    expect(await value('http_request_duration_seconds_count{instance="host-1",job="api"}')).toBe(1);
    expect(await value('http_request_duration_seconds_bucket{instance="host-1",job="api",le="0.5"}')).toBe(1);
    expect(await value('active_connections{instance="host-1",job="api"}')).toBe(2);
  });

  it('re-sends a push whose answer was lost byte for byte, and the gateway takes it for a replay by its interval', async () => {
    const { pusher, requests, counter, value, setScript, scrape } = setup();
    counter.inc({ status: '200' }, 4);
    setScript(['applied-then-timeout', 'applied-then-5xx']);
    expect((await pusher.push()).pending).toBe(true);
    await pusher.push();
    const deltas = requests.filter((_, i) => i !== 2 && i !== 4);
    expect(deltas.slice(0, 3).map((r) => Buffer.from(r.body).toString('base64'))).toEqual(
      Array(3).fill(Buffer.from(deltas[0]!.body).toString('base64')),
    );
    expect(await value('http_requests_total{instance="host-1",job="api",status="200"}')).toBe(4);
    expect(await scrape()).toMatch(/^gateway_otlp_points_total\{outcome="replayed"\} [1-9]/m);
  });

  it('counts every push while the clock stands still (workerd between I/O): no two intervals are the same', async () => {
    const { pusher, counter, value } = setup();
    for (let i = 0; i < 5; i++) {
      counter.inc({ status: '200' });
      await pusher.push();
    }
    expect(await value('http_requests_total{instance="host-1",job="api",status="200"}')).toBe(5);
  });

  it('counts points the gateway refuses in partial_success as lost (a type conflict), and pushes on', async () => {
    const { app, pusher, counter, lost, value, advance } = setup();
    const put = await app.request('/metrics/job/api/instance/host-1', {
      method: 'PUT',
      headers: { authorization: 'Bearer secret' },
      body: '# TYPE http_requests_total gauge\nhttp_requests_total{status="200"} 1\n',
    });
    expect(put.status).toBe(200);
    counter.inc({ status: '200' }, 3);
    const report = await pusher.push();
    expect(report.acknowledged).toBe(1);
    expect(report.gaveUp).toBeGreaterThan(0);
    expect(lost()).toBe(report.gaveUp);
    expect(await value('http_requests_total{instance="host-1",job="api",status="200"}')).toBe(1);
    advance(1_000);
    expect((await pusher.push()).pending).toBe(false);
  });

  it('property: whatever fails, the gateway ends with exactly the increments, minus only what was counted as given up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ increments: fc.nat(5), outcome: fc.constantFrom(...behaviours), waitMs: fc.oneof(fc.constant(0), fc.nat(90_000)) }),
          {
            maxLength: 25,
          },
        ),
        async (steps) => {
          const { pusher, counter, histogram, value, setScript, advance, lost } = setup();
          let counted = 0;
          for (const step of steps) {
            counter.inc({ status: '200' }, step.increments);
            for (let i = 0; i < step.increments; i++) histogram.observe(i);
            counted += step.increments;
            setScript([step.outcome]);
            await pusher.push();
            advance(step.waitMs);
          }
          setScript([]);
          await pusher.push();
          await pusher.push();
          const total = (await value('http_requests_total{instance="host-1",job="api",status="200"}')) ?? 0;
          const observed = (await value('http_request_duration_seconds_count{instance="host-1",job="api"}')) ?? 0;
          expect(total).toBeLessThanOrEqual(counted);
          if (lost() === 0) expect([total, observed]).toEqual([counted, counted]);
        },
      ),
      { numRuns: 100 },
    );
  });
});
