import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, gatewayAuth } from './auth.js';

function appWith(options: Parameters<typeof gatewayAuth>[0]): Hono {
  const app = new Hono();
  app.use('*', gatewayAuth(options));
  app.all('*', (c) => c.text('ok'));
  return app;
}
const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

describe('constantTimeEqual', () => {
  it('is true only for equal strings, whatever the lengths', async () => {
    expect(await constantTimeEqual('secret', 'secret')).toBe(true);
    expect(await constantTimeEqual('secret', 'secreT')).toBe(false);
    expect(await constantTimeEqual('', 'secret')).toBe(false);
    expect(await constantTimeEqual('secret-and-more', 'secret')).toBe(false);
  });
});

describe('gatewayAuth', () => {
  const app = appWith({ pushToken: 's3cret', scrape: { user: 'prom', password: 'pw' } });

  it.each(['PUT', 'POST', 'DELETE'])('requires the bearer token on %s', async (method) => {
    const missing = await app.request('/metrics/job/x', { method });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="pushgateway"');
    expect(await missing.json()).toEqual({ error: { code: 'unauthorized', message: expect.stringContaining('bearer token') } });
    const wrong = await app.request('/metrics/job/x', { method, headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('invalid_token');
    const right = await app.request('/metrics/job/x', { method, headers: { authorization: 'bearer s3cret' } });
    expect(right.status).toBe(200);
  });

  it('protects the admin wipe like any write', async () => {
    expect((await app.request('/api/v1/admin/wipe', { method: 'PUT', headers: { authorization: basic('prom', 'pw') } })).status).toBe(401);
  });

  it('requires basic auth on reads when configured', async () => {
    const missing = await app.request('/metrics');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Basic realm="pushgateway", charset="UTF-8"');
    expect((await app.request('/metrics', { headers: { authorization: basic('prom', 'wrong') } })).status).toBe(401);
    expect((await app.request('/metrics', { headers: { authorization: basic('other', 'pw') } })).status).toBe(401);
    expect((await app.request('/metrics', { headers: { authorization: 'Basic !!!' } })).status).toBe(401);
    expect((await app.request('/metrics', { headers: { authorization: basic('prom', 'pw') } })).status).toBe(200);
  });

  it('keeps health probes open', async () => {
    expect((await app.request('/-/healthy')).status).toBe(200);
    expect((await app.request('/-/ready')).status).toBe(200);
  });

  it('lets everything through when nothing is configured', async () => {
    const open = appWith({});
    expect((await open.request('/metrics/job/x', { method: 'PUT' })).status).toBe(200);
    expect((await open.request('/metrics')).status).toBe(200);
  });

  it('accepts passwords containing colons', async () => {
    const colon = appWith({ scrape: { user: 'u', password: 'a:b' } });
    expect((await colon.request('/metrics', { headers: { authorization: basic('u', 'a:b') } })).status).toBe(200);
  });

  it('refuses credentials that differ from the configured ones only by a leading U+FEFF or by invalid UTF-8', async () => {
    expect(
      (await app.request('/metrics', { headers: { authorization: `Basic ${Buffer.from('\uFEFFprom:pw').toString('base64')}` } })).status,
    ).toBe(401);
    const invalid = `Basic ${Buffer.from([0x70, 0x72, 0x6f, 0x6d, 0x3a, 0x70, 0x77, 0xff]).toString('base64')}`;
    expect((await app.request('/metrics', { headers: { authorization: invalid } })).status).toBe(401);
  });
});
