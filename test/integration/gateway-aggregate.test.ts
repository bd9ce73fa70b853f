// Aggregation mode end to end on Node: the shared contract against the app over the memory store (no
// socket) and against the real Node server, and prom-client's Pushgateway pointed at `<gateway>/aggregate`
// working unchanged (push, pushAdd, delete; plain and gzip).
import { Counter, Gauge, Histogram, Pushgateway, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../pushgateway/app.js';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, startGateway, type RunningGateway } from '../../pushgateway/server.js';
import { MemoryStore } from '../../pushgateway/store/memory.js';
import { CONTRACT_MAX_BODY_BYTES, describeAggregationContract } from '../support/gateway-contract.js';

const TOKEN = 'aggregate-token';
const env = { GATEWAY_PUSH_TOKEN: TOKEN, GATEWAY_MAX_BODY_BYTES: String(CONTRACT_MAX_BODY_BYTES), GATEWAY_PORT: '0', LOG_LEVEL: 'silent' };

const app = createGatewayApp({ store: new MemoryStore(), config: loadGatewayConfig(env) });
describeAggregationContract('memory store (app.request)', () => ({
  token: TOKEN,
  fetch: async (path, init) => await app.request(path, init),
}));

let gateway: RunningGateway;
beforeAll(async () => {
  gateway = await startGateway({ config: loadGatewayConfig({ ...env, GATEWAY_HOST: '127.0.0.1' }), logger: createGatewayLogger('silent') });
});
afterAll(async () => {
  await gateway?.stop();
});
describeAggregationContract('Node server', () => ({ token: TOKEN, fetch: (path, init) => fetch(`${gateway.url}${path}`, init) }));

describe("prom-client's Pushgateway against /aggregate", () => {
  async function lines(job: string): Promise<string[]> {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    return text.split('\n').filter((line) => line.includes(`job="${job}"`) && !line.startsWith('push_'));
  }

  it.each([
    ['plain', {}],
    ['gzip', { 'Content-Encoding': 'gzip' }],
  ])('pushAdd sends deltas that add up, push (PUT) too, delete removes the group (%s)', async (_what, headers) => {
    const registry = new Registry();
    const requests = new Counter({ name: 'client_requests_total', help: 'Requests.', labelNames: ['code'], registers: [registry] });
    const latency = new Histogram({ name: 'client_latency_seconds', help: 'Latency.', buckets: [0.1, 1], registers: [registry] });
    const inFlight = new Gauge({ name: 'client_in_flight', help: 'In flight.', registers: [registry] });
    const job = `prom-client-${_what}`;
    const pushgateway = new Pushgateway(
      `${gateway.url}/aggregate`,
      { headers: { Authorization: `Bearer ${TOKEN}`, ...headers } },
      registry,
    );

    requests.inc({ code: '200' }, 3);
    latency.observe(0.05);
    inFlight.set(2);
    const first = await pushgateway.pushAdd({ jobName: job, groupings: { instance: 'lambda-1' } });
    expect((first.resp as { statusCode: number }).statusCode).toBe(200);
    registry.resetMetrics(); // the client sends what it counted since its last push: a delta
    requests.inc({ code: '200' }, 2);
    latency.observe(0.5);
    inFlight.set(5);
    await pushgateway.push({ jobName: job, groupings: { instance: 'lambda-1' } });

    const labels = `instance="lambda-1",job="${job}"`;
    expect(await lines(job)).toEqual([
      `client_in_flight{${labels}} 5`,
      `client_latency_seconds_bucket{${labels},le="0.1"} 1`,
      `client_latency_seconds_bucket{${labels},le="1"} 2`,
      `client_latency_seconds_bucket{${labels},le="+Inf"} 2`,
      `client_latency_seconds_sum{${labels}} 0.55`,
      `client_latency_seconds_count{${labels}} 2`,
      `client_requests_total{code="200",${labels}} 5`,
    ]);
    await pushgateway.delete({ jobName: job, groupings: { instance: 'lambda-1' } });
    expect(await lines(job)).toEqual([]);
  });
});

describe('aggregation limits and TTL over HTTP', () => {
  it('answers 429 for a push past GATEWAY_MAX_SERIES and stores nothing of it', async () => {
    const limited = createGatewayApp({ store: new MemoryStore({ maxSeries: 2 }), config: loadGatewayConfig({ GATEWAY_MAX_SERIES: '2' }) });
    expect((await limited.request('/aggregate/metrics/job/cap', { method: 'POST', body: 'a_total 1\n' })).status).toBe(200);
    const refused = await limited.request('/aggregate/metrics/job/cap', { method: 'POST', body: 'a_total 1\nb_total 1\nc_total 1\n' });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: { code: 'too_many_series', message: expect.stringContaining('GATEWAY_MAX_SERIES=2') } });
    const text = await (await limited.request('/metrics')).text();
    expect(text).toContain('a_total{instance="",job="cap"} 1\n');
    expect(text).not.toContain('b_total');
  });

  it('drops a group not pushed for GATEWAY_GROUP_TTL_SECONDS', async () => {
    let now = 1_000_000;
    const config = loadGatewayConfig({ GATEWAY_GROUP_TTL_SECONDS: '60' });
    const app = createGatewayApp({ store: new MemoryStore({ groupTtlMs: config.groupTtlSeconds * 1000 }), config, clock: () => now });
    await app.request('/aggregate/metrics/job/short-lived', { method: 'POST', body: 'x_total 1\n' });
    await app.request('/metrics/job/official', { method: 'PUT', body: 'y 1\n' });
    now += 59_000;
    await app.request('/metrics/job/official', { method: 'PUT', body: 'y 2\n' });
    now += 1_000;
    const text = await (await app.request('/metrics')).text();
    expect(text).not.toContain('job="short-lived"');
    expect(text).toContain('y{instance="",job="official"} 2\n');
  });
});
