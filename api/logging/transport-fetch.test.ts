// The Workers transport's mapping of answers to outcomes, through the `fetch` seam it takes (the wire itself is
// exercised in workerd against the stand-in, test/workerd/logging-worker.test.ts).
import { describe, expect, it } from 'vitest';
import { authorizationHeader, fetchBulkTransport } from './transport-fetch.js';

function answering(status: number, body: unknown, headers: Record<string, string> = { 'x-elastic-product': 'Elasticsearch' }) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers });
  }) as unknown as typeof fetch;
  return { calls, fetchImpl };
}

const body = '{"create":{}}\n{"message":"a"}\n';

describe('fetchBulkTransport', () => {
  it('posts NDJSON to <url>/<data stream>/_bulk with the 8.x media types and the API key', async () => {
    const { calls, fetchImpl } = answering(200, { errors: false, items: [{ create: { status: 201 } }] });
    const attempt = await fetchBulkTransport({ url: 'http://es:9200/', apiKey: 'abc==' }, 'logs-api-default', fetchImpl).send(body);
    expect(attempt).toEqual({ kind: 'response', items: [{ status: 201 }] });
    expect(calls[0]!.url).toBe(
      'http://es:9200/logs-api-default/_bulk?filter_path=errors%2Citems.*.status%2Citems.*.error.type%2Citems.*.error.reason',
    );
    expect(calls[0]!.init).toMatchObject({
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/vnd.elasticsearch+x-ndjson; compatible-with=8',
        accept: 'application/vnd.elasticsearch+json; compatible-with=8',
        authorization: 'ApiKey abc==',
      },
    });
  });

  it('encodes basic credentials as UTF-8', () => {
    expect(authorizationHeader({ url: 'http://es', username: 'jörg', password: 'pässword' })).toBe(
      `Basic ${Buffer.from('jörg:pässword', 'utf8').toString('base64')}`,
    );
    expect(authorizationHeader({ url: 'http://es' })).toBeUndefined();
  });

  it('reads item statuses and errors', async () => {
    const { fetchImpl } = answering(200, {
      errors: true,
      items: [{ create: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'full' } } }, { create: { status: 201 } }],
    });
    expect(await fetchBulkTransport({ url: 'http://es' }, 'logs-api-default', fetchImpl).send(body)).toEqual({
      kind: 'response',
      items: [{ status: 429, error: { type: 'es_rejected_execution_exception', reason: 'full' } }, { status: 201 }],
    });
  });

  it.each([
    [429, 'retryable'],
    [502, 'retryable'],
    [503, 'retryable'],
    [400, 'rejected'],
    [401, 'rejected'],
    [413, 'rejected'],
  ] as const)('maps a %i answer to %s', async (status, kind) => {
    const { fetchImpl } = answering(status, { error: { type: 'x' }, status });
    expect(await fetchBulkTransport({ url: 'http://es' }, 'logs-api-default', fetchImpl).send(body)).toMatchObject({ kind, status });
  });

  it('treats a network failure as retryable', async () => {
    const fetchImpl = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    expect(await fetchBulkTransport({ url: 'http://es' }, 'logs-api-default', fetchImpl).send(body)).toMatchObject({
      kind: 'retryable',
      reason: 'TypeError: fetch failed',
    });
  });

  it('refuses a 2xx answer without x-elastic-product (not Elasticsearch), like the client does', async () => {
    const { fetchImpl } = answering(200, { errors: false, items: [{ create: { status: 201 } }] }, {});
    expect(await fetchBulkTransport({ url: 'http://es' }, 'logs-api-default', fetchImpl).send(body)).toMatchObject({
      kind: 'rejected',
      reason: expect.stringContaining('not Elasticsearch'),
    });
  });

  it('refuses a 2xx answer that is not JSON', async () => {
    const { fetchImpl } = answering(200, '<html>proxy</html>');
    expect(await fetchBulkTransport({ url: 'http://es' }, 'logs-api-default', fetchImpl).send(body)).toMatchObject({
      kind: 'rejected',
      reason: 'bulk response is not JSON',
    });
  });
});
