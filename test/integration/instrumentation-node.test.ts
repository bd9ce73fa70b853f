// End to end on Node, every piece real: the API process (`tsx api/node.ts`) over PostgreSQL 15 and Redis 7 (through
// the Upstash REST bridge) → its delta pusher → our gateway (aggregation mode, file persistence) → Prometheus 2.42
// scraping the gateway. What Prometheus reports is compared with what the test itself sent and received.
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, startGateway, type RunningGateway } from '../../pushgateway/server.js';
import {
  freePort,
  makeTempDir,
  queryPrometheus,
  removeDir,
  spawnLogged,
  startPostgres,
  startPrometheus,
  startRedis,
  startRedisBridge,
  waitUntil,
  type RunningPostgres,
  type RunningRedisBridge,
  type RunningService,
  type SpawnedProcess,
} from '../support/services/index.js';

const repoRoot = join(import.meta.dirname, '../..');
const PUSH_INTERVAL_MS = 500;

let dir: string;
let pg: RunningPostgres;
let databaseUrl: string;
let redis: RunningService;
let bridge: RunningRedisBridge;
let gateway: RunningGateway;
let gatewayEnv: Record<string, string>;
let prometheus: RunningService;
let api: SpawnedProcess;
let apiBase: string;

async function startOurGateway(): Promise<RunningGateway> {
  return await startGateway({
    config: loadGatewayConfig({ ...gatewayEnv, GATEWAY_HOST: '127.0.0.1' }),
    logger: createGatewayLogger(gatewayEnv.LOG_LEVEL),
  });
}

beforeAll(async () => {
  dir = makeTempDir('instrumentation-node');
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  databaseUrl = await pg.createDatabase('instrumented');
  bridge = await startRedisBridge(redis.url);
  const gatewayPort = await freePort();
  gatewayEnv = {
    GATEWAY_PORT: String(gatewayPort),
    GATEWAY_STORE: 'memory',
    GATEWAY_PUSH_TOKEN: 'push-secret',
    GATEWAY_PERSISTENCE_FILE: join(dir, 'gateway.json'),
    LOG_LEVEL: 'warn',
  };
  gateway = await startOurGateway();
  prometheus = await startPrometheus({
    config: `
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:${gatewayPort}']
`,
  });
  const port = await freePort();
  apiBase = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    UPSTASH_REDIS_REST_URL: bridge.url,
    UPSTASH_REDIS_REST_TOKEN: bridge.token,
    PUSHGATEWAY_URL: gateway.url,
    PUSHGATEWAY_TOKEN: 'push-secret',
    PUSH_INTERVAL_MS: String(PUSH_INTERVAL_MS),
    SERVICE_NAME: 'api',
    RATE_LIMIT_MAX: '1000000',
    LOG_LEVEL: 'warn',
  };
  for (const variable of ['ELASTICSEARCH_URL', 'LOG_FILE', 'PGLITE_DIR']) delete env[variable];
  api = spawnLogged('api', join(repoRoot, 'node_modules/.bin/tsx'), ['api/node.ts'], dir, { cwd: repoRoot, env });
  await waitUntil(
    async () => {
      if (api.child.exitCode !== null) throw new Error(`the API exited early:\n${api.logTail()}`);
      return (await fetch(`${apiBase}/livez`, { signal: AbortSignal.timeout(2_000) })).ok;
    },
    { timeoutMs: 120_000, intervalMs: 250, what: 'API' },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${api.logTail()}`);
  });
});

afterAll(async () => {
  await api?.stop('SIGTERM');
  await prometheus?.stop();
  await gateway?.stop();
  await bridge?.stop();
  await Promise.all([pg?.stop(), redis?.stop()]);
  if (dir) removeDir(dir);
});

/** Counts, by "endpoint status", of what the test received — the truth Prometheus must reproduce. */
class Served {
  readonly counts = new Map<string, number>();
  total = 0;
  record(endpoint: string, status: number): void {
    const key = `${endpoint} ${status}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.total++;
  }
}

