// The OpenTelemetry JS SDK, unchanged, exporting to our gateway over OTLP/HTTP (JSON and protobuf exporters),
// several SDK instances at once, DELTA and CUMULATIVE; a real Prometheus 2.42 scrapes the gateway and reads back
// exactly what the SDKs recorded — on the memory store and on the Redis store (real Redis 7, TCP). A proxy that
// forwards each export and then cuts the connection before the answer makes the exporters retry what the gateway
// already applied: the totals stay exact, also with two replicas on one Redis behind a round-robin proxy (the retry
// reaches the other replica).
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, AggregationType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import type { HistogramMetric, ScalarMetric } from '../../pushgateway/core/model.js';
import { createGatewayLogger, type RunningGateway, startGateway } from '../../pushgateway/server.js';
import { scrape } from '../support/gateway-processes.js';
import { queryPrometheus, type RunningService, startPrometheus, waitUntil } from '../support/services/index.js';
import { startRedis } from '../support/services/redis.js';

const stores = ['memory', 'redis'] as const;
type StoreName = (typeof stores)[number];
const gateways = {} as Record<StoreName, RunningGateway>;
let replicas: RunningGateway[] = [];
let redis: RunningService;
let prometheus: RunningService;

const gatewayEnv = (env: Record<string, string> = {}) =>
  loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1', GATEWAY_PUSH_TOKEN: 'otlp-token', ...env });
const redisEnv = (keyPrefix: string) => ({ GATEWAY_STORE: 'redis', GATEWAY_REDIS_URL: redis.url, GATEWAY_REDIS_KEY_PREFIX: keyPrefix });

beforeAll(async () => {
  redis = await startRedis();
  const logger = createGatewayLogger('silent');
  gateways.memory = await startGateway({ config: gatewayEnv(), logger });
  gateways.redis = await startGateway({ config: gatewayEnv(redisEnv('{otlp-sdk}:')), logger });
  replicas = await Promise.all([0, 1].map(() => startGateway({ config: gatewayEnv(redisEnv('{otlp-replicas}:')), logger })));
  // One scrape job per store; its `store` label keeps the two gateways' identical series apart.
  const jobs = stores
    .map(
      (store) =>
        `  - job_name: gateway-${store}\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:${gateways[store].port}']\n        labels: {store: ${store}}\n`,
    )
    .join('');
  prometheus = await startPrometheus({
    config: `global:\n  scrape_interval: 1s\nscrape_configs:\n${jobs}`,
    extraArgs: ['--enable-feature=native-histograms'],
  });
}, 90_000);

afterAll(async () => {
  await prometheus?.stop();
  await Promise.all([...Object.values(gateways), ...replicas].map((gateway) => gateway.stop()));
  await redis?.stop();
});

interface Sdk {
  provider: MeterProvider;
  flush(): Promise<void>;
}

