// The Workers logging path in real workerd: pino's browser build writing ECS JSON, the fetch-based NDJSON
// shipper flushing in waitUntil into the `_bulk` stand-in — the same lines the Node logger ships for the
// same requests, with the same retry rules.

import { join } from 'node:path';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLog } from '../../api/logging/access-log.js';
import { createNodeLogging } from '../../api/logging/node.js';
import { type ElasticsearchStandIn, startElasticsearchStandIn } from '../support/services/elasticsearch-bulk.js';
import { type RunningWorker, startWorker } from '../support/services/workerd.js';

const fixture = join(import.meta.dirname, '..', 'support', 'logging-worker', 'wrangler.toml');
const apiKey = 'd29ya2VyOmtleQ==';

/** Fields that differ by nature between two runs or runtimes. */
function comparable(document: Record<string, unknown>): Record<string, unknown> {
  const {
    '@timestamp': _t,
    'process.pid': _p,
    'host.hostname': _h,
    'event.duration': _d,
    'http.request.id': _r,
    'trace.id': _i,
    ...rest
  } = document;
  const error = rest.error as Record<string, unknown> | undefined;
  if (error) rest.error = { ...error, stack_trace: typeof error.stack_trace };
  return rest;
}

/** The same routes as the logging worker, served by the Node logger, for a line-by-line comparison. */
async function nodeLineFor(path: string): Promise<Record<string, unknown>> {
  const chunks: string[] = [];
  const { logger } = createNodeLogging(
    { level: 'info', serviceName: 'api' },
    { stdout: { write: (chunk: string) => void chunks.push(chunk) } },
  );
  const app = new Hono();
  app.use(requestId());
  app.use(accessLog({ logger }));
  app.get('/api/users/:id', (c) => c.json({}));
  app.get('/api/boom', () => {
    throw new TypeError('the database is on fire');
  });
  app.onError((_error, c) => c.json({}, 500));
  await app.request(path, { headers: { 'user-agent': 'parity-check' } });
  return JSON.parse(chunks.join('').trim());
}

describe('Workers logging in workerd', () => {
  let standIn: ElasticsearchStandIn;
  let worker: RunningWorker;
  const accessDocuments = (path: string) => standIn.documents('logs-api-default').filter((document) => document['url.path'] === path);

  beforeAll(async () => {
    standIn = await startElasticsearchStandIn({ apiKey });
    worker = await startWorker({
      config: fixture,
      // Every line on the console too (the default while shipping is warnings only), to check redaction there.
      bindings: { ELASTICSEARCH_URL: standIn.url, ELASTICSEARCH_API_KEY: apiKey, LOG_CONSOLE_LEVEL: 'info' },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await standIn?.stop();
  });

  it('ships the access line of a request after the response, with the ECS fields, as NDJSON over fetch', async () => {
    const response = await worker.dispatchFetch('http://worker/api/users/42');
    expect(response.status).toBe(200);
    await expect.poll(() => accessDocuments('/api/users/42').length, { timeout: 10_000 }).toBe(1);
    const document = accessDocuments('/api/users/42')[0]!;
    expect(document).toMatchObject({
      'log.level': 'info',
      'service.name': 'api',
      'event.dataset': 'api',
      'ecs.version': '8.10.0',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'user.id': '42',
      'trace.id': response.headers.get('x-request-id'),
      message: 'GET /api/users/42 200',
    });
    const request = standIn.requests.find((recorded) => recorded.body.includes('/api/users/42'))!;
    expect(request.path).toMatch(/^\/logs-api-default\/_bulk\?filter_path=/);
    expect(request.headers['content-type']).toBe('application/vnd.elasticsearch+x-ndjson; compatible-with=8');
    expect(request.headers.authorization).toBe(`ApiKey ${apiKey}`);
    expect(JSON.parse(request.body.split('\n')[0]!)).toEqual({ create: {} });
  });

  it.each(['/api/users/7', '/api/boom'])('ships the same document as the Node logger for GET %s', async (path) => {
    await (await worker.dispatchFetch(`http://worker${path}`, { headers: { 'user-agent': 'parity-check' } })).arrayBuffer();
    await expect.poll(() => accessDocuments(path).length, { timeout: 10_000 }).toBe(1);
    expect(comparable(accessDocuments(path)[0]!)).toEqual(comparable(await nodeLineFor(path)));
  });

  it('keeps secrets out of the shipped NDJSON and out of the console', async () => {
    await (
      await worker.dispatchFetch('http://worker/api/login', {
        method: 'POST',
        headers: { authorization: 'Bearer SECRET-BEARER', cookie: 'sid=SECRET-COOKIE' },
      })
    ).arrayBuffer();
    await expect.poll(() => accessDocuments('/api/login').length, { timeout: 10_000 }).toBe(1);
    const loginLine = standIn.documents('logs-api-default').find((document) => document.message === 'login attempt')!;
    expect(loginLine).toMatchObject({ body: { username: 'ann', password: '[Redacted]' }, headers: { authorization: '[Redacted]' } });
    const shipped = standIn.requests.map((request) => request.body).join('\n');
    expect(shipped).not.toContain('SECRET-');
    expect(worker.output()).toContain('login attempt');
    expect(worker.output()).not.toContain('SECRET-');
  });

  it('retries items answered 429 within waitUntil', async () => {
    standIn.failNextItems(429, 1);
    await (await worker.dispatchFetch('http://worker/api/users/429')).arrayBuffer();
    await expect.poll(() => accessDocuments('/api/users/429').length, { timeout: 10_000 }).toBe(1);
  });

  it('keeps lines it could not ship while Elasticsearch is down and ships them with a later request', async () => {
    await standIn.down();
    for (const id of ['down-1', 'down-2', 'down-3']) await (await worker.dispatchFetch(`http://worker/api/users/${id}`)).arrayBuffer();
    await expect.poll(() => worker.output(), { timeout: 10_000 }).toContain('shipping logs to Elasticsearch failed, retrying with backoff');
    await standIn.up();
    await (await worker.dispatchFetch('http://worker/api/users/up-again')).arrayBuffer();
    for (const id of ['down-1', 'down-2', 'down-3', 'up-again']) {
      await expect.poll(() => accessDocuments(`/api/users/${id}`).length, { timeout: 15_000 }).toBe(1);
    }
    const stats = (await (await worker.dispatchFetch('http://worker/stats')).json()) as { dropped: Record<string, number> };
    expect(Object.values(stats.dropped).every((count) => count === 0)).toBe(true);
  });
});