async function call(served: Served, endpoint: string, path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(`${apiBase}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  served.record(endpoint, response.status);
  return response;
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

async function promValue(query: string): Promise<number> {
  const result = await queryPrometheus(prometheus.url, query);
  return result.length === 0 ? NaN : Number(result[0]!.value[1]);
}

async function promByLabels(query: string, labels: string[]): Promise<Map<string, number>> {
  const result = await queryPrometheus(prometheus.url, query);
  return new Map(result.map((r) => [labels.map((label) => r.metric[label]).join(' '), Number(r.value[1])]));
}

async function waitForPrometheus(query: string, expected: number, timeoutMs = 30_000): Promise<void> {
  let last = NaN;
  await waitUntil(
    async () => {
      last = await promValue(query);
      return last === expected;
    },
    { timeoutMs, intervalMs: 500, what: `${query} == ${expected}` },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)} (last value ${last})\n${api.logTail(10)}`);
  });
}

/** Sum of http_requests_total on the gateway itself, read from its /metrics. */
async function gatewayRequestTotal(): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('http_requests_total{'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** Waits until the start-up traffic (readiness probes) has been pushed and scraped, so "before" values are stable. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, PUSH_INTERVAL_MS * 3));
  await waitForPrometheus('sum(http_requests_total)', await gatewayRequestTotal());
}

