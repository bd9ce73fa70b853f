// The API Worker (bundled by `wrangler deploy --dry-run` from the root wrangler.toml) in real workerd, pushing to
// our Node gateway and shipping to the `_bulk` stand-in: the metrics and log lines of many requests go out in few
// pushes and bulk requests (api/flush-window.ts), nothing is lost, a window closes on time with no request after
// it, a batch goes out on size, and the gateway can be reached through a Service Binding instead of its URL.
import { resolve } from 'node:path';
import { type Request as MiniflareRequest, Response as MiniflareResponse } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import type { Metric } from '../../pushgateway/core/model.js';
import { createGatewayLogger, type RunningGateway, startGateway } from '../../pushgateway/server.js';
import { scrape } from '../support/gateway-processes.js';
import { type ElasticsearchStandIn, startElasticsearchStandIn } from '../support/services/elasticsearch-bulk.js';
import { freePort, waitUntil } from '../support/services/index.js';
import { makeTempDir, removeDir } from '../support/services/process.js';
import { bundleWorker, type RunningWorker, type StartWorkerOptions, startWorker } from '../support/services/workerd.js';

const config = resolve(import.meta.dirname, '../../wrangler.toml');
const pushToken = 'batching-push-secret';

let gateway: RunningGateway;
let standIn: ElasticsearchStandIn;
let bundleDir: string;
let scriptPath: string;
const workers: RunningWorker[] = [];

beforeAll(async () => {
  bundleDir = makeTempDir('worker-batching-bundle');
  [scriptPath, standIn] = await Promise.all([bundleWorker(config, bundleDir), startElasticsearchStandIn()]);
  gateway = await startGateway({
    config: loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_PUSH_TOKEN: pushToken, GATEWAY_HOST: '127.0.0.1' }),
    logger: createGatewayLogger('warn'),
  });
});
afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await gateway?.stop();
  await standIn?.stop();
  if (bundleDir) removeDir(bundleDir);
});