function sdk(options: { url: string; protobuf: boolean; temporality: AggregationTemporality; resource: Record<string, string> }): Sdk {
  const exporterOptions = {
    url: `${options.url}/v1/metrics`,
    headers: { authorization: 'Bearer otlp-token' },
    temporalityPreference: options.temporality,
  };
  const exporter = options.protobuf ? new ProtoExporter(exporterOptions) : new JsonExporter(exporterOptions);
  // Exports happen when the test flushes; the interval only has to be longer than the test.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, exportTimeoutMillis: 60_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes(options.resource),
    readers: [reader],
    views: [{ instrumentName: 'payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  return { provider, flush: () => provider.forceFlush() };
}

async function prometheusValue(query: string): Promise<number | undefined> {
  const result = await queryPrometheus(prometheus.url, query);
  return result.length === 0 ? undefined : Number(result[0]!.value[1]);
}

async function eventually(query: string, expected: number): Promise<void> {
  let last: number | undefined;
  await waitUntil(
    async () => {
      last = await prometheusValue(query);
      return last === expected;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: `${query} = ${expected}` },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message} (last value ${last})`);
  });
}

for (const store of stores) {
  describe(`OpenTelemetry JS SDK → gateway (${store} store) → Prometheus`, () => {
    const gateway = {
      get url() {
        return gateways[store].url;
      },
      get port() {
        return gateways[store].port;
      },
    };
    const on = `store="${store}"`;
    it('sums DELTA exports of several SDK instances (JSON and protobuf) into exact counters, gauges and histograms', async () => {
      const instances = [0, 1, 2].map((i) =>
        sdk({
          url: gateway.url,
          protobuf: i % 2 === 1,
          temporality: AggregationTemporality.DELTA,
          resource: { 'service.name': 'shop', 'host.name': `worker-${i}` },
        }),
      );
      let orders = 0;
      let queue = 0;
      let latencyCount = 0;
      let latencySum = 0;
      let fast = 0;
      const payloads: number[] = [];
      for (let round = 0; round < 2; round++) {
        for (const [i, instance] of instances.entries()) {
          const meter = instance.provider.getMeter('checkout', '1.0.0');
          meter.createCounter('orders', { unit: '{order}', description: 'Orders placed' }).add(i + round + 1, { kind: 'web' });
          orders += i + round + 1;
          // The exporters' DELTA preference keeps up-down counters CUMULATIVE (the specification's delta selector):
          // each instance's value replaces its own series, so each gets one.
          const depth = meter.createUpDownCounter('queue.depth');
          depth.add(5, { worker: String(i) });
          depth.add(-2 - i, { worker: String(i) });
          queue += 3 - i;
          const latency = meter.createHistogram('request.latency', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1] } });
          for (const value of [0.05, 0.5, 2, 0.07 * (i + 1)]) {
            latency.record(value);
            latencyCount++;
            latencySum += value;
            if (value <= 0.1) fast++;
          }
          meter.createGauge('temperature', { unit: 'Cel' }).record(20 + i, { worker: String(i) });
          const payload = meter.createHistogram('payload.size', { unit: 'By' });
          for (const size of [3, 700, 12_000, 0.5 * (i + 1), 40 * (round + 1)]) {
            payload.record(size);
            payloads.push(size);
          }
          await instance.flush();
        }
      }
      const scope = `${on},job="shop",instance="",otel_scope_name="checkout",otel_scope_version="1.0.0"`;
      await eventually(`orders_total{${scope},kind="web"}`, orders);
      await eventually(`sum(queue_depth{${scope}})`, queue);
      await eventually(`request_latency_seconds_count{${scope}}`, latencyCount);
      await eventually(`request_latency_seconds_bucket{${scope},le=~"0.1|0\\\\.1"}`, fast);
      expect(await prometheusValue(`request_latency_seconds_sum{${scope}}`)).toBeCloseTo(latencySum, 9);
      await eventually(`temperature_celsius{${scope},worker="2"}`, 22);
      await eventually(`count(target_info{${on},job="shop"})`, 3);
      // Exponential histograms of three SDKs, two delta exports each, merged into one native histogram.
      await eventually(`histogram_count(payload_size_bytes{${scope}})`, payloads.length);
      expect(await prometheusValue(`histogram_sum(payload_size_bytes{${scope}})`)).toBeCloseTo(
        payloads.reduce((a, b) => a + b, 0),
        6,
      );
      const sorted = [...payloads].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      const estimate = (await prometheusValue(`histogram_quantile(0.5, payload_size_bytes{${scope}})`))!;
      // The estimate lies in the median's bucket: within one bucket factor (at most 2, schema >= 0 here) of it.
      expect(estimate / median).toBeGreaterThan(0.5);
      expect(estimate / median).toBeLessThan(2);
      for (const instance of instances) await instance.provider.shutdown();
    }, 120_000);

    it('replaces CUMULATIVE exports per series, instance by service.instance.id, exponential histograms included', async () => {
      const instances = ['c0', 'c1'].map((id, i) =>
        sdk({
          url: gateway.url,
          protobuf: i === 0,
          temporality: AggregationTemporality.CUMULATIVE,
          resource: { 'service.name': 'batch', 'service.namespace': 'etl', 'service.instance.id': id },
        }),
      );
      const sizes = [3, 700, 12_000, 12_000, 0.5];
      for (let round = 0; round < 2; round++) {
        for (const [i, instance] of instances.entries()) {
          const meter = instance.provider.getMeter('loader');
          meter.createCounter('rows.loaded').add(10 * (i + 1));
          const payload = meter.createHistogram('payload.size', { unit: 'By' });
          for (const size of sizes) payload.record(size * (i + 1));
          await instance.flush();
        }
      }
      await eventually(`rows_loaded_total{${on},job="etl/batch",instance="c0"}`, 20);
      await eventually(`rows_loaded_total{${on},job="etl/batch",instance="c1"}`, 40);
      // An exponential histogram is a native histogram, which Prometheus (protobuf scrape) keeps as one series.
      const payload = `payload_size_bytes{${on},job="etl/batch",instance="c1"}`;
      await eventually(`histogram_count(${payload})`, 2 * sizes.length);
      expect(await prometheusValue(`histogram_sum(${payload})`)).toBe(2 * 2 * sizes.reduce((a, b) => a + b, 0));
      for (const instance of instances) await instance.provider.shutdown();
    }, 120_000);

    it('counts every export once when the answer is lost and the exporter retries', async () => {
      const proxy = await answerDroppingProxy([gateway.port]);
      try {
        const instances = [0, 1].map((i) =>
          sdk({
            url: `http://127.0.0.1:${proxy.port}`,
            protobuf: i === 1,
            temporality: AggregationTemporality.DELTA,
            resource: { 'service.name': 'retrying', 'host.name': `r${i}` },
          }),
        );
        let total = 0;
        for (let round = 0; round < 3; round++) {
          for (const [i, instance] of instances.entries()) {
            instance.provider
              .getMeter('m')
              .createCounter('events')
              .add(round + i + 1);
            total += round + i + 1;
            await instance.flush();
          }
        }
        expect(proxy.dropped()).toBeGreaterThanOrEqual(6);
        await eventually(`events_total{${on},job="retrying",otel_scope_name="m"}`, total);
        const replayed = await (await fetch(`${gateway.url}/metrics`)).text();
        expect(Number(/gateway_otlp_points_total\{outcome="replayed"\} (\d+)/.exec(replayed)?.[1])).toBeGreaterThanOrEqual(6);
        for (const instance of instances) await instance.provider.shutdown();
      } finally {
        await proxy.close();
      }
    }, 120_000);
  });
}

