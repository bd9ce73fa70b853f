// Log shipping end to end: the Node logger and access-log middleware, through the real @elastic/elasticsearch
// client, into (a) the `_bulk` stand-in on loopback — always — and (b) a real Elasticsearch 8 when
// ELASTICSEARCH_URL is set (Elasticsearch cannot run on the CI machines; see DESIGN.md). Fault injection
// (item 429/400, request 429/503, server down) needs the stand-in; the rest runs against both.
import { randomUUID } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLog } from '../../api/logging/access-log.js';
import type { ElasticsearchLogConfig, LoggingConfig } from '../../api/logging/config.js';
import { createNodeLogging, type NodeLogging, type NodeLoggingOptions } from '../../api/logging/node.js';
import { createElasticsearchClient } from '../../api/logging/transport-client.js';
import { type ApiMetrics, createApiMetrics } from '../../api/observability/metrics.js';
import { applyElasticsearchSetup } from '../../monitoring/elasticsearch/setup.js';
import { type ElasticsearchStandIn, startElasticsearchStandIn } from '../support/services/elasticsearch-bulk.js';

interface Backend {
  connection: Omit<ElasticsearchLogConfig, 'dataStream' | 'maxBufferBytes' | 'maxBatchBytes' | 'flushIntervalMs'>;
  dataStream: string;
  /** Documents of one test run (tagged `labels.test_run`), as stored. */
  documents(run: string): Promise<Record<string, unknown>[]>;
}

interface Harness {
  appLogger: NodeLogging;
  metrics: ApiMetrics;
  stdout: string[];
  run: string;
  app: Hono;
}

function harness(
  backend: Backend,
  overrides: Partial<ElasticsearchLogConfig> = {},
  shipper: NonNullable<NodeLoggingOptions['shipper']> = {},
): Harness {
  const stdout: string[] = [];
  const metrics = createApiMetrics(new Registry(), { nodeCollectors: false });
  const config: LoggingConfig = {
    level: 'info',
    serviceName: 'api',
    elasticsearch: {
      ...backend.connection,
      dataStream: backend.dataStream,
      maxBufferBytes: 8 * 1024 * 1024,
      maxBatchBytes: 2 * 1024 * 1024,
      flushIntervalMs: 50,
      ...overrides,
    },
  };
  const appLogger = createNodeLogging(config, {
    stdout: { write: (chunk: string) => void stdout.push(chunk) },
    shipper: { minBackoffMs: 20, maxBackoffMs: 200, ...shipper },
  });
  appLogger.countInto(metrics);
  const run = randomUUID();
  const logger = appLogger.logger.child({ labels: { test_run: run } });
  const app = new Hono();
  app.use(requestId());
  app.use(accessLog({ logger }));
  app.get('/api/users/:id', (c) => c.json({ id: c.req.param('id') }));
  app.post('/api/login', (c) => c.json({ ok: true }));
  app.get('/api/boom', () => {
    throw new TypeError('the database is on fire');
  });
  app.onError((_error, c) => c.json({ error: { code: 'internal_error', message: 'Internal server error' } }, 500));
  return { appLogger, metrics, stdout, run, app: app as unknown as Hono };
}

async function counter(metrics: ApiMetrics, name: 'shipped' | string): Promise<number> {
  const metric = name === 'shipped' ? metrics.logEventsShippedTotal : metrics.logEventsDroppedTotal;
  const values = (await metric.get()).values;
  return values.filter((value) => name === 'shipped' || value.labels.reason === name).reduce((sum, value) => sum + value.value, 0);
}