/** An API Worker whose metrics and logs carry `service` (its own job and data stream), /livez only: no database used. */
async function apiWorker(service: string, vars: Record<string, string>, options: Partial<StartWorkerOptions> = {}): Promise<RunningWorker> {
  const worker = await startWorker({
    config,
    scriptPath,
    bindings: {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/unused`,
      PUSHGATEWAY_URL: gateway.url,
      PUSHGATEWAY_TOKEN: pushToken,
      ELASTICSEARCH_URL: standIn.url,
      ELASTICSEARCH_DATA_STREAM: `logs-${service}`,
      SERVICE_NAME: service,
      LOG_LEVEL: 'info',
      ...vars,
    },
    ...options,
  });
  workers.push(worker);
  return worker;
}

/** A counter's or gauge's value; a histogram's observation count. */
const sampleValue = (metric: Metric) => ('value' in metric ? metric.value : metric.count);

/** Sum over a gateway family's series whose labels include `labels`. */
async function gatewayTotal(name: string, labels: Record<string, string>): Promise<number> {
  const family = (await scrape(gateway.url)).get(name);
  const matching = (family?.metrics ?? []).filter((metric) => Object.entries(labels).every(([key, value]) => metric.labels[key] === value));
  return matching.reduce((sum, metric) => sum + sampleValue(metric), 0);
}

/** Pushes the gateway has taken in so far (its own counter; delta and gauge pushes alike). Tests run one at a time. */
const pushesSoFar = () => gatewayTotal('pushgateway_http_requests_total', { handler: 'aggregate/push' });

const livezLines = (service: string) => standIn.documents(`logs-${service}`).filter((document) => document['url.path'] === '/livez');
const bulksOf = (service: string) => standIn.requests.filter((request) => request.path.startsWith(`/logs-${service}/_bulk`));

async function livez(worker: RunningWorker, count: number, concurrency = 4): Promise<void> {
  for (let sent = 0; sent < count; sent += concurrency) {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count - sent) }, async () => {
        const response = await fetch(new URL('/livez', worker.url));
        await response.arrayBuffer();
        expect(response.status).toBe(200);
      }),
    );
  }
}

describe('batching across the requests an isolate serves', () => {
  it('sends the metrics and access lines of 60 requests in one push and one bulk request per window, losing none', async () => {
    const service = 'batched';
    const windowMs = 1_000;
    const worker = await apiWorker(service, { PUSH_INTERVAL_MS: String(windowMs), LOG_FLUSH_INTERVAL_MS: String(windowMs) });
    const pushesBefore = await pushesSoFar();
    const started = Date.now();
    await livez(worker, 60);
    const servedMs = Date.now() - started;
    await waitUntil(async () => (await gatewayTotal('http_requests_total', { job: service, endpoint: '/livez' })) >= 60, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'every request counted on the gateway',
    });
    await waitUntil(async () => livezLines(service).length >= 60, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'every access line shipped',
    });
    expect(await gatewayTotal('http_requests_total', { job: service, endpoint: '/livez', status: '200' })).toBe(60);
    expect(await gatewayTotal('http_request_duration_seconds', { job: service, endpoint: '/livez' })).toBe(60);
    expect(livezLines(service)).toHaveLength(60);
    expect(new Set(livezLines(service).map((document) => document['http.request.id'])).size).toBe(60);
    expect(await gatewayTotal('metrics_push_failures_total', { job: service })).toBe(0);
    // The last bulk request is acknowledged after the last push: its count opens a push window of its own.
    await waitUntil(async () => (await gatewayTotal('log_events_shipped_total', { job: service })) >= 60, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'log_events_shipped_total pushed',
    });
    expect(await gatewayTotal('log_events_shipped_total', { job: service })).toBe(60);
    // Shipped lines are not printed to the console as well (LOG_CONSOLE_LEVEL defaults to warn while shipping).
    expect(worker.output()).not.toContain('GET /livez 200');
    // A window lasts windowMs from its first request, so the requests served in servedMs fill at most this many
    // (the bound grows on a slow machine, never shrinks): one bulk request each, and one delta and one gauge push
    // for each metrics window, which requests open and so do the log flushes (they count log_events_shipped_total).
    const windows = Math.floor(servedMs / windowMs) + 1;
    const pushes = (await pushesSoFar()) - pushesBefore;
    const bulks = bulksOf(service).length;
    const documentsPerBulk = bulksOf(service).map((bulk) => bulk.body.split('\n').filter(Boolean).length / 2);
    const served = `60 requests served in ${servedMs} ms: at most ${windows} windows (documents per bulk request: ${documentsPerBulk.join(', ')})`;
    expect(bulks, served).toBeLessThanOrEqual(windows);
    expect(pushes, `${served}, ${bulks} bulk requests`).toBeLessThanOrEqual(2 * (windows + bulks));
    expect(pushes).toBeGreaterThanOrEqual(2);
  });

  it('writes no access line for the successful requests of LOG_ACCESS_SKIP_ROUTES, and still counts them', async () => {
    const service = 'skipped';
    const worker = await apiWorker(service, { PUSH_INTERVAL_MS: '500', LOG_FLUSH_INTERVAL_MS: '500', LOG_ACCESS_SKIP_ROUTES: '/livez' });
    await livez(worker, 8);
    expect((await worker.dispatchFetch('http://worker/no-such-route')).status).toBe(404);
    const lineOf = (path: string) => standIn.documents(`logs-${service}`).filter((document) => document['url.path'] === path);
    await waitUntil(async () => lineOf('/no-such-route').length === 1, { timeoutMs: 30_000, intervalMs: 250, what: 'the 404 shipped' });
    await waitUntil(async () => (await gatewayTotal('http_requests_total', { job: service, endpoint: '/livez' })) >= 8, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the skipped requests counted on the gateway',
    });
    expect(await gatewayTotal('http_requests_total', { job: service, endpoint: '/livez', status: '200' })).toBe(8);
    expect(livezLines(service)).toHaveLength(0);
  });

  it('closes a window on time when no request follows it: the timer runs in the first request’s waitUntil', async () => {
    const service = 'lonely';
    const worker = await apiWorker(service, { PUSH_INTERVAL_MS: '500', LOG_FLUSH_INTERVAL_MS: '500' });
    await livez(worker, 1);
    await waitUntil(async () => (await gatewayTotal('http_requests_total', { job: service, endpoint: '/livez' })) === 1, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the one request counted on the gateway',
    });
    await waitUntil(async () => livezLines(service).length === 1, { timeoutMs: 30_000, intervalMs: 250, what: 'its access line shipped' });
  });

  it('ships a log batch as soon as LOG_BATCH_MAX_BYTES are waiting, long before LOG_FLUSH_INTERVAL_MS', async () => {
    const service = 'sized';
    const worker = await apiWorker(service, { LOG_FLUSH_INTERVAL_MS: '15000', LOG_BATCH_MAX_BYTES: '4096' });
    const started = Date.now();
    await livez(worker, 30, 1);
    const servedMs = Date.now() - started;
    // The last lines wait for the window's timer (15 s); everything arrives, in batches of at most 4 KiB.
    await waitUntil(async () => livezLines(service).length >= 30, {
      timeoutMs: 45_000,
      intervalMs: 250,
      what: 'every access line shipped',
    });
    expect(livezLines(service)).toHaveLength(30);
    const bulks = bulksOf(service);
    expect(bulks.every((bulk) => Buffer.byteLength(bulk.body) <= 4096)).toBe(true);
    // On time alone, 30 requests served within one window would have gone out in a single bulk request.
    if (servedMs < 15_000) expect(bulks.length).toBeGreaterThanOrEqual(3);
  });

  it('pushes through a Service Binding to the gateway (PUSHGATEWAY) when no PUSHGATEWAY_URL is set', async () => {
    const service = 'bound';
    let throughBinding = 0;
    const worker = await apiWorker(
      service,
      { PUSHGATEWAY_URL: '', PUSH_INTERVAL_MS: '500' },
      {
        miniflareOptions: {
          serviceBindings: {
            // Stands in for the gateway Worker: hands the request, as the binding delivered it, to our gateway.
            PUSHGATEWAY: async (request: MiniflareRequest) => {
              throughBinding++;
              const url = new URL(request.url);
              const upstream = await fetch(new URL(url.pathname + url.search, gateway.url), {
                method: request.method,
                headers: Object.fromEntries(request.headers),
                body: await request.arrayBuffer(),
              });
              return new MiniflareResponse(await upstream.arrayBuffer(), {
                status: upstream.status,
                headers: Object.fromEntries(upstream.headers),
              });
            },
          },
        },
      },
    );
    await livez(worker, 20);
    await waitUntil(async () => (await gatewayTotal('http_requests_total', { job: service, endpoint: '/livez' })) >= 20, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'every request counted on the gateway through the binding',
    });
    expect(await gatewayTotal('http_requests_total', { job: service, endpoint: '/livez' })).toBe(20);
    expect(throughBinding).toBeGreaterThan(0);
    expect(worker.output()).not.toContain('metrics are counted but not pushed');
  });
});
