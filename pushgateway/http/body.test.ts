import { gzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { BodyTooLargeError, type BodyVariables, ClientClosedError, pushBodyReader, readBody } from './body.js';

const LIMIT = 1024;

function streamOf(chunks: Uint8Array[], onPull?: () => void): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      onPull?.();
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
}

function post(body: BodyInit, headers: Record<string, string> = {}): Request {
  return new Request('http://gw/metrics/job/x', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
}

describe('readBody', () => {
  it('returns a body within the limit', async () => {
    const body = await readBody(post('a'.repeat(LIMIT)), LIMIT);
    expect(body.byteLength).toBe(LIMIT);
  });

  it('refuses a declared Content-Length over the limit without reading', async () => {
    let pulled = 0;
    const request = post(
      streamOf([new Uint8Array(10)], () => pulled++),
      { 'content-length': String(LIMIT + 1) },
    );
    await expect(readBody(request, LIMIT)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(pulled).toBeLessThanOrEqual(1); // the stream's own prefetch, nothing read by readBody
  });

  it('stops reading an undeclared stream as soon as it passes the limit', async () => {
    let pulled = 0;
    const chunk = new Uint8Array(400);
    const request = post(
      streamOf(
        Array.from({ length: 1000 }, () => chunk),
        () => pulled++,
      ),
    );
    await expect(readBody(request, LIMIT)).rejects.toThrow(/exceeds 1024 bytes/);
    expect(pulled).toBeLessThan(10);
  });

  it('inflates gzip', async () => {
    const body = await readBody(post(gzipSync('metric 1\n'), { 'content-encoding': 'gzip' }), LIMIT);
    expect(new TextDecoder().decode(body)).toBe('metric 1\n');
  });

  it('stops a gzip bomb at the limit of the inflated size', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024)); // ~50 KB that inflate to 50 MB
    expect(bomb.byteLength).toBeLessThan(LIMIT * 100);
    await expect(readBody(post(bomb, { 'content-encoding': 'gzip' }), 64 * 1024)).rejects.toThrow(/exceeds 65536 bytes once inflated/);
  });

  describe('a declared length over 1 MiB, read as it arrives', () => {
    const chunk = Uint8Array.from({ length: 64 * 1024 }, (_, i) => i % 251);
    const chunks = Array.from({ length: 20 }, () => chunk); // 1.25 MiB
    const length = chunks.length * chunk.byteLength;

    it('is read whole', async () => {
      const body = await readBody(post(streamOf(chunks), { 'content-length': String(length) }), 2 * length);
      expect(body.byteLength).toBe(length);
      expect(body.subarray(length - chunk.byteLength)).toEqual(chunk);
    });

    it.each([
      ['ends before its Content-Length', length + 1, /ended after 1310720 of its 1310721 bytes/],
      ['runs past its Content-Length', length - 1, /longer than its Content-Length/],
    ])('is the client failing when it %s', async (_what, declared, message) => {
      const reading = readBody(post(streamOf(chunks), { 'content-length': String(declared) }), 2 * length);
      await expect(reading).rejects.toBeInstanceOf(ClientClosedError);
      await expect(reading).rejects.toThrow(message);
    });
  });

  it('copies the chunks of a large undeclared body together in slices, so other turns run meanwhile', async () => {
    const chunk = Uint8Array.from({ length: 64 * 1024 }, (_, i) => i % 251);
    const chunks = Array.from({ length: 20 }, () => chunk);
    let otherTurnRan = false;
    setImmediate(() => {
      otherTurnRan = true;
    });
    // The chunks of an in-memory stream arrive without a turn of the event loop: any turn is the copy's.
    const body = await readBody(post(streamOf(chunks)), 2 * 1024 * 1024);
    expect(otherTurnRan).toBe(true);
    expect(body.byteLength).toBe(20 * chunk.byteLength);
    expect(body.subarray(19 * chunk.byteLength)).toEqual(chunk);
  });

  it('reports a corrupt gzip stream', async () => {
    await expect(readBody(post('not gzip at all', { 'content-encoding': 'gzip' }), LIMIT)).rejects.toThrow(/cannot be inflated/);
  });
});

describe('pushBodyReader', () => {
  const app = new Hono<{ Variables: BodyVariables }>();
  const debugged: string[] = [];
  app.use('*', pushBodyReader({ maxBytes: LIMIT, log: { debug: (_fields, message) => void debugged.push(message) } }));
  app.post('*', (c) => c.text(String(c.get('pushBody').byteLength)));
  app.get('*', (c) => c.text('read'));

  it('hands the decoded body to the handler', async () => {
    const response = await app.request(post(gzipSync('x'.repeat(100)), { 'content-encoding': 'gzip' }));
    expect(await response.text()).toBe('100');
  });

  it.each([
    ['too large', post('x'.repeat(LIMIT + 1)), 413, 'body_too_large'],
    ['an unknown encoding', post('x', { 'content-encoding': 'br' }), 415, 'unsupported_encoding'],
    ['corrupt gzip', post('x', { 'content-encoding': 'gzip' }), 400, 'bad_encoding'],
  ])('answers %s with a JSON error before the handler runs', async (_what, request, status, code) => {
    const response = await app.request(request);
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ error: { code, message: expect.any(String) } });
  });

  it.each([
    ['identity', {}],
    ['gzip', { 'content-encoding': 'gzip' }],
  ])('answers 499 when the %s body stream fails mid-way (the client went away), logging at debug', async (_what, headers) => {
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(gzipSync('a 1\n').subarray(0, 5));
        controller.error(new Error('socket hang up'));
      },
    });
    debugged.length = 0;
    const response = await app.request(
      new Request('http://gw/metrics/job/j', { method: 'POST', body: failing, headers, duplex: 'half' } as RequestInit),
    );
    expect(response.status).toBe(499);
    expect(await response.json()).toEqual({ error: { code: 'client_closed_request', message: expect.stringContaining('socket hang up') } });
    expect(debugged).toEqual(['push abandoned by the client']);
  });

  it('leaves reads alone', async () => {
    expect(await (await app.request('/metrics')).text()).toBe('read');
  });
});