/** The tests every backend must pass. */
function shippingSuite(backend: () => Backend) {
  it('ships access lines with the ECS fields, and error lines with error.*', async () => {
    const { appLogger, app, run, metrics } = harness(backend());
    const ok = await app.request('/api/users/42', { headers: { 'user-agent': 'it' } });
    await app.request('/api/boom');
    await appLogger.close(20_000);
    const documents = await backend().documents(run);
    expect(documents).toHaveLength(2);
    const access = documents.find((document) => document.message === 'GET /api/users/42 200')!;
    expect(access).toMatchObject({
      'log.level': 'info',
      'service.name': 'api',
      'event.dataset': 'api',
      'ecs.version': '8.10.0',
      'http.request.method': 'GET',
      'url.path': '/api/users/42',
      'http.response.status_code': 200,
      'trace.id': ok.headers.get('x-request-id'),
      'user.id': '42',
    });
    expect(typeof access['@timestamp']).toBe('string');
    expect(Number.isInteger(access['event.duration'])).toBe(true);
    const failure = documents.find((document) => document['log.level'] === 'error')!;
    expect(failure).toMatchObject({
      'http.response.status_code': 500,
      error: { type: 'TypeError', message: 'the database is on fire', stack_trace: expect.stringContaining('TypeError') },
    });
    expect(await counter(metrics, 'shipped')).toBe(2);
  });

  it('never ships credentials a request carried or code logged', async () => {
    const { appLogger, app, run } = harness(backend());
    await app.request('/api/login', { method: 'POST', headers: { authorization: 'Bearer SECRET-1', cookie: 'sid=SECRET-2' } });
    appLogger.logger
      .child({ labels: { test_run: run } })
      .warn({ config: { ELASTICSEARCH_PASSWORD: 'SECRET-3', apiKey: 'SECRET-4' }, headers: { 'set-cookie': 'SECRET-5' } }, 'config loaded');
    await appLogger.close(20_000);
    const documents = await backend().documents(run);
    expect(documents).toHaveLength(2);
    expect(JSON.stringify(documents)).not.toContain('SECRET-');
    expect(documents.find((document) => document.message === 'config loaded')).toMatchObject({
      config: { ELASTICSEARCH_PASSWORD: '[Redacted]', apiKey: '[Redacted]' },
    });
  });

  it('ships many lines in several batches, each exactly once', async () => {
    const { appLogger, run, metrics } = harness(backend(), {}, { maxBatchLines: 500 });
    const logger = appLogger.logger.child({ labels: { test_run: run } });
    for (let n = 0; n < 3000; n++) logger.info({ 'event.sequence': n }, `line ${n}`);
    await appLogger.close(30_000);
    const documents = await backend().documents(run);
    expect(documents).toHaveLength(3000);
    expect(new Set(documents.map((document) => document['event.sequence'])).size).toBe(3000);
    expect(await counter(metrics, 'shipped')).toBe(3000);
  });
}

