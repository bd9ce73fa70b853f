// createApp observed as api/node.ts observes it (request id, request metrics, the ECS access line through the
// Node logging's direct writer), over embedded PGlite: /livez, which no middleware matches, is answered
// synchronously and still observed like every other route; the routes that run middleware are observed through
// their Context, on app.request() and on a real @hono/node-server.

import type { AddressInfo } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../app.js';
import { migratePgliteDatabase } from '../../db/migrate.js';
import { createPgliteDatabase } from '../../db/pglite.js';
import type { Database } from '../../db/types.js';
import { createNodeLogging } from '../../logging/node.js';
import { type ApiMetrics, createApiMetrics } from '../../observability/metrics.js';

let database: Database & { client: PGlite };

beforeAll(async () => {
  database = await createPgliteDatabase('memory://');
  await migratePgliteDatabase(database.client);
});
afterAll(async () => {
  await database?.close();
});

function observedApp(options: { skipRoutes?: string[]; database?: Database | (() => Database); withHook?: boolean } = {}) {
  const chunks: string[] = [];
  const logging = createNodeLogging(
    { level: 'info', serviceName: 'api' },
    { stdout: { write: (chunk: string) => void chunks.push(chunk) } },
  );
  const metrics = createApiMetrics();
  const app = createApp({
    database: options.database ?? database,
    logger: logging.logger,
    observe: {
      metrics,
      accessLog: { logger: logging.logger, write: logging.accessLine, ...(options.skipRoutes ? { skipRoutes: options.skipRoutes } : {}) },
    },
    ...(options.withHook
      ? {
          middleware: [
            (c, next) => {
              (c.get('logger' as never) as { info(message: string): void }).info('from a hook');
              return next();
            },
          ],
        }
      : {}),
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { app, lines, metrics };
}

async function counted(metrics: ApiMetrics): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { labels, value } of (await metrics.httpRequestsTotal.get()).values)
    counts[`${labels.method} ${labels.endpoint} ${labels.status}`] = value;
  return counts;
}

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('observeApp in createApp', () => {
  it('answers /livez synchronously (a Response, not a Promise), observed all the same', async () => {
    const { app, lines, metrics } = observedApp();
    const answer = app.fetch(new Request('http://localhost/livez', { headers: { 'x-request-id': 'probe-1', 'user-agent': 'kube-probe' } }));
    expect(answer).toBeInstanceOf(Response);
    const response = answer as Response;
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('probe-1');
    expect(lines()).toEqual([
      expect.objectContaining({
        message: 'GET /livez 200',
        'http.route': '/livez',
        'url.path': '/livez',
        'http.request.id': 'probe-1',
        'trace.id': 'probe-1',
        'user_agent.original': 'kube-probe',
      }),
    ]);
    expect(await counted(metrics)).toEqual({ 'GET /livez 200': 1 });
    expect((await metrics.activeConnections.get()).values[0]!.value).toBe(0);
  });

  it('labels every route with its template and unmatched paths with one value, as the access line names them', async () => {
    const { app, lines, metrics } = observedApp();
    const created = await app.request('/api/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'observed@example.com', name: 'Observed' }),
    });
    const { id } = (await created.json()) as { id: string };
    expect((await app.request(`/api/users/${id}`, { headers: { traceparent } })).status).toBe(200);
    expect((await app.request('/nowhere')).status).toBe(404);
    expect((await app.request('/api/nowhere')).status).toBe(404);
    expect((await app.request('/livez', { method: 'HEAD' })).status).toBe(200);
    expect(await counted(metrics)).toEqual({
      'POST /api/users 201': 1,
      'GET /api/users/:id 200': 1,
      'GET unmatched 404': 2,
      'HEAD /livez 200': 1,
    });
    expect(lines().map((line) => [line.message, line['http.route'], line['user.id']])).toEqual([
      ['POST /api/users 201', '/api/users', undefined],
      [`GET /api/users/${id} 200`, '/api/users/:id', id],
      ['GET /nowhere 404', '/*', undefined],
      ['GET /api/nowhere 404', '/api/*', undefined],
      ['HEAD /livez 200', '/livez', undefined],
    ]);
    expect(lines()[1]).toMatchObject({ 'trace.id': '4bf92f3577b34da6a3ce929d0e0e4736' });
  });

  it('puts the error in the line of a failed request, and its request id in the error log', async () => {
    const { app, lines, metrics } = observedApp({
      database: () => {
        throw new Error('pool exhausted');
      },
    });
    const response = await app.request('/api/users', { headers: { 'x-request-id': 'failing-1' } });
    expect(response.status).toBe(500);
    expect(response.headers.get('x-request-id')).toBe('failing-1');
    const [unhandled, access] = lines();
    expect(unhandled).toMatchObject({ message: 'unhandled error', requestId: 'failing-1' });
    expect(access).toMatchObject({
      'log.level': 'error',
      'http.route': '/api/*',
      'http.response.status_code': 500,
      error: { type: 'Error', message: 'pool exhausted' },
    });
    expect(await counted(metrics)).toEqual({ 'GET /api/users 500': 1 });
  });

  it('writes no line for /livez under LOG_ACCESS_SKIP_ROUTES, still counting it', async () => {
    const { app, lines, metrics } = observedApp({ skipRoutes: ['/livez'] });
    expect((await app.request('/livez')).status).toBe(200);
    expect((await app.request('/nowhere')).status).toBe(404);
    expect(lines().map((line) => line.message)).toEqual(['GET /nowhere 404']);
    expect(await counted(metrics)).toEqual({ 'GET /livez 200': 1, 'GET unmatched 404': 1 });
  });

  it('gives middleware hooks c.var.logger bound to the trace id, on every route', async () => {
    const { app, lines } = observedApp({ withHook: true });
    await app.request('/livez', { headers: { 'x-request-id': 'hooked-1' } });
    expect(lines()[0]).toMatchObject({ message: 'from a hook', 'trace.id': 'hooked-1' });
    expect(lines()[1]).toMatchObject({ message: 'GET /livez 200', 'http.route': '/livez' });
  });

  it('on @hono/node-server: takes a plain caller id, replaces an unsafe one, answers it from the raw response', async () => {
    const { app, lines } = observedApp();
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    try {
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const plain = await fetch(`${base}/livez`, { headers: { 'x-request-id': 'plain-id_1=' } });
      expect(plain.headers.get('x-request-id')).toBe('plain-id_1=');
      const unsafe = await fetch(`${base}/livez`, { headers: { 'x-request-id': 'no spaces, please' } });
      const generated = unsafe.headers.get('x-request-id');
      expect(generated).toMatch(/^[\da-f-]{36}$/);
      const tooLong = await fetch(`${base}/api/nowhere`, { headers: { 'x-request-id': 'a'.repeat(256) } });
      expect(tooLong.headers.get('x-request-id')).toMatch(/^[\da-f-]{36}$/);
      expect(lines().map((line) => line['http.request.id'])).toEqual(['plain-id_1=', generated, tooLong.headers.get('x-request-id')]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
