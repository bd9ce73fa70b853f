// The pusher's exactly-once rules, driven through its transport seam by a model gateway that behaves like ours
// (sums deltas, remembers applied Idempotency-Keys) and can be told how each attempt goes wrong. The same rules are
// checked end to end against the real gateway in test/integration/instrumentation-*.test.ts.
import fc from 'fast-check';
import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { TransportResult } from './outcome.js';
import { MetricsPusher, type PusherLogger } from './pusher.js';
import type { TransportRequest } from './transport.js';

/** How one attempt goes: applied and answered, or one of the failures the client must survive. */
type Behaviour =
  | 'ok'
  | 'applied-then-5xx'
  | 'applied-then-timeout'
  | 'timeout-unapplied'
  | '5xx-unapplied'
  | 'refused'
  | '429'
  | '413'
  | '400';
const behaviours: Behaviour[] = [
  'ok',
  'applied-then-5xx',
  'applied-then-timeout',
  'timeout-unapplied',
  '5xx-unapplied',
  'refused',
  '429',
  '413',
  '400',
];

class ModelGateway {
  readonly totals = new Map<string, number>();
  readonly gauges = new Map<string, number>();
  readonly appliedKeys = new Set<string>();
  readonly requests: TransportRequest[] = [];
  script: Behaviour[] = [];

  transport = async (request: TransportRequest): Promise<TransportResult> => {
    this.requests.push(request);
    const key = request.headers['Idempotency-Key']!;
    const isGauge = request.url.includes('/instance/');
    const behaviour: Behaviour = isGauge ? 'ok' : (this.script.shift() ?? 'ok');
    const apply = () => {
      if (this.appliedKeys.has(key)) return;
      this.appliedKeys.add(key);
      for (const line of String(request.body).split('\n')) {
        if (!line || line.startsWith('#')) continue;
        const [series, value] = line.split(' ') as [string, string];
        const target = isGauge ? this.gauges : this.totals;
        target.set(series, isGauge ? Number(value) : (target.get(series) ?? 0) + Number(value));
      }
    };
    switch (behaviour) {
      case 'ok':
        apply();
        return { kind: 'response', status: 200 };
      case 'applied-then-5xx':
        apply();
        return { kind: 'response', status: 502 };
      case 'applied-then-timeout':
        apply();
        return { kind: 'unknown', error: 'timeout' };
      case 'timeout-unapplied':
        return { kind: 'unknown', error: 'timeout' };
      case '5xx-unapplied':
        return { kind: 'response', status: 503 };
      case 'refused':
        return { kind: 'not-sent', error: 'ECONNREFUSED' };
      case '429':
        return { kind: 'response', status: 429 };
      case '413':
        return { kind: 'response', status: 413 };
      case '400':
        return { kind: 'response', status: 400 };
    }
  };
}

const silent: PusherLogger = { info() {}, warn() {}, error() {} };

function setup(options: { giveUpAfterMs?: number; maxPushBytes?: number } = {}) {
  const registry = new Registry();
  const requests = new Counter({ name: 'requests_total', help: 'Requests.', registers: [registry] });
  const inFlight = new Gauge({ name: 'in_flight', help: 'In flight.', registers: [registry] });
  const gateway = new ModelGateway();
  let clock = 0;
  let lost = 0;
  const pusher = new MetricsPusher({
    registry,
    url: 'http://gateway.test/',
    job: 'api',
    instance: 'host-1',
    token: 'secret',
    transport: gateway.transport,
    now: () => clock,
    onGiveUp: (count) => (lost += count),
    logger: silent,
    ...options,
  });
  return {
    registry,
    requests,
    inFlight,
    gateway,
    pusher,
    advance: (ms: number) => (clock += ms),
    lost: () => lost,
    total: () => gateway.totals.get('requests_total') ?? 0,
  };
}