describe('log shipping into the _bulk stand-in', () => {
  let standIn: ElasticsearchStandIn;
  const apiKey = 'c3RhbmQtaW46a2V5';
  const backend = (): Backend => ({
    connection: { url: standIn.url, apiKey },
    dataStream: 'logs-api-default',
    documents: async (run) =>
      standIn.documents('logs-api-default').filter((document) => (document.labels as { test_run?: string } | undefined)?.test_run === run),
  });

  beforeAll(async () => {
    standIn = await startElasticsearchStandIn({ apiKey });
  });
  afterAll(async () => {
    await standIn?.stop();
  });

  shippingSuite(backend);

  it('speaks the 8.x wire: compatible-with=8 media types, ApiKey auth, create actions into the data stream', async () => {
    const { appLogger, run } = harness(backend());
    appLogger.logger.child({ labels: { test_run: run } }).info('wire check');
    await appLogger.close(10_000);
    const request = standIn.requests
      .filter((recorded) => recorded.path.startsWith('/logs-api-default/_bulk') && recorded.body.includes(run))
      .at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/vnd.elasticsearch+x-ndjson; compatible-with=8');
    expect(request.headers.accept).toContain('compatible-with=8');
    expect(request.headers.authorization).toBe(`ApiKey ${apiKey}`);
    const [action, source] = request.body.split('\n');
    expect(JSON.parse(action!)).toEqual({ create: {} });
    expect(JSON.parse(source!)).toMatchObject({ message: 'wire check' });
  });

  it('retries items answered 429 until stored, without duplicates', async () => {
    const { appLogger, run, metrics } = harness(backend());
    const logger = appLogger.logger.child({ labels: { test_run: run } });
    standIn.failNextItems(429, 3);
    for (let n = 0; n < 5; n++) logger.info({ 'event.sequence': n }, 'item 429');
    await appLogger.close(10_000);
    const documents = await backend().documents(run);
    expect(documents.map((document) => document['event.sequence']).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(await counter(metrics, 'shipped')).toBe(5);
    const bulkRequests = standIn.requests.filter((recorded) => recorded.body.includes(run));
    expect(bulkRequests.length).toBeGreaterThanOrEqual(2);
  });

  it('drops items refused with 400, counts them as rejected and says so on stdout', async () => {
    const { appLogger, run, metrics, stdout } = harness(backend());
    const logger = appLogger.logger.child({ labels: { test_run: run } });
    standIn.failNextItems(400, 1);
    for (let n = 0; n < 3; n++) logger.info({ 'event.sequence': n }, 'item 400');
    await appLogger.close(10_000);
    expect(await backend().documents(run)).toHaveLength(2);
    expect(await counter(metrics, 'rejected')).toBe(1);
    expect(await counter(metrics, 'shipped')).toBe(2);
    const report = stdout
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .find((line) => line['log.logger'] === 'log-shipper');
    expect(report).toMatchObject({ 'log.level': 'error', 'log_shipper.dropped': 1, 'error.type': 'document_parsing_exception' });
  });

  it('retries whole requests answered 429 and 503', async () => {
    const { appLogger, run, metrics } = harness(backend());
    standIn.failNextRequests(429, 1);
    standIn.failNextRequests(503, 2);
    appLogger.logger.child({ labels: { test_run: run } }).info('request faults');
    await appLogger.close(10_000);
    expect(await backend().documents(run)).toHaveLength(1);
    expect(await counter(metrics, 'shipped')).toBe(1);
  });

  it('loses nothing while the server is down under the buffer cap, and ships it all when it is back', async () => {
    const { appLogger, run, metrics, stdout } = harness(backend());
    const logger = appLogger.logger.child({ labels: { test_run: run } });
    await standIn.down();
    for (let n = 0; n < 200; n++) logger.info({ 'event.sequence': n }, 'during outage');
    await expect.poll(() => stdout.join(''), { timeout: 10_000 }).toContain('shipping logs to Elasticsearch failed, retrying with backoff');
    for (let n = 200; n < 400; n++) logger.info({ 'event.sequence': n }, 'during outage');
    await standIn.up();
    await appLogger.close(20_000);
    const documents = await backend().documents(run);
    expect(documents.map((document) => document['event.sequence'])).toEqual(Array.from({ length: 400 }, (_, n) => n));
    expect(await counter(metrics, 'shipped')).toBe(400);
    expect(await counter(metrics, 'buffer_full')).toBe(0);
    expect(stdout.join('')).toContain('shipping logs to Elasticsearch recovered');
  });

  it('past the cap drops new lines, counts them as buffer_full, and ships everything it kept', async () => {
    const maxBufferBytes = 64 * 1024;
    const { appLogger, run, metrics, stdout } = harness(backend(), { maxBufferBytes });
    const logger = appLogger.logger.child({ labels: { test_run: run } });
    await standIn.down();
    const written = 1000;
    for (let n = 0; n < written; n++) logger.info({ 'event.sequence': n, padding: 'x'.repeat(200) }, 'over the cap');
    expect(appLogger.shipper!.stats().heldBytes).toBeLessThanOrEqual(maxBufferBytes);
    const dropped = await counter(metrics, 'buffer_full');
    expect(dropped).toBeGreaterThan(0);
    await standIn.up();
    await appLogger.close(20_000);
    const documents = await backend().documents(run);
    expect(documents.length + dropped).toBe(written);
    // What was kept is the oldest lines, in order: the cap refuses new lines rather than evicting old ones.
    expect(documents.map((document) => document['event.sequence'])).toEqual(Array.from({ length: documents.length }, (_, n) => n));
    expect(stdout.join('')).toContain('log buffer full, dropping new log lines');
  });

  it('counts what is still unsent at shutdown as dropped (shutdown), never silently', async () => {
    const { appLogger, run, metrics } = harness(backend());
    await standIn.down();
    for (let n = 0; n < 10; n++) appLogger.logger.child({ labels: { test_run: run } }).info('lost at shutdown');
    await appLogger.close(300);
    await standIn.up();
    expect(await counter(metrics, 'shutdown')).toBe(10);
    expect(await backend().documents(run)).toHaveLength(0);
  });

  it('counts every line as rejected when the credentials are refused (401)', async () => {
    const { appLogger, run, metrics } = harness({ ...backend(), connection: { url: standIn.url, apiKey: 'wrong' } });
    appLogger.logger.child({ labels: { test_run: run } }).info('unauthorized');
    await appLogger.close(10_000);
    expect(await counter(metrics, 'rejected')).toBe(1);
  });
});

const realUrl = process.env.ELASTICSEARCH_URL;
if (!realUrl) {
  console.log(
    '[logging-shipping] real Elasticsearch suite skipped: ELASTICSEARCH_URL is not set (Elasticsearch cannot run on this machine; set ELASTICSEARCH_URL and ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME/PASSWORD to run it against a cluster)',
  );
}

describe.runIf(realUrl)('log shipping into a real Elasticsearch (ELASTICSEARCH_URL)', () => {
  const dataStream = 'logs-api-integrationtest';
  let client: Client;
  const connection = () => ({
    url: realUrl!,
    ...(process.env.ELASTICSEARCH_API_KEY ? { apiKey: process.env.ELASTICSEARCH_API_KEY } : {}),
    ...(process.env.ELASTICSEARCH_USERNAME
      ? { username: process.env.ELASTICSEARCH_USERNAME, password: process.env.ELASTICSEARCH_PASSWORD ?? '' }
      : {}),
  });
  const backend = (): Backend => ({
    connection: connection(),
    dataStream,
    documents: async (run) => {
      await client.indices.refresh({ index: dataStream });
      const result = await client.search<Record<string, unknown>>({
        index: dataStream,
        size: 10_000,
        query: { term: { 'labels.test_run': run } },
      });
      // `_source` comes back as sent: the dotted keys the logger writes stay dotted, as in the stand-in.
      return result.hits.hits.map((hit) => hit._source!);
    },
  });

  beforeAll(async () => {
    client = createElasticsearchClient(connection());
    await applyElasticsearchSetup(client, 1);
  });
  afterAll(async () => {
    await client?.indices.deleteDataStream({ name: dataStream }).catch(() => {});
    await client?.close();
  });

  shippingSuite(backend);

  it('maps the shipped fields with the template types and manages the stream with the ILM policy', async () => {
    const { appLogger, app } = harness(backend());
    await app.request('/api/users/1');
    await appLogger.close(10_000);
    const streams = await client.indices.getDataStream({ name: dataStream });
    expect(streams.data_streams[0]?.ilm_policy).toBe('logs-api');
    const mapping = await client.indices.getFieldMapping({
      index: dataStream,
      fields: ['@timestamp', 'event.duration', 'http.response.status_code', 'user.id', 'log.level'],
    });
    const types = Object.values(mapping)[0]!.mappings as Record<string, { mapping: Record<string, { type: string }> }>;
    const typeOf = (field: string) => Object.values(types[field]!.mapping)[0]!.type;
    expect([
      typeOf('@timestamp'),
      typeOf('event.duration'),
      typeOf('http.response.status_code'),
      typeOf('user.id'),
      typeOf('log.level'),
    ]).toEqual(['date', 'long', 'long', 'keyword', 'keyword']);
  });
});
