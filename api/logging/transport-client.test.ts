// The Node transport through the real @elastic/elasticsearch client, with @elastic/elasticsearch-mock
// replacing only the HTTP connection: how the client's answers and errors become shipper outcomes.
import { Client, errors } from '@elastic/elasticsearch';
import Mock from '@elastic/elasticsearch-mock';
import { describe, expect, it } from 'vitest';
import { bulkBody } from './shipper.js';
import { elasticsearchClientTransport } from './transport-client.js';

function clientWith(mock: Mock): Client {
  return new Client({ node: 'http://127.0.0.1:9200', Connection: mock.getConnection(), maxRetries: 0 });
}

const body = bulkBody([
  '{"@timestamp":"2026-01-01T00:00:00.000Z","message":"a"}\n',
  '{"@timestamp":"2026-01-01T00:00:00.000Z","message":"b"}\n',
]);

function responseError(statusCode: number, type: string): errors.ResponseError {
  return new errors.ResponseError({
    body: { error: { type, reason: type }, status: statusCode },
    statusCode,
    headers: {},
    warnings: null,
    meta: {} as never,
  });
}

describe('elasticsearchClientTransport', () => {
  it('posts the NDJSON unchanged to <data stream>/_bulk, asking only for the fields it reads', async () => {
    const mock = new Mock();
    let seen: { body: unknown; querystring: Record<string, unknown> } | undefined;
    mock.add({ method: 'POST', path: '/logs-api-default/_bulk' }, (params) => {
      seen = params as never;
      return { errors: false, items: [{ create: { status: 201 } }, { create: { status: 201 } }] };
    });
    const attempt = await elasticsearchClientTransport(clientWith(mock), 'logs-api-default').send(body);
    expect(attempt).toEqual({ kind: 'response', items: [{ status: 201 }, { status: 201 }] });
    expect(seen?.querystring.filter_path).toBe('errors,items.*.status,items.*.error.type,items.*.error.reason');
    // The mock parses NDJSON back into the four objects it was made of.
    expect(seen?.body).toEqual([
      { create: {} },
      { '@timestamp': '2026-01-01T00:00:00.000Z', message: 'a' },
      { create: {} },
      { '@timestamp': '2026-01-01T00:00:00.000Z', message: 'b' },
    ]);
  });

  it('reports per-item statuses and errors', async () => {
    const mock = new Mock();
    mock.add({ method: 'POST', path: '/logs-api-default/_bulk' }, () => ({
      errors: true,
      items: [
        { create: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } } },
        { create: { status: 201 } },
      ],
    }));
    const attempt = await elasticsearchClientTransport(clientWith(mock), 'logs-api-default').send(body);
    expect(attempt).toEqual({
      kind: 'response',
      items: [{ status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } }, { status: 201 }],
    });
  });

  it.each([
    [429, 'retryable'],
    [500, 'retryable'],
    [503, 'retryable'],
    [400, 'rejected'],
    [401, 'rejected'],
    [403, 'rejected'],
    [413, 'rejected'],
  ] as const)('maps a %i answer to %s', async (status, kind) => {
    const mock = new Mock();
    mock.add({ method: 'POST', path: '/logs-api-default/_bulk' }, () => responseError(status, 'some_exception'));
    const attempt = await elasticsearchClientTransport(clientWith(mock), 'logs-api-default').send(body);
    expect(attempt).toMatchObject({ kind, status });
  });

  it('maps connection errors and timeouts to retryable', async () => {
    for (const error of [new errors.ConnectionError('connect ECONNREFUSED'), new errors.TimeoutError('Request timed out')]) {
      const mock = new Mock();
      mock.add({ method: 'POST', path: '/logs-api-default/_bulk' }, () => error);
      const attempt = await elasticsearchClientTransport(clientWith(mock), 'logs-api-default').send(body);
      expect(attempt).toMatchObject({ kind: 'retryable', reason: expect.stringContaining(error.name) });
    }
  });

  it('never puts credentials in the reason it reports', async () => {
    const mock = new Mock();
    mock.add({ method: 'POST', path: '/logs-api-default/_bulk' }, () => responseError(401, 'security_exception'));
    const client = new Client({
      node: 'http://127.0.0.1:9200',
      Connection: mock.getConnection(),
      maxRetries: 0,
      auth: { apiKey: 'SUPER-SECRET-KEY' },
    });
    const attempt = await elasticsearchClientTransport(client, 'logs-api-default').send(body);
    expect(JSON.stringify(attempt)).not.toContain('SUPER-SECRET-KEY');
  });
});
