// The clients of the official Pushgateway, unchanged, against ours: prom-client's Pushgateway class
// (push = PUT, pushAdd = POST, delete = DELETE; the same calls also go to the official gateway and both
// expositions must agree), and a real Prometheus 2.42 scraping ours with honor_labels: true.
import { Counter, Gauge, Histogram, Pushgateway, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, startGateway, type RunningGateway } from '../../pushgateway/server.js';
import { queryPrometheus, startOfficialPushgateway, startPrometheus, waitUntil, type RunningService } from '../support/services/index.js';

let ours: RunningGateway;

beforeAll(async () => {
  ours = await startGateway({
    config: loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1' }),
    logger: createGatewayLogger('silent'),
  });
});

afterAll(async () => {
  await ours?.stop();
});

/** The pushed families' sample lines, sorted, without the gateways' own metrics and push times. */
async function pushedSamples(base: string): Promise<string[]> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return text
    .split('\n')
    .filter(
      (line) =>
        line !== '' &&
        !line.startsWith('#') &&
        !/^(go_|process_|pushgateway_|gateway_|push_time_seconds|push_failure_time_seconds)/.test(line),
    )
    .sort();
}

function batchRegistry(): { registry: Registry; jobs: Counter; duration: Histogram; lastRun: Gauge } {
  const registry = new Registry();
  return {
    registry,
    jobs: new Counter({ name: 'batch_items_total', help: 'Items processed.', labelNames: ['kind'], registers: [registry] }),
    duration: new Histogram({ name: 'batch_duration_seconds', help: 'Run time.', buckets: [0.5, 1, 5], registers: [registry] }),
    lastRun: new Gauge({ name: 'batch_last_success', help: 'Last success "time".', registers: [registry] }),
  };
}

describe("prom-client's Pushgateway against ours", () => {
  it('push, pushAdd and delete behave as against the official gateway', async () => {
    const official = await startOfficialPushgateway();
    try {
      for (const base of [official.url, ours.url]) {
        const { registry, jobs, duration, lastRun } = batchRegistry();
        const gateway = new Pushgateway(base, { timeout: 5000 }, registry);
        jobs.inc({ kind: 'a' }, 3);
        jobs.inc({ kind: 'b\\"x' }, 1);
        duration.observe(0.7);
        lastRun.set(1234.5);
        const pushed = await gateway.push({ jobName: 'nightly', groupings: { instance: 'host-1', shard: 'ü' } });
        expect(pushed.resp).toMatchObject({ statusCode: 200 });
        const other = new Registry();
        new Gauge({ name: 'extra_gauge', help: 'Added by pushAdd.', registers: [other] }).set(7);
        await new Pushgateway(base, {}, other).pushAdd({ jobName: 'nightly', groupings: { instance: 'host-1', shard: 'ü' } });
        await new Pushgateway(base, {}, other).pushAdd({ jobName: 'other job' });
      }
      const afterPushes = await pushedSamples(ours.url);
      expect(afterPushes).toEqual(await pushedSamples(official.url));
      expect(afterPushes).toContain('batch_items_total{instance="host-1",job="nightly",kind="a",shard="ü"} 3');
      expect(afterPushes).toContain('batch_duration_seconds_bucket{instance="host-1",job="nightly",shard="ü",le="1"} 1');
      expect(afterPushes).toContain('extra_gauge{instance="",job="other job"} 7');

      for (const base of [official.url, ours.url]) {
        const deleted = await new Pushgateway(base, {}, new Registry()).delete({
          jobName: 'nightly',
          groupings: { instance: 'host-1', shard: 'ü' },
        });
        expect(deleted.resp).toMatchObject({ statusCode: 202 });
      }
      const afterDelete = await pushedSamples(ours.url);
      expect(afterDelete).toEqual(await pushedSamples(official.url));
      expect(afterDelete).toEqual(['extra_gauge{instance="",job="other job"} 7']);

      // Deliberate difference: the official gateway decodes the whole path before splitting it, so a
      // value with an encoded "/" (as prom-client sends it) is refused there; ours decodes each segment.
      const slash = new Registry();
      new Gauge({ name: 'slash_gauge', help: 'x', registers: [slash] }).set(1);
      await expect(new Pushgateway(official.url, {}, slash).push({ jobName: 'j', groupings: { instance: 'host/1' } })).rejects.toThrow(
        'status 400',
      );
      await new Pushgateway(ours.url, {}, slash).push({ jobName: 'j', groupings: { instance: 'host/1' } });
      expect(await pushedSamples(ours.url)).toContain('slash_gauge{instance="host/1",job="j"} 1');
    } finally {
      await official.stop();
    }
  });
});

describe('Prometheus 2.42 scraping ours', () => {
  let prometheus: RunningService | undefined;
  afterAll(async () => {
    await prometheus?.stop();
  });

  it('keeps the pushed job and instance with honor_labels: true and returns the values by query', async () => {
    const { registry, jobs, duration } = batchRegistry();
    jobs.inc({ kind: 'a' }, 42);
    duration.observe(0.2);
    duration.observe(3);
    await new Pushgateway(ours.url, {}, registry).push({ jobName: 'batch', groupings: { instance: 'worker-7' } });
    prometheus = await startPrometheus({
      config: `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: gateway\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:${ours.port}']\n`,
    });
    let result: Awaited<ReturnType<typeof queryPrometheus>> = [];
    await waitUntil(
      async () => {
        result = await queryPrometheus(prometheus!.url, 'batch_items_total{job="batch"}');
        return result.length > 0;
      },
      { timeoutMs: 45_000, intervalMs: 500, what: 'the pushed counter in Prometheus' },
    );
    expect(result).toHaveLength(1);
    expect(result[0]!.metric).toEqual({ __name__: 'batch_items_total', job: 'batch', instance: 'worker-7', kind: 'a' });
    expect(result[0]!.value[1]).toBe('42');
    const count = await queryPrometheus(prometheus.url, 'batch_duration_seconds_bucket{job="batch",le="1"}');
    expect(count[0]!.value[1]).toBe('1');
    const pushTime = await queryPrometheus(prometheus.url, 'push_time_seconds{job="batch",instance="worker-7"}');
    expect(Number(pushTime[0]!.value[1])).toBeGreaterThan(1.6e9);
    // The scrape itself is healthy (Prometheus parsed the whole body, our own metrics included).
    const up = await queryPrometheus(prometheus.url, 'up{job="gateway"}');
    expect(up[0]!.value[1]).toBe('1');
    const own = await queryPrometheus(prometheus.url, 'gateway_series{job="gateway"}');
    expect(Number(own[0]!.value[1])).toBeGreaterThan(0);
  });
});
