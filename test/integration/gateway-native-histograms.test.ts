// Native histograms end to end with real peers: Go's client_golang (Debian's 1.14, built offline from
// /usr/share/gocode) pushes them with its `push` package to /metrics and to /aggregate; a real Prometheus 2.42
// with --enable-feature=native-histograms scrapes the gateway (negotiating protobuf) and also receives them by
// remote write from a second gateway; the official Pushgateway stores the same push for comparison.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import type { HistogramMetric } from '../../pushgateway/core/model.js';
import { decodeDelimitedMetricFamilies } from '../../pushgateway/core/protobuf.js';
import { protobufContentType } from '../../pushgateway/core/protobuf-exposition.js';
import { createGatewayLogger, type RunningGateway, startGateway } from '../../pushgateway/server.js';
import { queryPrometheus, type RunningService, startOfficialPushgateway, startPrometheus, waitUntil } from '../support/services/index.js';

const run = promisify(execFile);
const source = join(import.meta.dirname, '../support/go-native-pusher/main.go');
let work: string;
let pusher: string;
let scraped: RunningGateway;
let writer: RunningGateway;
let prometheus: RunningService;
let official: RunningService;

// Go's default zero threshold is 2^-128, so 0 lands in the zero bucket; negative values in negative buckets.
// Every value is a short binary fraction, so sums are exact in float64.
const X = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4.5, 0, -0.5, -2, 8, 16.25];
const Y = [0.125, 0.5, 1.25, 2.5, 2.5, 6, 0, -1, -3.5, 32];
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Runs the Go program: observe `values` into a native histogram of this bucket factor and push it. */
async function goPush(url: string, job: string, mode: 'push' | 'add', factor: number, values: number[]): Promise<void> {
  await run(pusher, [url, job, mode, String(factor), values.join(',')], { timeout: 30_000 });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'native-hist-'));
  pusher = join(work, 'native-pusher');
  // Debian's golang-github-prometheus-client-golang-dev installs the sources in a GOPATH tree: a GOPATH build
  // needs no module proxy and no network.
  await run('go', ['build', '-o', pusher, source], {
    env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: join(work, 'gocache'), GOFLAGS: '' },
    timeout: 240_000,
  }).catch((error: unknown) => {
    throw new Error(
      `cannot build the client_golang pusher (apt-get install -y golang-go golang-github-prometheus-client-golang-dev): ${String(error)}`,
    );
  });
  const quiet = createGatewayLogger('silent');
  [scraped, official] = await Promise.all([
    startGateway({ config: loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1' }), logger: quiet }),
    startOfficialPushgateway(),
  ]);
  prometheus = await startPrometheus({
    config: `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: gateway\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:${scraped.port}']\n`,
    extraArgs: ['--enable-feature=native-histograms', '--web.enable-remote-write-receiver'],
  });
  writer = await startGateway({
    config: loadGatewayConfig({
      GATEWAY_PORT: '0',
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_REMOTE_WRITE_URL: `${prometheus.url}/api/v1/write`,
      GATEWAY_REMOTE_WRITE_INTERVAL_SECONDS: '1',
    }),
    logger: quiet,
  });

  // One push of X; the same X ∪ Y pushed at once (the reference); X and Y as two deltas at different resolutions
  // (factor 1.1 is schema 3, factor 1.5 is schema 1), to /aggregate of the scraped gateway (job go_agg) and of the
  // remote-writing one (job go_rw, so that its series do not collide with scraped ones in the same Prometheus).
  await goPush(scraped.url, 'go_push', 'push', 1.1, X);
  await goPush(scraped.url, 'go_ref', 'push', 1.5, [...X, ...Y]);
  for (const [target, job] of [
    [scraped, 'go_agg'],
    [writer, 'go_rw'],
  ] as const) {
    await goPush(`${target.url}/aggregate`, job, 'add', 1.1, X);
    await goPush(`${target.url}/aggregate`, job, 'add', 1.5, Y);
  }
  await goPush(official.url, 'go_push', 'push', 1.1, X);
}, 300_000);

