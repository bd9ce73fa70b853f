// The fetch transport: one HTTP request per push attempt, reduced to what the outcome classifier needs.
// Only fetch and AbortSignal, so it runs unchanged on Node and on workerd.
import type { PushBody } from './body-writer.js';
import type { TransportResult } from './outcome.js';

export interface TransportRequest {
  url: string;
  body: PushBody;
  headers: Record<string, string>;
}

export type PushTransport = (request: TransportRequest) => Promise<TransportResult>;

/** Answers larger than this are drained but not kept: the pusher reads only short ones (OTLP partial success). */
const MAX_KEPT_ANSWER_BYTES = 64 * 1024;

/** Error codes (undici's `cause.code` on Node) that mean no byte of the request left this process. */
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function fetchTransport({
  timeoutMs = 10_000,
  fetch: fetchImpl = globalThis.fetch,
}: {
  timeoutMs?: number;
  fetch?: typeof fetch;
} = {}): PushTransport {
  return async ({ url, body, headers }) => {
    let response: Response;
    try {
      response = await fetchImpl(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const code = errorCode(error);
      const message = `${error instanceof Error ? error.message : String(error)}${code ? ` (${code})` : ''}`;
      // Anything not known to have failed before sending (workerd reports all network errors alike) is unknown.
      return code && notSentCodes.has(code) ? { kind: 'not-sent', error: message } : { kind: 'unknown', error: message };
    }
    // Drain the body so the connection is reused (Node) and the subrequest completes (workerd).
    const answer = await response.arrayBuffer().catch(() => undefined);
    return answer && answer.byteLength > 0 && answer.byteLength <= MAX_KEPT_ANSWER_BYTES
      ? { kind: 'response', status: response.status, body: new Uint8Array(answer) }
      : { kind: 'response', status: response.status };
  };
}
