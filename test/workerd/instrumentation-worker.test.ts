// The API Worker in real workerd (bundled by `wrangler deploy --dry-run` from the root wrangler.toml) over real
// PostgreSQL (Hyperdrive binding), pushing after each request (ctx.waitUntil, coalesced) to our gateway: every
// request ends up counted there exactly once, with durations measured by performance.now() inside workerd — over
// the Pushgateway protocol and, with METRICS_PUSH_PROTOCOL=otlp, over OTLP/HTTP protobuf to /v1/metrics.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratePostgresDatabase } from '../../api/db/migrate.js';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, type RunningGateway, startGateway } from '../../pushgateway/server.js';
import { type RunningPostgres, startPostgres, waitUntil } from '../support/services/index.js';
import { makeTempDir, removeDir } from '../support/services/process.js';
import { bundleWorker, type RunningWorker, startWorker } from '../support/services/workerd.js';

const config = resolve(import.meta.dirname, '../../wrangler.toml');

let postgres: RunningPostgres;
let bundleDir: string;
let scriptPath: string;

beforeAll(async () => {
  bundleDir = makeTempDir('instrumentation-worker-bundle');
  [postgres, scriptPath] = await Promise.all([startPostgres(), bundleWorker(config, bundleDir)]);
});
afterAll(async () => {
  await postgres?.stop();
  if (bundleDir) removeDir(bundleDir);
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function gatewaySamples(gateway: RunningGateway): Promise<Sample[]> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

const total = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

describe.each(['pushgateway', 'otlp'] as const)('instrumentation on workerd, pushing with %s', (protocol) => {
  let gateway: RunningGateway;
  let worker: RunningWorker;

  beforeAll(async () => {
    // A database and a gateway of its own: the counts below are absolute.
    const databaseUrl = await postgres.createDatabase();
    await migratePostgresDatabase(databaseUrl);
    gateway = await startGateway({
      config: loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_PUSH_TOKEN: 'worker-push-secret', GATEWAY_HOST: '127.0.0.1' }),
      logger: createGatewayLogger('warn'),
    });
    worker = await startWorker({
      config,
      scriptPath,
      hyperdrives: { HYPERDRIVE: databaseUrl.replace('postgres@', 'postgres:unused@') },
      bindings: {
        PUSHGATEWAY_URL: gateway.url,
        PUSHGATEWAY_TOKEN: 'worker-push-secret',
        METRICS_PUSH_PROTOCOL: protocol,
        SERVICE_NAME: 'api',
        LOG_LEVEL: 'warn',
      },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await gateway?.stop();
  });

  it('counts every request in the gateway exactly once, durations and queries included', async () => {
    const expected = new Map<string, number>();
    const send = async (endpoint: string, path: string) => {
      const response = await fetch(new URL(path, worker.url));
      await response.arrayBuffer();
      const key = `${endpoint} ${response.status}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    };
    // Bursts of concurrent requests, so pushes overlap requests and must coalesce.
    for (let round = 0; round < 5; round++) {
      await Promise.all([
        send('/api/users', '/api/users'),
        send('/api/users', '/api/users?limit=2'),
        send('/api/users/:id', '/api/users/0190a0a0-0000-7000-8000-000000000001'),
        send('/livez', '/livez'),
        send('unmatched', `/nothing/here/${round}`),
      ]);
    }
    const sent = [...expected.values()].reduce((a, b) => a + b, 0);
    expect(sent).toBe(25);

    await waitUntil(async () => total(await gatewaySamples(gateway), 'http_requests_total') >= sent, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'all requests pushed',
    });
    // Give any (wrong) duplicate push time to land before asserting exactness.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const samples = await gatewaySamples(gateway);
    expect(total(samples, 'http_requests_total')).toBe(sent);
    for (const [key, count] of expected) {
      const [endpoint, status] = key.split(' ') as [string, string];
      expect({ key, count: total(samples, 'http_requests_total', { endpoint, status, job: 'api' }) }).toEqual({ key, count });
    }
    // Counters: one group for all instances over the Pushgateway protocol; the isolate's own group over OTLP.
    const counterInstances = new Set(samples.filter((s) => s.name === 'http_requests_total').map((s) => s.labels.instance));
    if (protocol === 'pushgateway') expect([...counterInstances]).toEqual(['']);
    else expect([...counterInstances].every((instance) => instance?.startsWith('worker-'))).toBe(true);
    const otlpApplied = total(samples, 'gateway_otlp_points_total', { outcome: 'applied' });
    if (protocol === 'otlp') expect(otlpApplied).toBeGreaterThan(0);
    else expect(otlpApplied).toBe(0);

    // performance.now() in workerd only advances across I/O; a database round trip is I/O, so the listing's
    // latency is positive and plausible, never negative (the failure mode of process.hrtime polyfills).
    const listCount = total(samples, 'http_request_duration_seconds_count', { endpoint: '/api/users' });
    const listSum = total(samples, 'http_request_duration_seconds_sum', { endpoint: '/api/users' });
    expect(listCount).toBe(10);
    expect(listSum).toBeGreaterThan(0);
    expect(listSum / listCount).toBeLessThan(5);
    // Two SELECTs per listing round (list) and one per user lookup; every one timed.
    expect(total(samples, 'db_queries_total', { operation: 'SELECT' })).toBe(15);
    expect(total(samples, 'db_query_duration_seconds_count', { operation: 'SELECT' })).toBe(15);
    expect(total(samples, 'db_query_duration_seconds_sum', { operation: 'SELECT' })).toBeGreaterThan(0);
    expect(total(samples, 'metrics_push_failures_total')).toBe(0);

    // Gauges come from the isolate's own group; system gauges are not pushed from a Worker at all.
    const inFlight = samples.filter((s) => s.name === 'active_connections');
    expect(inFlight.length).toBeGreaterThanOrEqual(1);
    expect(inFlight.every((s) => s.labels.instance?.startsWith('worker-'))).toBe(true);
    expect(samples.some((s) => s.name.startsWith('system_'))).toBe(false);
  });
});
