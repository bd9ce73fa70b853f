// GATEWAY_ROUTE_PREFIX / GATEWAY_EXTERNAL_URL as the official --web.route-prefix / --web.external-url
// (main.go computeRoutePrefix and the route table: every route, /-/healthy and /metrics included, below the prefix).
import { describe, expect, it } from 'vitest';
import { createGatewayApp } from '../app.js';
import { computeRoutePrefix, loadGatewayConfig } from '../config/gateway.js';
import { MemoryStore } from '../store/memory.js';

describe('computeRoutePrefix', () => {
  it('defaults to the external URL path, adds a leading slash, drops trailing ones, and "/" means none', () => {
    expect(computeRoutePrefix(undefined, 'https://example.com/push/')).toBe('/push');
    expect(computeRoutePrefix('gw', 'https://example.com/push')).toBe('/gw');
    expect(computeRoutePrefix('/', 'https://example.com/push')).toBe('');
    expect(computeRoutePrefix(undefined, undefined)).toBe('');
  });

  it('is read from the environment and refuses a prefix that is not a path', () => {
    expect(loadGatewayConfig({ GATEWAY_EXTERNAL_URL: 'https://example.com/shared/pgw' }).routePrefix).toBe('/shared/pgw');
    expect(() => loadGatewayConfig({ GATEWAY_ROUTE_PREFIX: '/a?b' })).toThrow(/GATEWAY_ROUTE_PREFIX/);
    expect(() => loadGatewayConfig({ GATEWAY_EXTERNAL_URL: 'not a url' })).toThrow(/GATEWAY_EXTERNAL_URL/);
  });
});

describe('routes under a prefix', () => {
  const app = () =>
    createGatewayApp({
      store: new MemoryStore(),
      config: loadGatewayConfig({ GATEWAY_ROUTE_PREFIX: '/pgw', GATEWAY_ENABLE_ADMIN_API: 'true' }),
    });

  it('serves pushes (plain and aggregated), deletes, scrapes, the API and health below the prefix only', async () => {
    const gateway = app();
    expect((await gateway.request('/pgw/metrics/job/j/path@base64/L3Zhcg', { method: 'PUT', body: 'm 1\n' })).status).toBe(200);
    expect(
      (await gateway.request('/pgw/aggregate/metrics/job/agg', { method: 'POST', body: '# TYPE n_total counter\nn_total 2\n' })).status,
    ).toBe(200);
    const scrape = await (await gateway.request('/pgw/metrics')).text();
    expect(scrape).toContain('m{instance="",job="j",path="/var"} 1\n');
    expect(scrape).toContain('n_total{instance="",job="agg"} 2\n');
    expect(scrape).toContain('pushgateway_http_requests_total{code="200",handler="push",method="put"} 1\n');
    expect((await gateway.request('/pgw/-/healthy')).status).toBe(200);
    const status = (await (await gateway.request('/pgw/api/v1/status')).json()) as { data: { flags: Record<string, string> } };
    expect(status.data.flags['web.route-prefix']).toBe('/pgw');
    expect((await gateway.request('/pgw/metrics/job/j/path@base64/L3Zhcg', { method: 'DELETE' })).status).toBe(202);
    expect(await (await gateway.request('/pgw/metrics')).text()).not.toContain('job="j"');
    for (const path of ['/metrics', '/-/healthy', '/api/v1/status', '/pgwx/metrics'])
      expect((await gateway.request(path)).status).toBe(404);
    expect((await gateway.request('/metrics/job/x', { method: 'PUT', body: 'm 1\n' })).status).toBe(404);
  });
});
