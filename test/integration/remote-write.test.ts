// Remote write out against real receivers: Prometheus 2.42 (--web.enable-remote-write-receiver) and
// VictoriaMetrics. Metrics are pushed through the gateway app, remote-written, and read back with PromQL.
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../pushgateway/app.js';
import { defaultGatewayConfig } from '../../pushgateway/config/gateway.js';
import { defaultRemoteWriteSettings, type RemoteWriteConfig } from '../../pushgateway/remote-write/config.js';
import { createRemoteWriter, MemoryLease, RedisLease, type RemoteWriteLease } from '../../pushgateway/remote-write/index.js';
import { MemoryStore } from '../../pushgateway/store/memory.js';
import { RedisStore } from '../../pushgateway/store/redis.js';
import type { RedisCommands } from '../../pushgateway/store/redis-commands.js';
import { upstashCommands } from '../../pushgateway/store/redis-rest.js';
import { redisTcpCommands } from '../../pushgateway/store/redis-tcp.js';
import type { GatewayStore } from '../../pushgateway/store/types.js';
import { makeTempDir, type RunningService, removeDir, waitUntil } from '../support/services/process.js';
import { queryPrometheus, startPrometheus } from '../support/services/prometheus.js';
import { type RunningRedisBridge, startRedis, startRedisBridge } from '../support/services/redis.js';
import { startVictoriaMetrics } from '../support/services/victoria-metrics.js';

let prometheus: RunningService;
let victoria: RunningService;

beforeAll(async () => {
  [prometheus, victoria] = await Promise.all([
    startPrometheus({ config: 'global:\n  scrape_interval: 1h\n', extraArgs: ['--web.enable-remote-write-receiver'] }),
    startVictoriaMetrics(),
  ]);
}, 90_000);
afterAll(async () => {
  await Promise.all([prometheus?.stop(), victoria?.stop()]);
});