describe('MetricsPusher', () => {
  it('pushes deltas to the aggregation URL and gauges to the instance group, with bearer token and a key each', async () => {
    const { requests, inFlight, gateway, pusher, total } = setup();
    requests.inc(3);
    inFlight.set(2);
    await pusher.push();
    requests.inc(2);
    await pusher.push();
    expect(total()).toBe(5);
    expect(gateway.gauges.get('in_flight')).toBe(2);
    expect(gateway.requests.map((r) => r.url)).toEqual([
      'http://gateway.test/aggregate/metrics/job/api',
      'http://gateway.test/aggregate/metrics/job/api/instance/host-1',
      'http://gateway.test/aggregate/metrics/job/api',
      'http://gateway.test/aggregate/metrics/job/api/instance/host-1',
    ]);
    expect(new Set(gateway.requests.map((r) => r.headers['Idempotency-Key'])).size).toBe(4);
    expect(gateway.requests.every((r) => r.headers.Authorization === 'Bearer secret')).toBe(true);
  });

  it('uses @base64 for grouping values with a slash', () => {
    const pusher = new MetricsPusher({ registry: new Registry(), url: 'http://g', job: 'a/b', instance: 'x', logger: silent });
    expect(pusher.deltaUrl).toBe('http://g/aggregate/metrics/job@base64/YS9i');
  });

  it('retries an unknown outcome with the same body and key, and holds newer increments back', async () => {
    const { requests, gateway, pusher, total } = setup();
    requests.inc(1);
    // First cycle: the attempt and one immediate retry; second cycle: one more retry.
    gateway.script = ['applied-then-5xx', 'timeout-unapplied', '5xx-unapplied', 'ok'];
    expect((await pusher.push()).pending).toBe(true);
    requests.inc(10);
    expect((await pusher.push()).pending).toBe(true);
    await pusher.push(); // the retry is acknowledged (replayed), then the 10 go out under a new key
    const deltaPushes = gateway.requests.filter((r) => !r.url.includes('/instance/'));
    expect(deltaPushes.slice(0, 4).map((r) => r.body)).toEqual(Array(4).fill(deltaPushes[0]!.body));
    expect(new Set(deltaPushes.slice(0, 4).map((r) => r.headers['Idempotency-Key'])).size).toBe(1);
    expect(deltaPushes[4]!.headers['Idempotency-Key']).not.toBe(deltaPushes[0]!.headers['Idempotency-Key']);
    expect(total()).toBe(11);
  });

  it('merges a push that certainly was not applied (refused, 429, 413) into the next one under a new key', async () => {
    const { requests, gateway, pusher, total } = setup();
    gateway.script = ['refused', '429', '413'];
    requests.inc(1);
    expect((await pusher.push()).unsent).toBe(true);
    requests.inc(1);
    await pusher.push();
    requests.inc(1);
    await pusher.push();
    expect(total()).toBe(0);
    await pusher.push();
    expect(total()).toBe(3);
    const deltaPushes = gateway.requests.filter((r) => !r.url.includes('/instance/'));
    expect(new Set(deltaPushes.map((r) => r.headers['Idempotency-Key'])).size).toBe(4);
    expect(deltaPushes.at(-1)!.body).toContain('requests_total 3\n');
  });

  it('drops a push refused as invalid (400), counts it and never retries it', async () => {
    const { requests, gateway, pusher, total, lost } = setup();
    gateway.script = ['400'];
    requests.inc(4);
    const report = await pusher.push();
    expect(report.gaveUp).toBe(1);
    expect(lost()).toBe(1);
    requests.inc(1);
    await pusher.push();
    expect(total()).toBe(1);
  });

  it('gives up a key inside the idempotency window and counts it, never re-sending it under a new key', async () => {
    const { requests, gateway, pusher, total, lost, advance } = setup({ giveUpAfterMs: 60_000 });
    gateway.script = Array(10).fill('applied-then-timeout');
    requests.inc(2);
    for (let i = 0; i < 5; i++) {
      await pusher.push();
      advance(10_000);
    }
    expect(lost()).toBe(0);
    advance(20_000);
    requests.inc(3);
    const report = await pusher.push();
    expect(report.gaveUp).toBe(1);
    expect(lost()).toBe(1);
    // It had in fact been applied once: the gateway holds 2 + 3, not a double count.
    expect(total()).toBe(5);
  });

  it('coalesces: at most one push in flight, and a call during a push makes it run once more', async () => {
    const { registry, requests, gateway, total } = setup();
    let concurrent = 0;
    let maxConcurrent = 0;
    const inner = gateway.transport;
    gateway.transport = async (request) => {
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      await new Promise((resolve) => setTimeout(resolve, 5));
      try {
        return await inner(request);
      } finally {
        concurrent--;
      }
    };
    const coalescing = new MetricsPusher({
      registry,
      url: 'http://g',
      job: 'api',
      instance: 'i',
      transport: gateway.transport,
      logger: silent,
    });
    requests.inc();
    const first = coalescing.pushCoalesced();
    expect(first).toBeDefined();
    for (let i = 0; i < 10; i++) {
      requests.inc();
      expect(coalescing.pushCoalesced()).toBeUndefined();
    }
    await first;
    expect(maxConcurrent).toBe(1);
    expect(total()).toBe(11);
  });

  it('backs off after a failed cycle instead of pushing on every call', async () => {
    const { requests, gateway, pusher, advance, total } = setup();
    gateway.script = ['refused'];
    requests.inc();
    await pusher.pushCoalesced();
    expect(pusher.pushCoalesced()).toBeUndefined();
    advance(1_000);
    await pusher.pushCoalesced();
    expect(total()).toBe(1);
  });

  it('splits changes larger than the byte bound over several pushes, and halves the bound on 413', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'c_total', help: 'C.', labelNames: ['k'], registers: [registry] });
    for (let i = 0; i < 500; i++) counter.inc({ k: `key-${i}` });
    const gateway = new ModelGateway();
    gateway.script = ['413'];
    const pusher = new MetricsPusher({
      registry,
      url: 'http://g',
      job: 'api',
      instance: 'i',
      transport: gateway.transport,
      logger: silent,
      maxPushBytes: 8192,
    });
    await pusher.push();
    await pusher.push();
    const bodies = gateway.requests.map((r) => new TextEncoder().encode(String(r.body)).length);
    expect(bodies.slice(1).every((size) => size <= 4096)).toBe(true);
    expect([...gateway.totals.values()].reduce((a, b) => a + b, 0)).toBe(500);
  });

  it('flush pushes until everything is acknowledged', async () => {
    const { requests, gateway, pusher, total } = setup();
    gateway.script = ['5xx-unapplied', 'refused', 'ok'];
    requests.inc(7);
    expect(await pusher.flush(5_000, 1)).toBe(true);
    expect(total()).toBe(7);
  });

  it('writes a warning that repeats at most once per 10 s with a count, so a gateway down at shutdown costs a few lines', async () => {
    const registry = new Registry();
    const requests = new Counter({ name: 'requests_total', help: 'Requests.', registers: [registry] });
    new Gauge({ name: 'in_flight', help: 'In flight.', registers: [registry] }).set(1);
    let clock = 0;
    let attempts = 0;
    const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const pusher = new MetricsPusher({
      registry,
      url: 'http://gateway.test/',
      job: 'api',
      instance: 'host-1',
      // Unreachable: every attempt is refused after 40 ms.
      transport: async () => {
        attempts++;
        clock += 40;
        return { kind: 'not-sent', error: 'ECONNREFUSED' };
      },
      now: () => clock,
      logger: { ...silent, warn: (fields, message) => warnings.push({ fields, message }) },
    });
    requests.inc(3);
    expect(await pusher.flush(5_000, 1)).toBe(false);
    expect(attempts).toBeGreaterThan(60);
    const messages = new Set(warnings.map((w) => w.message.replace(/ \(repeated \d+ more times\)$/, '')));
    // One line per distinct warning in the 5 s, plus one closing count each.
    expect(warnings.length).toBeLessThanOrEqual(2 * messages.size);
    const closing = warnings.filter((w) => typeof w.fields.repeated === 'number');
    expect(closing.length).toBeGreaterThan(0);
    // Nothing is lost from the count: each refused attempt (delta or gauge push) warned once, written or held.
    expect(closing.reduce((n, w) => n + (w.fields.repeated as number), 0) + warnings.length - closing.length).toBe(attempts);
  });

  it('property: whatever fails, the gateway ends with exactly the increments, minus only what was counted as given up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ increments: fc.nat(5), outcome: fc.constantFrom(...behaviours), waitMs: fc.nat(90_000) }), { maxLength: 40 }),
        async (steps) => {
          const { requests, gateway, pusher, total, lost, advance } = setup({ giveUpAfterMs: 240_000 });
          let counted = 0;
          for (const step of steps) {
            requests.inc(step.increments);
            counted += step.increments;
            gateway.script = [step.outcome];
            await pusher.push();
            advance(step.waitMs);
          }
          gateway.script = [];
          await pusher.push();
          await pusher.push();
          expect(total()).toBeLessThanOrEqual(counted);
          if (lost() === 0) expect(total()).toBe(counted);
        },
      ),
      { numRuns: 300 },
    );
  });
});