afterAll(async () => {
  await writer?.stop();
  await prometheus?.stop();
  await scraped?.stop();
  await official?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function nativeOf(url: string, job: string): Promise<HistogramMetric> {
  const response = await fetch(`${url}/metrics`, { headers: { accept: protobufContentType } });
  const { families } = decodeDelimitedMetricFamilies(new Uint8Array(await response.arrayBuffer()));
  const metric = families.find((f) => f.name === 'go_native_seconds')?.metrics.find((m) => m.labels.job === job);
  expect(metric, `go_native_seconds{job="${job}"} at ${url}`).toBeDefined();
  return metric as HistogramMetric;
}

async function value(query: string): Promise<string | undefined> {
  return (await queryPrometheus(prometheus.url, query))[0]?.value[1];
}

async function waitFor(query: string, what: string): Promise<void> {
  await waitUntil(async () => (await queryPrometheus(prometheus.url, query)).length > 0, { timeoutMs: 45_000, intervalMs: 500, what });
}

describe('native histograms from client_golang', () => {
  it('are stored as pushed: the official Pushgateway serves the same native buckets', async () => {
    const ours = await nativeOf(scraped.url, 'go_push');
    const theirs = await nativeOf(official.url, 'go_push');
    expect(ours.native).toBeDefined();
    expect(ours.native!.schema).toBe(3);
    expect(ours.native).toEqual(theirs.native);
    expect([ours.count, ours.sum]).toEqual([theirs.count, theirs.sum]);
    expect([ours.count, ours.sum]).toEqual([X.length, sum(X)]);
  });

  it('merged in /aggregate equal the histogram of all observations at the coarser schema', async () => {
    const merged = await nativeOf(scraped.url, 'go_agg');
    const reference = await nativeOf(scraped.url, 'go_ref');
    expect(merged.native!.schema).toBe(1);
    expect([merged.count, merged.sum]).toEqual([X.length + Y.length, sum(X) + sum(Y)]);
    // Span layouts may differ (where empty buckets are kept); the buckets themselves must not.
    const buckets = (m: HistogramMetric, side: 'positive' | 'negative') => {
      const out: Record<number, number> = {};
      let index = 0;
      let position = 0;
      const n = m.native!;
      for (const span of side === 'positive' ? n.positiveSpans : n.negativeSpans) {
        index += span.offset;
        for (let j = 0; j < span.length; j++, index++, position++) {
          const count = (side === 'positive' ? n.positiveCounts : n.negativeCounts)[position]!;
          if (count !== 0) out[index] = count;
        }
      }
      return out;
    };
    expect(buckets(merged, 'positive')).toEqual(buckets(reference, 'positive'));
    expect(buckets(merged, 'negative')).toEqual(buckets(reference, 'negative'));
    expect(merged.native!.zeroCount).toBe(reference.native!.zeroCount);
  });

  it('are scraped by Prometheus over protobuf: histogram_count, _sum exact, histogram_quantile as over the reference', async () => {
    await waitFor('go_native_seconds{job="go_agg"}', 'the merged native histogram in Prometheus');
    await waitFor('go_native_seconds{job="go_ref"}', 'the reference native histogram in Prometheus');
    expect(await value('histogram_count(go_native_seconds{job="go_push"})')).toBe(String(X.length));
    expect(await value('histogram_sum(go_native_seconds{job="go_push"})')).toBe(String(sum(X)));
    expect(await value('histogram_count(go_native_seconds{job="go_agg"})')).toBe(String(X.length + Y.length));
    expect(await value('histogram_sum(go_native_seconds{job="go_agg"})')).toBe(String(sum(X) + sum(Y)));
    for (const q of [0.1, 0.5, 0.9, 0.99]) {
      const merged = await value(`histogram_quantile(${q}, go_native_seconds{job="go_agg"})`);
      expect(Number(merged)).toBeGreaterThan(-4);
      expect(Number(merged)).toBeLessThan(33);
      expect(merged).toBe(await value(`histogram_quantile(${q}, go_native_seconds{job="go_ref"})`));
    }
    // Nothing classic was ingested for them: the scrape was protobuf and the histogram native only.
    expect(await queryPrometheus(prometheus.url, 'go_native_seconds_bucket')).toEqual([]);
  }, 90_000);

  it('arrive by remote write (prompb Histogram) with the same values as scraped', async () => {
    const rw = 'go_native_seconds{job="go_rw"}';
    await waitFor(rw, 'the remote-written native histogram');
    expect(await value(`histogram_count(${rw})`)).toBe(String(X.length + Y.length));
    expect(await value(`histogram_sum(${rw})`)).toBe(String(sum(X) + sum(Y)));
    for (const q of [0.5, 0.9])
      expect(await value(`histogram_quantile(${q}, ${rw})`)).toBe(await value(`histogram_quantile(${q}, go_native_seconds{job="go_ref"})`));
  }, 90_000);
});
