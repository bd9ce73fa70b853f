// The API process (`tsx api/node.ts`, embedded PGlite) with METRICS_PUSH_PROTOCOL=otlp → its pusher, speaking
// OTLP/HTTP protobuf → our gateway's POST /v1/metrics → the gateway's /metrics: the request counter and the duration
// histogram equal the requests the test made, per endpoint and status, also after the final push at SIGTERM.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, type RunningGateway, startGateway } from '../../pushgateway/server.js';
import { freePort, makeTempDir, removeDir, type SpawnedProcess, spawnLogged, waitUntil } from '../support/services/index.js';

const repoRoot = join(import.meta.dirname, '../..');
const PUSH_INTERVAL_MS = 300;
const TOKEN = 'otlp-push-secret';

let dir: string;
let gateway: RunningGateway;
let api: SpawnedProcess;
let apiBase: string;

beforeAll(async () => {
  dir = makeTempDir('instrumentation-otlp');
  gateway = await startGateway({
    config: loadGatewayConfig({ GATEWAY_PORT: '0', GATEWAY_HOST: '127.0.0.1', GATEWAY_PUSH_TOKEN: TOKEN }),
    logger: createGatewayLogger('warn'),
  });
  const port = await freePort();
  apiBase = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    PGLITE_DIR: 'memory://',
    PUSHGATEWAY_URL: gateway.url,
    PUSHGATEWAY_TOKEN: TOKEN,
    METRICS_PUSH_PROTOCOL: 'otlp',
    PUSH_INTERVAL_MS: String(PUSH_INTERVAL_MS),
    SERVICE_NAME: 'api-otlp',
    RATE_LIMIT_MAX: '1000000',
    LOG_LEVEL: 'warn',
  };
  for (const variable of ['ELASTICSEARCH_URL', 'LOG_FILE', 'DATABASE_URL', 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN'])
    delete env[variable];
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
}, 180_000);

afterAll(async () => {
  await api?.stop('SIGTERM');
  await gateway?.stop();
  if (dir) removeDir(dir);
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function gatewaySamples(): Promise<Sample[]> {
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

/** Values of one metric on the gateway, summed by the given labels (joined with a space). */
function byLabels(samples: Sample[], name: string, labels: string[], where: Record<string, string> = {}): Map<string, number> {
  const totals = new Map<string, number>();
  for (const sample of samples) {
    if (sample.name !== name || !Object.entries(where).every(([k, v]) => sample.labels[k] === v)) continue;
    const key = labels.map((label) => sample.labels[label]).join(' ');
    totals.set(key, (totals.get(key) ?? 0) + sample.value);
  }
  return totals;
}

function minus(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const difference = new Map<string, number>();
  for (const [key, value] of after) if (value !== (before.get(key) ?? 0)) difference.set(key, value - (before.get(key) ?? 0));
  return difference;
}

const sorted = (map: Map<string, number>) => [...map].sort(([a], [b]) => (a < b ? -1 : 1));

describe('API on Node pushing over OTLP → gateway /v1/metrics → /metrics', () => {
  it('shows exactly the requests made in http_requests_total and http_request_duration_seconds', async () => {
    // Start-up traffic (readiness probes) is pushed first, so "before" is stable.
    await new Promise((resolve) => setTimeout(resolve, PUSH_INTERVAL_MS * 4));
    const read = async () => {
      const samples = await gatewaySamples();
      return {
        requests: byLabels(samples, 'http_requests_total', ['method', 'endpoint', 'status'], { job: 'api-otlp' }),
        durations: byLabels(samples, 'http_request_duration_seconds_count', ['method', 'endpoint'], { job: 'api-otlp' }),
        slowest: byLabels(samples, 'http_request_duration_seconds_bucket', ['method', 'endpoint'], { job: 'api-otlp', le: '+Inf' }),
        samples,
      };
    };
    const before = await read();

    const made = new Map<string, number>();
    const durations = new Map<string, number>();
    const call = async (method: string, endpoint: string, path: string, body?: unknown) => {
      const response = await fetch(`${apiBase}${path}`, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      const key = `${method} ${endpoint} ${response.status}`;
      made.set(key, (made.get(key) ?? 0) + 1);
      durations.set(`${method} ${endpoint}`, (durations.get(`${method} ${endpoint}`) ?? 0) + 1);
    };
    for (let i = 0; i < 3; i++) await call('POST', '/api/users', '/api/users', { email: `otlp${i}@example.test`, name: `O ${i}` });
    await Promise.all(Array.from({ length: 6 }, () => call('GET', '/api/users', '/api/users')));
    for (let i = 0; i < 4; i++) await call('GET', '/api/users/:id', '/api/users/00000000-0000-4000-8000-000000000000');
    for (let i = 0; i < 2; i++) await call('GET', 'unmatched', `/no-such-page-${i}`);
    expect(made.get('POST /api/users 201')).toBe(3);
    expect(made.get('GET /api/users/:id 404')).toBe(4);

    let last: Awaited<ReturnType<typeof read>> | undefined;
    await waitUntil(
      async () => {
        last = await read();
        return JSON.stringify(sorted(minus(last.requests, before.requests))) === JSON.stringify(sorted(made));
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'http_requests_total on the gateway = the requests made' },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${JSON.stringify(last && sorted(minus(last.requests, before.requests)))}\n${api.logTail(10)}`);
    });
    expect(sorted(minus(last!.durations, before.durations))).toEqual(sorted(durations));
    expect(sorted(minus(last!.slowest, before.slowest))).toEqual(sorted(durations));

    // Every series is in the instance's group (service.instance.id = host:pid), and it came over OTLP, not /aggregate.
    const instances = new Set(last!.samples.filter((s) => s.name === 'http_requests_total').map((s) => s.labels.instance));
    expect([...instances]).toEqual([expect.stringMatching(/^.+:\d+$/)]);
    const otlpApplied = last!.samples.find((s) => s.name === 'gateway_otlp_points_total' && s.labels.outcome === 'applied');
    expect(otlpApplied?.value).toBeGreaterThan(0);
    expect(last!.samples.filter((s) => s.name === 'pushgateway_http_requests_total' && s.labels.handler?.startsWith('aggregate'))).toEqual(
      [],
    );
    expect(last!.samples.find((s) => s.name === 'metrics_push_failures_total')?.value).toBe(0);

    // The final push at SIGTERM adds what was counted since, and nothing twice.
    await call('GET', '/api/users', '/api/users');
    await api.stop('SIGTERM');
    const final = await read();
    expect(sorted(minus(final.requests, before.requests))).toEqual(sorted(made));
    expect(sorted(minus(final.durations, before.durations))).toEqual(sorted(durations));
  }, 120_000);
});
