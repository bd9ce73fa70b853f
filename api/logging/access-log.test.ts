import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { accessLog } from './access-log.js';
import { createNodeLogging } from './node.js';

function setup(options: { onError?: boolean; skipRoutes?: string[] } = {}) {
  const chunks: string[] = [];
  const { logger } = createNodeLogging(
    { level: 'info', serviceName: 'api' },
    { stdout: { write: (chunk: string) => void chunks.push(chunk) } },
  );
  const app = new Hono();
  app.use(requestId());
  app.use(accessLog({ logger, ...(options.skipRoutes ? { skipRoutes: options.skipRoutes } : {}) }));
  app.get('/api/users/:id', (c) => c.json({ id: c.req.param('id') }));
  app.get('/api/users/:id/tasks', (c) => c.json([]));
  app.get('/api/tasks/:taskId', (c) => {
    (c.get('logger' as never) as Logger).info('inside the handler');
    return c.json({});
  });
  app.get('/boom', () => {
    throw new Error('database exploded');
  });
  app.get('/teapot', () => {
    throw new HTTPException(418, { message: 'short and stout' });
  });
  app.post('/login', async (c) => c.json({ ok: true }));
  if (options.onError !== false)
    app.onError((error, c) =>
      c.json({ error: { code: 'internal_error', message: 'Internal server error' } }, error instanceof HTTPException ? error.status : 500),
    );
  const lines = () =>
    chunks
      .join('')
      .trimEnd()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { app, lines, chunks };
}

describe('accessLog', () => {
  it('writes no line for a successful request to a skipped route, and still one for its failures and other routes', async () => {
    const { app, lines } = setup({ skipRoutes: ['/api/users/:id', '/boom'] });
    expect((await app.request('/api/users/42')).status).toBe(200);
    expect((await app.request('/boom')).status).toBe(500);
    expect((await app.request('/api/users/42/tasks')).status).toBe(200);
    expect(lines().map((line) => line.message)).toEqual(['GET /boom 500', 'GET /api/users/42/tasks 200']);
  });

  it('writes one ECS line per request with method, path, route, status, duration (ns), request id and user', async () => {
    const { app, lines } = setup();
    const response = await app.request('/api/users/42', { headers: { 'user-agent': 'vitest' } });
    expect(response.status).toBe(200);
    const all = lines();
    expect(all).toHaveLength(1);
    const line = all[0]!;
    expect(line).toMatchObject({
      'log.level': 'info',
      message: 'GET /api/users/42 200',
      'http.request.method': 'GET',
      'url.path': '/api/users/42',
      'http.route': '/api/users/:id',
      'http.response.status_code': 200,
      'http.request.id': response.headers.get('x-request-id'),
      'trace.id': response.headers.get('x-request-id'),
      'user.id': '42',
      'user_agent.original': 'vitest',
      'event.outcome': 'success',
    });
    expect(Number.isInteger(line['event.duration'])).toBe(true);
    expect(line['event.duration'] as number).toBeGreaterThanOrEqual(0);
  });

  it('takes user.id from nested user routes and trace.id from a W3C traceparent', async () => {
    const { app, lines } = setup();
    await app.request('/api/users/7/tasks', { headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
    expect(lines()[0]).toMatchObject({ 'user.id': '7', 'trace.id': '4bf92f3577b34da6a3ce929d0e0e4736' });
  });

  it('gives handlers a child logger bound to the trace id', async () => {
    const { app, lines } = setup();
    const response = await app.request('/api/tasks/3');
    const [inner, access] = lines();
    expect(inner).toMatchObject({ message: 'inside the handler', 'trace.id': response.headers.get('x-request-id') });
    expect(access).toMatchObject({ 'http.route': '/api/tasks/:taskId' });
    expect(access).not.toHaveProperty('user.id');
  });

  it('logs a failed request at error with error.* (with an onError handler)', async () => {
    const { app, lines } = setup();
    expect((await app.request('/boom')).status).toBe(500);
    expect(lines()[0]).toMatchObject({
      'log.level': 'error',
      'http.response.status_code': 500,
      'event.outcome': 'failure',
      error: { type: 'Error', message: 'database exploded', stack_trace: expect.stringContaining('database exploded') },
    });
  });

  it('logs a failed request without an onError handler too, and Hono still answers 500', async () => {
    const { app, lines } = setup({ onError: false });
    expect((await app.request('/boom')).status).toBe(500);
    expect(lines()[0]).toMatchObject({ 'log.level': 'error', 'http.response.status_code': 500, error: { message: 'database exploded' } });
  });

  it('logs client errors at info with the error that made them', async () => {
    const { app, lines } = setup();
    expect((await app.request('/teapot')).status).toBe(418);
    expect(lines()[0]).toMatchObject({ 'log.level': 'info', 'http.response.status_code': 418, error: { message: 'short and stout' } });
    expect((await app.request('/nowhere')).status).toBe(404);
    expect(lines()[1]).toMatchObject({ 'http.response.status_code': 404, 'url.path': '/nowhere' });
  });

  it('never writes credentials the request carried', async () => {
    const { app, chunks } = setup();
    await app.request('/login', {
      method: 'POST',
      headers: { authorization: 'Bearer SECRET-A', cookie: 'session=SECRET-B', 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'SECRET-C' }),
    });
    expect(chunks.join('')).not.toContain('SECRET-');
  });

  it('does not fail the request when the logger throws', async () => {
    const throwing = {
      child: () => throwing,
      info: () => {
        throw new Error('disk full');
      },
      error: () => {
        throw new Error('disk full');
      },
    } as unknown as Logger;
    const app = new Hono();
    app.use(accessLog({ logger: throwing }));
    app.get('/', (c) => c.text('fine'));
    const response = await app.request('/');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('fine');
  });
});
