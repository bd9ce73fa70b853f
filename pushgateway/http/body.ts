// Reading a push body under a byte limit, enforced while reading: the stream is cancelled as soon as
// the limit is passed, and a gzip body is inflated with the limit applied to the *inflated* size, so a
// small gzip bomb cannot expand in memory. Uses the web-standard DecompressionStream (not node:zlib) so
// the same code runs on Node and on workerd.
import { jsonError } from './errors.js';
import type { MiddlewareHandler } from 'hono';
import { decodeSnappyFramed, SnappyFrameError, SnappyTooLargeError } from './snappy-framed.js';

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
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
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
  // A declared length within the limit (checked above) bounds the body, so it is read at once: on Node
  // that is @hono/node-server's direct read, several times cheaper per push than a web stream (and
  // `request.body` is not touched first, since touching it builds the stream).
  if ((encoding === 'identity' || encoding === '') && Number.isFinite(declared)) return new Uint8Array(await request.arrayBuffer());
  if (!request.body) return new Uint8Array(0);
  if (encoding === 'identity' || encoding === '') return await readLimited(request.body, limitBytes, '');
  if (encoding === 'snappy') return decodeSnappyBody(await readLimited(request.body, limitBytes, ''), limitBytes);
  if (encoding !== 'gzip' && encoding !== 'x-gzip') throw new UnsupportedEncodingError(encoding);
  const compressed = request.body;
  // The compressed stream is counted too, so a huge body of zeros is stopped before it is all inflated.
  let compressedBytes = 0;
  const counted = compressed.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        compressedBytes += chunk.byteLength;
        if (compressedBytes > limitBytes) controller.error(new BodyTooLargeError(limitBytes, ''));
        else controller.enqueue(chunk);
      },
    }),
  );
  try {
    // The cast bridges lib.dom's and workers-types' differing declarations of the same web API.
    const inflate = new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>;
    return await readLimited(counted.pipeThrough(inflate), limitBytes, ' once inflated');
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw error;
    throw new CorruptBodyError(error);
  }
}

function decodeSnappyBody(compressed: Uint8Array, limitBytes: number): Uint8Array {
  try {
    return decodeSnappyFramed(compressed, limitBytes);
  } catch (error) {
    if (error instanceof SnappyTooLargeError) throw new BodyTooLargeError(limitBytes, ' once decompressed');
    if (error instanceof SnappyFrameError) throw new CorruptBodyError(error, '');
    throw error;
  }
}

export type BodyVariables = { pushBody: Uint8Array };

/**
 * Reads the body of PUT/POST requests under the limit and hands it to handlers as `c.get('pushBody')`
 * (decoded: gzip already inflated). 413 when too large, 415 for an unknown Content-Encoding,
 * 400 for a gzip stream that does not inflate; in every case before any handler runs, so nothing is stored.
 */
export function pushBodyReader({ maxBytes }: { maxBytes: number }): MiddlewareHandler<{ Variables: BodyVariables }> {
  return async (c, next) => {
    if (c.req.method !== 'PUT' && c.req.method !== 'POST') return await next();
    try {
      c.set('pushBody', await readBody(c.req.raw, maxBytes));
    } catch (error) {
      if (error instanceof BodyTooLargeError) return jsonError(413, 'body_too_large', error.message);
      if (error instanceof UnsupportedEncodingError) return jsonError(415, 'unsupported_encoding', error.message);
      if (error instanceof CorruptBodyError) return jsonError(400, 'bad_encoding', error.message);
      throw error;
    }
    await next();
  };
}
