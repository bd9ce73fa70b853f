// Node transport: the official client, so TLS, auth, the product check (`x-elastic-product`) and the
// `compatible-with=8` media types match the 8.19 cluster in compose. Its own retries are off (maxRetries: 0):
// the shipper owns retry and backoff for every runtime, so there is one policy to reason about.
import { Client, errors } from '@elastic/elasticsearch';
import { bulkFilterPath, type ElasticsearchConnection } from './bulk-protocol.js';
import type { BulkAttempt, BulkItemResult, BulkTransport } from './shipper.js';

export type { ElasticsearchConnection } from './bulk-protocol.js';

export function createElasticsearchClient(connection: ElasticsearchConnection): Client {
  return new Client({
    node: connection.url,
    ...(connection.apiKey
      ? { auth: { apiKey: connection.apiKey } }
      : connection.username
        ? { auth: { username: connection.username, password: connection.password ?? '' } }
        : {}),
    maxRetries: 0,
    requestTimeout: connection.requestTimeoutMs ?? 30_000,
  });
}

export function elasticsearchClientTransport(client: Client, dataStream: string): BulkTransport {
  return {
    async send(body) {
      try {
        const response = await client.bulk({
          index: dataStream,
          // A pre-built NDJSON body is passed through untouched when it is a string or a Buffer (the client
          // serializes anything else, a plain Uint8Array included): a Buffer view of the same bytes, no copy.
          operations: (typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)) as unknown as [],
          filter_path: bulkFilterPath,
        });
        return { kind: 'response', items: itemResults(response.items) };
      } catch (error) {
        return failedAttempt(error);
      }
    },
  };
}

function itemResults(items: ReadonlyArray<Record<string, unknown>> | undefined): BulkItemResult[] {
  return (items ?? []).map((item) => {
    const result = Object.values(item)[0] as BulkItemResult | undefined;
    return { status: result?.status ?? 0, ...(result?.error ? { error: result.error } : {}) };
  });
}

function failedAttempt(error: unknown): BulkAttempt {
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    // The message only: `error.meta` holds the request headers, Authorization included.
    const reason = `${status} ${error.message}`.slice(0, 500);
    return status === 429 || status >= 500 ? { kind: 'retryable', status, reason } : { kind: 'rejected', status, reason };
  }
  if (error instanceof errors.ProductNotSupportedError) {
    return { kind: 'rejected', status: 0, reason: 'the server at ELASTICSEARCH_URL is not Elasticsearch (no x-elastic-product header)' };
  }
  // ConnectionError, TimeoutError, NoLivingConnectionsError, or anything unexpected: nothing certain happened.
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'retryable', reason: `${name}: ${message}`.slice(0, 500) };
}
