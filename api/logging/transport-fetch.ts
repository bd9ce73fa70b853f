// Workers transport: `@elastic/elasticsearch` does not build on workerd (it needs node:http/undici), so the
// `_bulk` request is made with `fetch`, speaking what the client speaks: the same `compatible-with=8` media
// types, the same auth headers, the same product check on the answer.

import { bulkFilterPath, type ElasticsearchConnection, jsonAccept, ndjsonContentType } from './bulk-protocol.js';
import type { BulkAttempt, BulkItemResult, BulkTransport } from './shipper.js';

export function authorizationHeader(connection: ElasticsearchConnection): string | undefined {
  if (connection.apiKey) return `ApiKey ${connection.apiKey}`;
  if (connection.username) {
    const bytes = new TextEncoder().encode(`${connection.username}:${connection.password ?? ''}`);
    let binary = '';
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return `Basic ${btoa(binary)}`;
  }
  return undefined;
}

export function fetchBulkTransport(
  connection: ElasticsearchConnection,
  dataStream: string,
  fetchImpl: typeof fetch = (input, init) => fetch(input, init),
): BulkTransport {
  const url = `${connection.url.replace(/\/+$/, '')}/${encodeURIComponent(dataStream)}/_bulk?filter_path=${encodeURIComponent(bulkFilterPath)}`;
  const authorization = authorizationHeader(connection);
  const headers: Record<string, string> = { 'content-type': ndjsonContentType, accept: jsonAccept };
  if (authorization) headers.authorization = authorization;
  const timeoutMs = connection.requestTimeoutMs ?? 30_000;

  return {
    async send(body): Promise<BulkAttempt> {
      let response: Response;
      try {
        response = await fetchImpl(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        return { kind: 'retryable', reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        return { kind: 'retryable', status: response.status, reason: `reading the bulk response failed: ${String(error)}` };
      }
      const status = response.status;
      if (status === 429 || status >= 500) return { kind: 'retryable', status, reason: `${status} ${text.slice(0, 300)}` };
      if (status < 200 || status >= 300) return { kind: 'rejected', status, reason: `${status} ${text.slice(0, 300)}` };
      if (response.headers.get('x-elastic-product') !== 'Elasticsearch') {
        return { kind: 'rejected', status, reason: 'the server at ELASTICSEARCH_URL is not Elasticsearch (no x-elastic-product header)' };
      }
      try {
        const parsed = JSON.parse(text) as { items?: Array<Record<string, BulkItemResult>> };
        const items = (parsed.items ?? []).map((item) => {
          const result = Object.values(item)[0];
          return { status: result?.status ?? 0, ...(result?.error ? { error: result.error } : {}) };
        });
        return { kind: 'response', items };
      } catch {
        return { kind: 'rejected', status, reason: 'bulk response is not JSON' };
      }
    },
  };
}