describe('instrumentation end to end on Node (PostgreSQL → pusher → gateway → Prometheus)', () => {
  it('Prometheus counts exactly the requests served, per endpoint and status, and the queries the routes issue', async () => {
    await settle();
    const served = new Served();
    const before = {
      requests: (await promValue('sum(http_requests_total)')) || 0,
      byEndpointStatus: await promByLabels('sum by (endpoint, status) (http_requests_total)', ['endpoint', 'status']),
      queries: await promByLabels('sum by (operation) (db_queries_total)', ['operation']),
    };

    // Known mix. Statements per route (api/repository.ts): create → INSERT, list → SELECT, get → SELECT unless the
    // Redis cache hits, update → UPDATE, delete → DELETE, health → SELECT 1.
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await call(
        served,
        '/api/users',
        '/api/users',
        json({ email: `u${i}-${Date.now()}@example.test`, name: `User ${i}` }),
      );
      expect(response.status).toBe(201);
      ids.push(((await (await fetch(`${apiBase}${response.headers.get('location')}`)).json()) as { id: string }).id);
      served.record('/api/users/:id', 200); // that GET, a cache miss: one SELECT
    }
    const duplicate = await call(
      served,
      '/api/users',
      '/api/users',
      json({ email: ((await (await fetch(`${apiBase}/api/users/${ids[0]}`)).json()) as { email: string }).email, name: 'Dup' }),
    );
    served.record('/api/users/:id', 200); // the GET just above, a cache hit: no statement
    expect(duplicate.status).toBe(409); // a failed INSERT, counted all the same
    for (let i = 0; i < 2; i++) expect((await call(served, '/api/users', '/api/users')).status).toBe(200);
    for (let i = 0; i < 2; i++)
      expect((await call(served, '/api/users/:id', `/api/users/0190a0a0-0000-7000-8000-00000000000${i}`)).status).toBe(404);
    expect(
      (
        await call(served, '/api/users/:id', `/api/users/${ids[1]}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Renamed' }),
        })
      ).status,
    ).toBe(200);
    expect((await call(served, '/api/users/:id', `/api/users/${ids[2]}`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(served, '/api/health', '/api/health')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await call(served, 'unmatched', `/no/such/path/${i}`)).status).toBe(404);
    // Server errors: the table disappears for a moment, so listing fails inside PostgreSQL (a failed SELECT each).
    const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await admin`alter table users rename to users_away`;
      for (let i = 0; i < 2; i++) expect((await call(served, '/api/users', '/api/users?limit=3')).status).toBe(500);
    } finally {
      await admin`alter table users_away rename to users`;
      await admin.end();
    }
    const expectedQueries = { INSERT: 3 + 1, SELECT: 3 + 2 + 2 + 1 + 2, UPDATE: 1, DELETE: 1 };

    await waitForPrometheus('sum(http_requests_total)', before.requests + served.total);
    const byEndpointStatus = await promByLabels('sum by (endpoint, status) (http_requests_total)', ['endpoint', 'status']);
    for (const [key, count] of served.counts)
      expect({ key, count: (byEndpointStatus.get(key) ?? 0) - (before.byEndpointStatus.get(key) ?? 0) }).toEqual({ key, count });
    const endpoints = new Set([...byEndpointStatus.keys()].map((key) => key.split(' ')[0]));
    expect([...endpoints].every((endpoint) => endpoint === 'unmatched' || endpoint === '/livez' || endpoint!.startsWith('/api/'))).toBe(
      true,
    );

    const queries = await promByLabels('sum by (operation) (db_queries_total)', ['operation']);
    for (const [operation, count] of Object.entries(expectedQueries)) {
      expect({ operation, count: (queries.get(operation) ?? 0) - (before.queries.get(operation) ?? 0) }).toEqual({ operation, count });
    }
  });

  it('the starter PromQL queries (request rate, mean latency, 5xx ratio, Postgres and Redis gauges) return data', async () => {
    const starterQueries = [
      'rate(http_requests_total[5m])',
      'rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])',
      'rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m])',
      'postgres_connections',
      'redis_memory_usage_bytes',
    ];
    for (const query of starterQueries) {
      await waitUntil(async () => (await queryPrometheus(prometheus.url, query)).length > 0, {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: `data for ${query}`,
      });
    }
    expect(await promValue('postgres_connections')).toBeGreaterThanOrEqual(1);
    expect(await promValue('redis_memory_usage_bytes')).toBeGreaterThan(0);
    expect(await promValue('database_connections')).toBeGreaterThanOrEqual(1);
    expect(await promValue('sum(metrics_push_failures_total)')).toBe(0);
  });

  it('loses nothing and counts nothing twice when the gateway is down for several push intervals under load', async () => {
    const before = (await promValue('sum(http_requests_total)')) || 0;
    const served = new Served();
    let loading = true;
    const load = async () => {
      while (loading) await call(served, '/api/users', '/api/users?limit=2');
    };
    const workers = Array.from({ length: 4 }, load);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await gateway.stop(); // writes its snapshot, idempotency keys included
    const servedWhenStopped = served.total;
    await new Promise((resolve) => setTimeout(resolve, PUSH_INTERVAL_MS * 8));
    expect(served.total).toBeGreaterThan(servedWhenStopped); // the API kept serving while its gateway was gone
    gateway = await startOurGateway();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    loading = false;
    await Promise.all(workers);
    expect([...served.counts.keys()]).toEqual(['/api/users 200']);

    await waitForPrometheus('sum(http_requests_total)', before + served.total, 45_000);
    expect(await promValue('sum(metrics_push_failures_total)')).toBe(0);
  });

  it('pushes what is left once more at shutdown (SIGTERM), before the database closes', async () => {
    // A second API process whose interval never fires during the test: only the shutdown push can deliver.
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      PUSHGATEWAY_URL: gateway.url,
      PUSHGATEWAY_TOKEN: 'push-secret',
      PUSH_INTERVAL_MS: '3600000',
      SERVICE_NAME: 'api-shutdown',
      LOG_LEVEL: 'warn',
    };
    for (const variable of ['ELASTICSEARCH_URL', 'LOG_FILE', 'PGLITE_DIR', 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN'])
      delete env[variable];
    const second = spawnLogged('api-shutdown', join(repoRoot, 'node_modules/.bin/tsx'), ['api/node.ts'], dir, { cwd: repoRoot, env });
    try {
      await waitUntil(async () => (await fetch(`${base}/livez`, { signal: AbortSignal.timeout(2_000) })).ok, {
        timeoutMs: 120_000,
        intervalMs: 250,
        what: 'second API',
      });
      for (let i = 0; i < 7; i++) expect((await fetch(`${base}/api/users`)).status, second.logTail()).toBe(200);
      const exited = new Promise<number | null>((resolve) => second.child.once('exit', (code) => resolve(code)));
      second.child.kill('SIGTERM');
      expect(await exited, `exit code of the second API; its log:\n${second.logTail()}`).toBe(0);
    } finally {
      await second.stop('SIGKILL');
    }
    const log = second.logTail(40);
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const listed = text
      .split('\n')
      .filter(
        (line) => line.startsWith('http_requests_total{') && line.includes('job="api-shutdown"') && line.includes('endpoint="/api/users"'),
      )
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    expect(listed, `requests of the second API on the gateway; its log:\n${log}`).toBe(7);
  }, 180_000);
});