const log = { warn() {}, error() {} };
const writeUrl = (service: RunningService) => `${service.url}/api/v1/write`;
const config = (urls: string[], overrides: Partial<RemoteWriteConfig> = {}): RemoteWriteConfig => ({
  urls,
  auth: undefined,
  headers: {},
  ...defaultRemoteWriteSettings,
  ...overrides,
});
const writer = (
  store: GatewayStore,
  urls: string[],
  options: { lease?: RemoteWriteLease; holderId?: string; clock?: () => number; config?: Partial<RemoteWriteConfig> } = {},
) =>
  createRemoteWriter({
    config: config(urls, options.config),
    store,
    lease: options.lease ?? new MemoryLease(),
    logger: log,
    minBackoffMs: 20,
    maxBackoffMs: 200,
    ...(options.holderId ? { holderId: options.holderId } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });

async function push(app: ReturnType<typeof createGatewayApp>, path: string, body: string, method = 'POST') {
  const response = await app.request(path, { method, body, headers: { 'content-type': 'text/plain' } });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
}

async function victoriaQuery(query: string) {
  return queryPrometheus(victoria.url, query);
}

/** Polls until the receiver answers the query with exactly `expected` (VictoriaMetrics makes writes searchable within a second). */
async function expectValues(
  query: (q: string) => ReturnType<typeof queryPrometheus>,
  promql: string,
  expected: Record<string, number>,
  key: (metric: Record<string, string>) => string,
) {
  let last: Record<string, number> = {};
  try {
    await waitUntil(
      async () => {
        last = Object.fromEntries((await query(promql)).map((r) => [key(r.metric), Number(r.value[1])]));
        return JSON.stringify(Object.entries(last).sort()) === JSON.stringify(Object.entries(expected).sort());
      },
      { timeoutMs: 15_000, intervalMs: 200, what: promql },
    );
  } catch {
    expect(last, promql).toEqual(expected);
  }
}

const uniq = () => `rw${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;

describe('remote write to Prometheus and VictoriaMetrics', () => {
  it('the receivers answer PromQL with the values pushed to the gateway: /aggregate counters summed, gauges, histograms, push_time_seconds', async () => {
    const store = new MemoryStore();
    const app = createGatewayApp({ store, config: defaultGatewayConfig });
    const job = uniq();
    await push(
      app,
      `/aggregate/metrics/job/${job}/instance/a`,
      '# TYPE orders_total counter\norders_total{shop="x"} 3\n# TYPE latency_seconds histogram\nlatency_seconds_bucket{le="0.1"} 1\nlatency_seconds_bucket{le="1"} 2\nlatency_seconds_bucket{le="+Inf"} 2\nlatency_seconds_sum 0.6\nlatency_seconds_count 2\n',
    );
    await push(
      app,
      `/aggregate/metrics/job/${job}/instance/a`,
      '# TYPE orders_total counter\norders_total{shop="x"} 4\norders_total{shop="y"} 1\n# TYPE latency_seconds histogram\nlatency_seconds_bucket{le="0.1"} 0\nlatency_seconds_bucket{le="1"} 1\nlatency_seconds_bucket{le="+Inf"} 3\nlatency_seconds_sum 9\nlatency_seconds_count 3\n',
    );
    await push(app, `/metrics/job/${job}/instance/b`, '# TYPE queue_depth gauge\nqueue_depth 17\n');
    const pushedAt = (await store.groups(Date.now())).find((g) => g.labels.instance === 'a')!.lastPushMs / 1000;

    const rw = writer(store, [writeUrl(prometheus), writeUrl(victoria)]);
    expect(await rw.sendOnce()).toBe('queued');
    const text = rw.metricsText();
    // 2 orders_total + 5 histogram series + 1 queue_depth + push_time_seconds and push_failure_time_seconds of 2 groups
    expect(text).toContain(`prometheus_remote_storage_samples_total{url="${prometheus.url}/api/v1/write"} 12\n`);
    expect(text).toContain(`prometheus_remote_storage_samples_failed_total{url="${victoria.url}/api/v1/write"} 0\n`);

    for (const query of [(q: string) => queryPrometheus(prometheus.url, q), victoriaQuery]) {
      await expectValues(query, `sum by (shop) (orders_total{job="${job}"})`, { x: 7, y: 1 }, (m) => m.shop!);
      await expectValues(query, `latency_seconds_bucket{job="${job}"}`, { '0.1': 1, '1': 3, '+Inf': 5 }, (m) => m.le!);
      await expectValues(query, `latency_seconds_sum{job="${job}"} + latency_seconds_count{job="${job}"}`, { a: 14.6 }, (m) => m.instance!);
      await expectValues(query, `queue_depth{job="${job}"}`, { b: 17 }, (m) => m.instance!);
      await expectValues(query, `push_time_seconds{job="${job}",instance="a"}`, { a: pushedAt }, (m) => m.instance!);
    }
  }, 60_000);

  it('the receivers give the same PromQL answers, label sets included, as a Prometheus scraping the gateway with honor_labels', async () => {
    const store = new MemoryStore();
    const app = createGatewayApp({ store, config: defaultGatewayConfig });
    const job = uniq();
    await push(
      app,
      `/aggregate/metrics/job/${job}/instance/a`,
      '# TYPE orders_total counter\norders_total{shop="x"} 3\norders_total{shop="y"} 2\n# TYPE latency_seconds histogram\nlatency_seconds_bucket{le="0.1"} 1\nlatency_seconds_bucket{le="1"} 4\nlatency_seconds_bucket{le="+Inf"} 5\nlatency_seconds_sum 2.5\nlatency_seconds_count 5\n',
    );
    await push(app, `/aggregate/metrics/job/${job}/instance/a`, '# TYPE orders_total counter\norders_total{shop="x"} 10\n');
    await push(
      app,
      `/metrics/job/${job}`,
      '# TYPE rpc_seconds summary\nrpc_seconds{quantile="0.5"} 0.2\nrpc_seconds_sum 8\nrpc_seconds_count 30\n# TYPE build_info gauge\nbuild_info{version="1.2"} 1\n',
    );
    const server: ServerType = await new Promise((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started));
    });
    const address = server.address();
    const gatewayPort = typeof address === 'object' && address ? address.port : 0;
    const scraper = await startPrometheus({
      config: `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: gateway\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:${gatewayPort}']\n`,
    });
    try {
      expect(await writer(store, [writeUrl(prometheus), writeUrl(victoria)]).sendOnce()).toBe('queued');
      const queries = [
        `orders_total{job="${job}"}`,
        `sum by (shop) (orders_total{job="${job}"})`,
        `latency_seconds_bucket{job="${job}"}`,
        `histogram_quantile(0.5, sum by (le) (latency_seconds_bucket{job="${job}"}))`,
        `{__name__=~"rpc_seconds.*", job="${job}"}`,
        `build_info{job="${job}"}`,
        `push_time_seconds{job="${job}"}`,
        `push_failure_time_seconds{job="${job}"}`,
      ];
      const answer = async (baseUrl: string, query: string) =>
        (await queryPrometheus(baseUrl, query))
          .map((r) => `${JSON.stringify(Object.entries(r.metric).sort())} ${Number(r.value[1])}`)
          .sort();
      for (const query of queries) {
        let scraped: string[] = [];
        await waitUntil(async () => (scraped = await answer(scraper.url, query)).length > 0, {
          timeoutMs: 20_000,
          what: `a scrape answering ${query}`,
        });
        for (const receiver of [prometheus, victoria]) {
          let written: string[] = [];
          await waitUntil(async () => JSON.stringify((written = await answer(receiver.url, query))) === JSON.stringify(scraped), {
            timeoutMs: 15_000,
            intervalMs: 200,
            what: query,
          }).catch(() => expect(written, query).toEqual(scraped));
        }
      }
    } finally {
      await scraper.stop();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 90_000);

  it('a receiver down for a while loses no snapshot once it is back (within the queue bound)', async () => {
    const storageDir = makeTempDir('victoria-metrics-data');
    let receiver = await startVictoriaMetrics({ storageDir });
    const port = receiver.port;
    try {
      const store = new MemoryStore();
      const app = createGatewayApp({ store, config: defaultGatewayConfig });
      const job = uniq();
      const rw = writer(store, [`${receiver.url}/api/v1/write`]);
      const pushAndTick = async (delta: number) => {
        await push(app, `/aggregate/metrics/job/${job}`, `# TYPE jobs_done_total counter\njobs_done_total ${delta}\n`);
        expect(await rw.tick()).toBe('queued');
        await new Promise((resolve) => setTimeout(resolve, 1_100));
      };
      await pushAndTick(1);
      await rw.flush(Date.now() + 5_000);
      // Stopped cleanly: VictoriaMetrics keeps the last second of writes in memory, and a SIGKILL would lose
      // those on its side, which is not what this test is about.
      await receiver.stop();
      for (const delta of [2, 3, 4]) await pushAndTick(delta);
      expect(rw.metricsText()).toMatch(/prometheus_remote_storage_samples_pending\{url="[^"]+"\} [1-9]/);
      receiver = await startVictoriaMetrics({ storageDir, port });
      await rw.flush(Date.now() + 20_000);
      expect(rw.metricsText()).toMatch(/prometheus_remote_storage_samples_dropped_total\{url="[^"]+"\} 0\n/);
      // One sample per snapshot, with the cumulative value of its time: 1, 3, 6, 10.
      const raw = async () => {
        const response = await fetch(
          `${receiver.url}/api/v1/export?${new URLSearchParams({ 'match[]': `jobs_done_total{job="${job}"}` })}`,
        );
        return (await response.text()).trim();
      };
      let exported = '';
      await waitUntil(async () => (exported = await raw()).includes('"values":[1,3,6,10]'), {
        timeoutMs: 15_000,
        what: 'the four snapshots',
      }).catch(() => expect(JSON.parse(exported.split('\n')[0] ?? '{}').values).toEqual([1, 3, 6, 10]));
    } finally {
      await receiver.stop();
      removeDir(storageDir);
    }
  }, 60_000);

  it('a receiver answering 400 (Prometheus: out of order sample) is not retried', async () => {
    const store = new MemoryStore();
    const app = createGatewayApp({ store, config: defaultGatewayConfig });
    const job = uniq();
    await push(app, `/metrics/job/${job}`, '# TYPE temperature gauge\ntemperature 20\n');
    let now = Date.now();
    const rw = writer(store, [writeUrl(prometheus)], { clock: () => now });
    expect(await rw.sendOnce()).toBe('queued');
    const refusedBefore = await writeRequests(prometheus.url, '400');
    now -= 60_000; // a snapshot older than what Prometheus holds for these series
    expect(await rw.sendOnce()).toBe('queued');
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // time for retries, were there any (backoff 20–200 ms)
    expect(await writeRequests(prometheus.url, '400')).toBe(refusedBefore + 1);
    const text = rw.metricsText();
    expect(text).toMatch(/prometheus_remote_storage_samples_failed_total\{url="[^"]+"\} 3\n/);
    expect(text).toMatch(/prometheus_remote_storage_samples_retried_total\{url="[^"]+"\} 0\n/);
  }, 30_000);
});

/** Prometheus' own count of remote-write requests it answered with `code`. */
async function writeRequests(baseUrl: string, code: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('prometheus_http_requests_total{') && l.includes(`code="${code}"`) && l.includes('handler="/api/v1/write"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe.each(['TCP', 'Upstash REST'])('one sender among replicas (lease in real Redis over %s)', (transport) => {
  let redis: RunningService;
  let bridge: RunningRedisBridge;
  const opened: RedisCommands[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    bridge = await startRedisBridge(redis.url);
  });
  afterAll(async () => {
    await Promise.all(opened.map((commands) => commands.close()));
    await bridge?.stop();
    await redis?.stop();
  });
  /** Each replica has its own connection, as separate processes would. */
  const connect = () => {
    const commands = transport === 'TCP' ? redisTcpCommands({ url: redis.url }) : upstashCommands(bridge);
    opened.push(commands);
    return commands;
  };

  it('two replicas on one store send each interval exactly once; when the holder dies the other takes over after one missed interval', async () => {
    const prefix = `{${uniq()}}:`;
    const replica = (holderId: string) => {
      const commands = connect();
      const store = new RedisStore({ commands, keyPrefix: prefix });
      const lease = new RedisLease(commands, `${prefix}remote-write-lease`);
      return { store, rw: writer(store, [writeUrl(victoria)], { lease, holderId, config: { intervalSeconds: 1 } }) };
    };
    const a = replica('replica-a');
    const b = replica('replica-b');
    const job = uniq();
    const app = createGatewayApp({ store: a.store, config: defaultGatewayConfig });
    await push(app, `/aggregate/metrics/job/${job}`, '# TYPE events_total counter\nevents_total 5\n');

    const start = Math.ceil(Date.now() / 1000) * 1000 + 200;
    const atInterval = async (k: number) => {
      const wait = start + k * 1000 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    };
    const outcomes: string[][] = [];
    for (let k = 0; k < 3; k++) {
      await atInterval(k);
      outcomes.push(await Promise.all([a.rw.tick(), b.rw.tick()]));
    }
    // Replica A dies (stops ticking); B keeps its schedule.
    for (let k = 3; k < 5; k++) {
      await atInterval(k);
      outcomes.push([await b.rw.tick()]);
    }
    await Promise.all([a.rw.flush(Date.now() + 5_000), b.rw.flush(Date.now() + 5_000)]);

    for (const both of outcomes.slice(0, 3)) expect([...both].sort()).toEqual(['not-holder', 'queued']);
    const holder = outcomes[0]!.indexOf('queued');
    for (const both of outcomes.slice(1, 3)) expect(both.indexOf('queued')).toBe(holder); // the holder keeps it
    expect(outcomes.slice(3)).toEqual(holder === 1 ? [['queued'], ['queued']] : [['not-holder'], ['queued']]);

    const sent = holder === 1 ? 5 : 4;
    await expectValues(victoriaQuery, `count_over_time(events_total{job="${job}"}[1m])`, { [job]: sent }, (m) => m.job!);
    const [metricsA, metricsB] = [a.rw.metricsText(), b.rw.metricsText()];
    const sentBy = (text: string) => Number(/prometheus_remote_storage_samples_total\{[^}]*\} (\d+)/.exec(text)![1]);
    expect(sentBy(metricsA) + sentBy(metricsB)).toBe(sent * 3); // events_total, push_time_seconds, push_failure_time_seconds
  }, 60_000);
});
