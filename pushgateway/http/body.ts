// Reading a push body under a byte limit, enforced while reading: the stream is cancelled as soon as
// the limit is passed, and a gzip body is inflated with the limit applied to the *inflated* size, so a
// small gzip bomb cannot expand in memory. Uses the web-standard DecompressionStream (not node:zlib) so
// the same code runs on Node and on workerd.

import type { MiddlewareHandler } from 'hono';
import { concatenateSteps, runInSlices } from '../core/slices.js';
import { jsonError } from './errors.js';
import { decodeSnappyFramedSteps, SnappyFrameError, SnappyTooLargeError } from './snappy-framed.js';

export class BodyTooLargeError extends Error {
  constructor(
    readonly limitBytes: number,
    what: string,
  ) {
    super(`the request body exceeds ${limitBytes} bytes${what}`);
    this.name = 'BodyTooLargeError';
  }
}

export class UnsupportedEncodingError extends Error {
  constructor(readonly encoding: string) {
    super(`Content-Encoding ${encoding} is not supported; send identity, gzip or snappy (framed)`);
    this.name = 'UnsupportedEncodingError';
  }
}

export class CorruptBodyError extends Error {
  constructor(cause: unknown, what = 'the gzip body cannot be inflated: ') {
    super(`${what}${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'CorruptBodyError';
  }
}

/** The client's side of the connection failed (closed, reset) before the whole body arrived: not a gateway failure. */
export class ClientClosedError extends Error {
  constructor(cause: unknown) {
    super(`the client closed the connection before the body was received: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'ClientClosedError';
  }
}

/**
 * Runs a read of the request's own bytes: whatever fails there is the connection, hence the client (a
 * server-side limit is BodyTooLargeError and passes through). Inflating is kept out of it, so a corrupt
 * gzip stream stays a 400 and a disconnect stays a disconnect.
 */
async function receive(read: () => Promise<Uint8Array>): Promise<Uint8Array> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw error;
    throw new ClientClosedError(error);
  }
}

/** Reads `stream` to the end, failing (and cancelling it) as soon as more than `limitBytes` arrive. */
async function readLimited(stream: ReadableStream<Uint8Array>, limitBytes: number, what: string): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(limitBytes, what);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  return await runInSlices(concatenateSteps(chunks, total));
}

/**
 * Above this declared length the body is copied into place chunk by chunk as it arrives: the direct read copies
 * the whole body twice in one go at the end (concatenating, then into an ArrayBuffer), ~100 ms of event loop
 * each for a 32 MB body on a busy core, during which health checks and scrapes wait.
 */
const DIRECT_READ_MAX_BYTES = 1024 * 1024;

/** Reads a body of a declared length into one buffer of that length as its chunks arrive. */
async function readDeclaredLength(stream: ReadableStream<Uint8Array>, length: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const body = new Uint8Array(length);
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (received + value.byteLength > length) {
      await reader.cancel().catch(() => {});
      throw new Error(`the body is longer than its Content-Length of ${length} bytes`);
    }
    body.set(value, received);
    received += value.byteLength;
  }
  if (received < length) throw new Error(`the body ended after ${received} of its ${length} bytes`);
  return body;
}

/**
 * Returns the request body decoded (gzip inflated), at most `limitBytes` long both before and after
 * inflating. Throws BodyTooLargeError, UnsupportedEncodingError or CorruptBodyError.
 */
export async function readBody(request: Request, limitBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limitBytes) throw new BodyTooLargeError(limitBytes, '');
  const encoding = (request.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  // A declared length within the limit (checked above) bounds the body, so a small one is read at once: on Node
  // that is @hono/node-server's direct read, several times cheaper per push than a web stream (and
  // `request.body` is not touched first, since touching it builds the stream).
  const identity = encoding === 'identity' || encoding === '';
  if (identity && Number.isFinite(declared) && declared <= DIRECT_READ_MAX_BYTES)
    return await receive(async () => new Uint8Array(await request.arrayBuffer()));
  if (!request.body) return new Uint8Array(0);
  const stream = request.body;
  if (identity && Number.isFinite(declared)) return await receive(() => readDeclaredLength(stream, declared));
  if (encoding === 'identity' || encoding === '') return await receive(() => readLimited(stream, limitBytes, ''));
  if (encoding === 'snappy') return await decodeSnappyBody(await receive(() => readLimited(stream, limitBytes, '')), limitBytes);
  if (encoding !== 'gzip' && encoding !== 'x-gzip') throw new UnsupportedEncodingError(encoding);
  // The compressed bytes are received whole first (under the same limit, so a huge body of zeros is stopped
  // before it is inflated), then inflated with the limit on the inflated size.
  const compressed = await receive(() => readLimited(stream, limitBytes, ''));
  try {
    // The cast bridges lib.dom's and workers-types' differing declarations of the same web API.
    const inflate = new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>;
    const source = new Blob([compressed as Uint8Array<ArrayBuffer>]).stream() as unknown as ReadableStream<Uint8Array>;
    return await readLimited(source.pipeThrough(inflate), limitBytes, ' once inflated');
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw error;
    throw new CorruptBodyError(error);
  }
}

async function decodeSnappyBody(compressed: Uint8Array, limitBytes: number): Promise<Uint8Array> {
  try {
    return await runInSlices(decodeSnappyFramedSteps(compressed, limitBytes));
  } catch (error) {
    if (error instanceof SnappyTooLargeError) throw new BodyTooLargeError(limitBytes, ' once decompressed');
    if (error instanceof SnappyFrameError) throw new CorruptBodyError(error, '');
    throw error;
  }
}

/** nginx's status for a request the client abandoned; counted apart from the gateway's own failures. */
export const clientClosedRequest = 499;

export type BodyVariables = { pushBody: Uint8Array };

/**
 * Reads the body of PUT/POST requests under the limit and hands it to handlers as `c.get('pushBody')`
 * (decoded: gzip already inflated). 413 when too large, 415 for an unknown Content-Encoding,
 * 400 for a gzip stream that does not inflate, 499 (nginx's "client closed request", which no one
 * receives but the request counter) when the client went away mid-body; in every case before any handler
 * runs, so nothing is stored.
 */
export function pushBodyReader({
  maxBytes,
  log,
}: {
  maxBytes: number;
  log: { debug(fields: Record<string, unknown>, message: string): void };
}): MiddlewareHandler<{ Variables: BodyVariables }> {
  return async (c, next) => {
    if (c.req.method !== 'PUT' && c.req.method !== 'POST') return await next();
    try {
      c.set('pushBody', await readBody(c.req.raw, maxBytes));
    } catch (error) {
      if (error instanceof BodyTooLargeError) return jsonError(413, 'body_too_large', error.message);
      if (error instanceof UnsupportedEncodingError) return jsonError(415, 'unsupported_encoding', error.message);
      if (error instanceof CorruptBodyError) return jsonError(400, 'bad_encoding', error.message);
      if (error instanceof ClientClosedError) {
        log.debug({ path: c.req.path, reason: error.message }, 'push abandoned by the client');
        return jsonError(clientClosedRequest, 'client_closed_request', error.message);
      }
      throw error;
    }
    await next();
  };
}
