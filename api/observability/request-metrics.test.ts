import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createApiMetrics, type ApiMetrics } from './metrics.js';
import { requestMetrics, UNMATCHED_ENDPOINT } from './request-metrics.js';

function appWith(metrics: ApiMetrics, now?: () => number) {
  const app = new Hono();
  app.use('*', requestMetrics({ ...metrics, ...(now ? { now } : {}) }));
  app.use('/api/*', async (c, next) => {
    if (c.req.header('x-deny')) return c.json({ error: { code: 'unauthorized', message: 'no' } }, 401);
    await next();
  });
  app.get('/api/users/:id', (c) => c.json({ id: c.req.param('id') }));
  app.post('/api/users', (c) => c.json({ ok: true }, 201));
  app.get('/api/boom', () => {
    throw new Error('handler failed');
  });
  app.get('/api/in-flight', async (c) => c.json({ inFlight: (await metrics.activeConnections.get()).values[0]?.value }));
  app.onError((_error, c) => c.json({ error: { code: 'internal', message: 'internal error' } }, 500));
  return app;
}

async function requestCount(metrics: ApiMetrics, labels: Record<string, string>): Promise<number> {
  const { values } = await metrics.httpRequestsTotal.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, value]) => (v.labels as Record<string, unknown>)[k] === value))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('requestMetrics', () => {
  it('labels requests with the route template, never the raw path', async () => {
    const metrics = createApiMetrics();
    const app = appWith(metrics);
    for (const id of ['a', 'b', 'c']) expect((await app.request(`/api/users/${id}`)).status).toBe(200);
    expect((await app.request('/api/users', { method: 'POST' })).status).toBe(201);
    expect(await requestCount(metrics, { method: 'GET', endpoint: '/api/users/:id', status: '200' })).toBe(3);
    expect(await requestCount(metrics, { method: 'POST', endpoint: '/api/users', status: '201' })).toBe(1);
    const endpoints = new Set((await metrics.httpRequestsTotal.get()).values.map((v) => v.labels.endpoint));
    expect([...endpoints].sort()).toEqual(['/api/users', '/api/users/:id']);
  });

  it('counts errors thrown by handlers with their final status', async () => {
    const metrics = createApiMetrics();
    const app = appWith(metrics);
    expect((await app.request('/api/boom')).status).toBe(500);
    expect(await requestCount(metrics, { endpoint: '/api/boom', status: '500' })).toBe(1);
  });

  it('attributes a request refused by middleware to the endpoint it was headed for', async () => {
    const metrics = createApiMetrics();
    const app = appWith(metrics);
    expect((await app.request('/api/users/x', { headers: { 'x-deny': '1' } })).status).toBe(401);
    expect(await requestCount(metrics, { endpoint: '/api/users/:id', status: '401' })).toBe(1);
  });

  it('gives every unmatched path one shared endpoint value', async () => {
    const metrics = createApiMetrics();
    const app = appWith(metrics);
    for (let i = 0; i < 200; i++) expect((await app.request(`/random/${i}/${Math.random()}`)).status).toBe(404);
    expect((await app.request('/api/unknown/thing')).status).toBe(404);
    const { values } = await metrics.httpRequestsTotal.get();
    expect(values).toHaveLength(1);
    expect(values[0]!.labels).toEqual({ method: 'GET', endpoint: UNMATCHED_ENDPOINT, status: '404' });
    expect(values[0]!.value).toBe(201);
  });

  it('folds unknown methods into OTHER', async () => {
    const metrics = createApiMetrics();
    const app = appWith(metrics);
    await app.request('/x', { method: 'PROPFIND' });
    expect(await requestCount(metrics, { method: 'OTHER', endpoint: UNMATCHED_ENDPOINT })).toBe(1);
  });

  it('observes the duration from the injected clock and tracks requests in flight', async () => {
    const metrics = createApiMetrics();
    let clock = 1_000;
    const app = appWith(metrics, () => (clock += 250));
    const body = (await (await app.request('/api/in-flight')).json()) as { inFlight: number };
    expect(body.inFlight).toBe(1);
    expect((await metrics.activeConnections.get()).values[0]!.value).toBe(0);
    const { values } = await metrics.httpRequestDurationSeconds.get();
    const sum = values.find((v) => v.metricName === 'http_request_duration_seconds_sum' && v.labels.endpoint === '/api/in-flight');
    expect(sum?.value).toBeCloseTo(0.25, 9);
    const bucket = (le: number) =>
      values.find((v) => v.metricName === 'http_request_duration_seconds_bucket' && (v.labels as Record<string, unknown>).le === le)?.value;
    expect(bucket(0.1)).toBe(0);
    expect(bucket(0.25)).toBe(1);
  });
});
