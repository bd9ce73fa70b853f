// The parts of Elasticsearch's `_bulk` protocol both transports share. Runtime-free, so the Workers bundle
// does not pull in `@elastic/elasticsearch` through it.

export interface ElasticsearchConnection {
  url: string;
  apiKey?: string;
  username?: string;
  password?: string;
  /** Per-request timeout; a timed-out bulk is retried (default 30 s). */
  requestTimeoutMs?: number;
}

/** Only what the shipper reads comes back, which keeps large responses cheap to parse. */
export const bulkFilterPath = 'errors,items.*.status,items.*.error.type,items.*.error.reason';

/** The media types the 8.x client sends: a 9.x or 7.x server answers them as an 8.x one would. */
export const ndjsonContentType = 'application/vnd.elasticsearch+x-ndjson; compatible-with=8';
export const jsonAccept = 'application/vnd.elasticsearch+json; compatible-with=8';