describe('OpenTelemetry JS SDK → two gateway replicas on one Redis, round robin, answers dropped', () => {
  it('counts every DELTA export once on both replicas although each retry reaches the other replica', async () => {
    const proxy = await answerDroppingProxy(replicas.map((replica) => replica.port));
    try {
      const instances = [0, 1].map((i) =>
        sdk({
          url: `http://127.0.0.1:${proxy.port}`,
          protobuf: i === 0,
          temporality: AggregationTemporality.DELTA,
          resource: { 'service.name': 'replicated', 'host.name': `h${i}` },
        }),
      );
      let events = 0;
      let latencyCount = 0;
      let slow = 0;
      let sizes = 0;
      for (let round = 0; round < 4; round++) {
        for (const [i, instance] of instances.entries()) {
          const meter = instance.provider.getMeter('m');
          meter.createCounter('events').add(round + i + 1, { kind: 'x' });
          events += round + i + 1;
          const latency = meter.createHistogram('latency', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1] } });
          for (const value of [0.05, 2, 0.5 * (round + 1)]) {
            latency.record(value);
            latencyCount++;
            if (value > 1) slow++;
          }
          const size = meter.createHistogram('payload.size', { unit: 'By' });
          for (const value of [3, 700 * (i + 1), 12_000]) {
            size.record(value);
            sizes++;
          }
          await instance.flush();
        }
      }
      expect(proxy.dropped()).toBeGreaterThanOrEqual(8);
      let replayed = 0;
      for (const replica of replicas) {
        const families = await scrape(replica.url);
        const series = (name: string) =>
          families.get(name)!.metrics.find((metric) => metric.labels.job === 'replicated' && metric.labels.otel_scope_name === 'm');
        expect((series('events_total') as ScalarMetric).value).toBe(events);
        const latency = series('latency_seconds') as HistogramMetric;
        expect(latency.count).toBe(latencyCount);
        expect(latency.count - latency.buckets.find((bucket) => bucket.upperBound === 1)!.cumulativeCount).toBe(slow);
        expect((series('payload_size_bytes') as HistogramMetric).count).toBe(sizes);
        const points = families.get('gateway_otlp_points_total')!.metrics.find((metric) => metric.labels.outcome === 'replayed');
        replayed += (points as ScalarMetric).value;
      }
      // Each dropped answer was retried and judged a replay by whichever replica got the retry.
      expect(replayed).toBeGreaterThanOrEqual(proxy.dropped());
      for (const instance of instances) await instance.provider.shutdown();
    } finally {
      await proxy.close();
    }
  }, 120_000);
});

/**
 * Forwards each request to the gateways in turn (round robin) and, the first time it sees a body, waits for the
 * gateway's answer and then destroys the client's connection instead of answering: the gateway applied the export,
 * the exporter saw ECONNRESET and retries the same body, which goes to the next gateway.
 */
async function answerDroppingProxy(targets: number[]): Promise<{ port: number; dropped: () => number; close: () => Promise<void> }> {
  const seen = new Set<string>();
  let dropped = 0;
  let next = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fingerprint = body.toString('base64');
      const target = targets[next++ % targets.length]!;
      const upstream = httpRequest(
        { host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          const answerChunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => answerChunks.push(chunk));
          answer.on('end', () => {
            if (!seen.has(fingerprint)) {
              seen.add(fingerprint);
              dropped++;
              req.socket.destroy();
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(answerChunks));
          });
        },
      );
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    dropped: () => dropped,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
