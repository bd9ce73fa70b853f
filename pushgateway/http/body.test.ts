import { gzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { BodyTooLargeError, pushBodyReader, readBody, type BodyVariables } from './body.js';

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

  it('reports a corrupt gzip stream', async () => {
    await expect(readBody(post('not gzip at all', { 'content-encoding': 'gzip' }), LIMIT)).rejects.toThrow(/cannot be inflated/);
  });
});

describe('pushBodyReader', () => {
  const app = new Hono<{ Variables: BodyVariables }>();
  app.use('*', pushBodyReader({ maxBytes: LIMIT }));
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

  it('leaves reads alone', async () => {
    expect(await (await app.request('/metrics')).text()).toBe('read');
  });
});
