import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Baseline, buildDeltaPush, buildGaugePush } from './delta.js';
import { snapshotFromPromJson } from './snapshot.js';

function fixture() {
  const registry = new Registry();
  const requests = new Counter({ name: 'requests_total', help: 'Requests.', labelNames: ['path'], registers: [registry] });
  const latency = new Histogram({ name: 'latency_seconds', help: 'Latency.', buckets: [0.1, 1], registers: [registry] });
  const inFlight = new Gauge({ name: 'in_flight', help: 'In flight.', registers: [registry] });
  const snapshot = async () => snapshotFromPromJson(await registry.getMetricsAsJSON());
  return { registry, requests, latency, inFlight, snapshot };
}

describe('buildDeltaPush', () => {
  it('sends everything first, then only what changed since the acknowledged baseline', async () => {
    const { requests, latency, snapshot } = fixture();
    const baseline = new Baseline();
    requests.inc({ path: '/a' }, 3);
    latency.observe(0.05);
    latency.observe(0.5);
    const first = buildDeltaPush(await snapshot(), baseline, 64 * 1024);
    expect(first.body).toBe(
      [
        '# HELP requests_total Requests.',
        '# TYPE requests_total counter',
        'requests_total{path="/a"} 3',
        '# HELP latency_seconds Latency.',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{le="0.1"} 1',
        'latency_seconds_bucket{le="1"} 2',
        'latency_seconds_bucket{le="+Inf"} 2',
        'latency_seconds_sum 0.55',
        'latency_seconds_count 2',
        '',
      ].join('\n'),
    );
    baseline.advance(first.covered);

    requests.inc({ path: '/a' });
    requests.inc({ path: '/b' }, 2);
    latency.observe(5);
    const second = buildDeltaPush(await snapshot(), baseline, 64 * 1024);
    expect(second.body).toContain('requests_total{path="/a"} 1\n');
    expect(second.body).toContain('requests_total{path="/b"} 2\n');
    expect(second.body).toContain('latency_seconds_bucket{le="0.1"} 0\n');
    expect(second.body).toContain('latency_seconds_bucket{le="+Inf"} 1\n');
    expect(second.body).toContain('latency_seconds_count 1\n');
    baseline.advance(second.covered);

    expect(buildDeltaPush(await snapshot(), baseline, 64 * 1024).series).toBe(0);
  });

  it('keeps increments of a push that was never acknowledged for the next one (merge)', async () => {
    const { requests, snapshot } = fixture();
    const baseline = new Baseline();
    requests.inc({ path: '/a' }, 2);
    buildDeltaPush(await snapshot(), baseline, 64 * 1024); // refused: the baseline does not move
    requests.inc({ path: '/a' }, 5);
    expect(buildDeltaPush(await snapshot(), baseline, 64 * 1024).body).toContain('requests_total{path="/a"} 7\n');
  });

  it('treats a counter below its baseline as reset', async () => {
    const { registry, requests, snapshot } = fixture();
    const baseline = new Baseline();
    requests.inc({ path: '/a' }, 10);
    baseline.advance(buildDeltaPush(await snapshot(), baseline, 64 * 1024).covered);
    registry.resetMetrics();
    requests.inc({ path: '/a' }, 4);
    expect(buildDeltaPush(await snapshot(), baseline, 64 * 1024).body).toContain('requests_total{path="/a"} 4\n');
  });

  it('stays under the byte bound, leaving the rest for a following push', async () => {
    const { requests, snapshot } = fixture();
    const baseline = new Baseline();
    for (let i = 0; i < 200; i++) requests.inc({ path: `/p${i}` });
    let total = 0;
    let pushes = 0;
    for (;;) {
      const push = buildDeltaPush(await snapshot(), baseline, 1024);
      if (push.series === 0) break;
      const body = String(push.body);
      expect(new TextEncoder().encode(body).length).toBeLessThanOrEqual(1024);
      expect(body.startsWith('# HELP requests_total')).toBe(true);
      total += push.covered.filter(({ id }) => id.startsWith('requests_total')).length;
      pushes++;
      baseline.advance(push.covered);
    }
    expect(total).toBe(200);
    expect(pushes).toBeGreaterThan(5);
  });

  it('reports a series that can never fit as oversized', async () => {
    const { requests, snapshot } = fixture();
    requests.inc({ path: 'x'.repeat(500) });
    requests.inc({ path: '/short' });
    const push = buildDeltaPush(await snapshot(), new Baseline(), 300);
    expect(push.oversized).toHaveLength(1);
    expect(push.series).toBe(1);
    expect(push.body).toContain('/short');
  });

  it('escapes label values and HELP text', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'odd_total', help: 'Back\\slash\nnewline', labelNames: ['v'], registers: [registry] });
    counter.inc({ v: 'a"b\\c\nd' });
    const push = buildDeltaPush(snapshotFromPromJson(await registry.getMetricsAsJSON()), new Baseline(), 4096);
    expect(push.body).toBe('# HELP odd_total Back\\\\slash\\nnewline\n# TYPE odd_total counter\nodd_total{v="a\\"b\\\\c\\nd"} 1\n');
  });
});

describe('buildGaugePush', () => {
  it('sends the current value of every gauge and nothing else', async () => {
    const { requests, inFlight, snapshot } = fixture();
    requests.inc({ path: '/a' });
    inFlight.set(7);
    const push = buildGaugePush(await snapshot(), 4096);
    expect(push.body).toBe('# HELP in_flight In flight.\n# TYPE in_flight gauge\nin_flight 7\n');
    inFlight.set(2);
    expect(buildGaugePush(await snapshot(), 4096).body).toContain('in_flight 2\n');
  });
});

describe('new series', () => {
  it('go out once at zero so the gateway knows them, then only when they change', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'failures_total', help: 'F.', registers: [registry] });
    const baseline = new Baseline();
    const read = async () => snapshotFromPromJson(await registry.getMetricsAsJSON());
    const first = buildDeltaPush(await read(), baseline, 4096);
    expect(first.body).toContain('failures_total 0\n');
    baseline.advance(first.covered);
    expect(buildDeltaPush(await read(), baseline, 4096).series).toBe(0);
    counter.inc();
    expect(buildDeltaPush(await read(), baseline, 4096).body).toContain('failures_total 1\n');
  });
});
