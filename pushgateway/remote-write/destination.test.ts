// Retry rules and the queue bound against a real HTTP server on 127.0.0.1 that answers as told.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRequestBody } from '../../test/support/remote-write-decode.js';
import { Destination, displayUrl, parseRetryAfter, type Snapshot } from './destination.js';
import { encodeRequestBody } from './encode.js';

interface Received {
  atMs: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Answer = { status: number; headers?: Record<string, string>; body?: string };

async function receiver(answer: (request: number) => Answer): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ atMs: Date.now(), headers: req.headers, body: Buffer.concat(chunks) });
      const { status, headers = {}, body = '' } = answer(received.length);
      res.writeHead(status, headers).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  servers.push(server);
  return { url: `http://127.0.0.1:${port}/api/v1/write`, received, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

const logs: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
const log = {
  warn: (fields: Record<string, unknown>, message: string) => logs.push({ level: 'warn', fields, message }),
  error: (fields: Record<string, unknown>, message: string) => logs.push({ level: 'error', fields, message }),
};

function destination(url: string, overrides: Partial<ConstructorParameters<typeof Destination>[0]> = {}) {
  return new Destination({
    url,
    headers: { authorization: 'Bearer s3cret', 'X-Scope-OrgID': 'tenant-1' },
    maxQueueBytes: 1024 * 1024,
    shards: 2,
    minBackoffMs: 10,
    maxBackoffMs: 40,
    maxRetryAfterMs: 60_000,
    timeoutMs: 5_000,
    userAgent: 'test-agent/1',
    fetch: (input, init) => fetch(input, init),
    log,
    ...overrides,
  });
}

function snapshot(timestampMs: number, batches: number, perBatch = 3): Snapshot {
  const list = Array.from({ length: batches }, (_, b) => {
    const samples = Array.from({ length: perBatch }, (_, i) => ({
      labels: [
        ['__name__', 'm'],
        ['i', `${b}-${i}`],
      ] as const,
      value: timestampMs,
      timestampMs,
    }));
    return { body: encodeRequestBody(samples), samples: perBatch };
  });
  return { timestampMs, batches: list, bytes: list.reduce((sum, b) => sum + b.body.byteLength, 0), samples: batches * perBatch };
}

describe('sending to one receiver', () => {
  it('sends the protocol headers, auth and extra headers, and counts what was accepted', async () => {
    const rx = await receiver(() => ({ status: 204 }));
    const dest = destination(rx.url);
    dest.enqueue(snapshot(1_000, 3));
    await dest.flush(Date.now() + 5_000);
    expect(rx.received).toHaveLength(3);
    expect(rx.received[0]!.headers).toMatchObject({
      'content-encoding': 'snappy',
      'content-type': 'application/x-protobuf',
      'x-prometheus-remote-write-version': '0.1.0',
      'user-agent': 'test-agent/1',
      authorization: 'Bearer s3cret',
      'x-scope-orgid': 'tenant-1',
    });
    expect(
      rx.received
        .flatMap((r) => decodeRequestBody(r.body))
        .map((s) => s.labels[1]![1])
        .sort(),
    ).toEqual(['0-0', '0-1', '0-2', '1-0', '1-1', '1-2', '2-0', '2-1', '2-2']);
    expect(dest.counters).toMatchObject({
      samplesSent: 9,
      samplesFailed: 0,
      samplesRetried: 0,
      samplesDropped: 0,
      queueBytes: 0,
      samplesPending: 0,
      highestSentTimestampSeconds: 1,
    });
    expect(dest.counters.bytesSent).toBe(rx.received.reduce((sum, r) => sum + r.body.byteLength, 0));
  });

  it('retries 5xx with backoff until accepted', async () => {
    const rx = await receiver((n) => (n <= 3 ? { status: 503, body: 'overloaded' } : { status: 200 }));
    const dest = destination(rx.url);
    dest.enqueue(snapshot(2_000, 1));
    await dest.flush(Date.now() + 5_000);
    expect(rx.received).toHaveLength(4);
    expect(dest.counters).toMatchObject({ samplesSent: 3, samplesRetried: 9, samplesFailed: 0 });
    const gaps = rx.received.slice(1).map((r, i) => r.atMs - rx.received[i]!.atMs);
    // 10, 20, 40 ms: the backoff doubles (timer granularity allows a millisecond early)
    expect(gaps[0]!).toBeGreaterThanOrEqual(9);
    expect(gaps[1]!).toBeGreaterThanOrEqual(19);
    expect(gaps[2]!).toBeGreaterThanOrEqual(39);
  });

  it('waits as long as a 429 says in Retry-After', async () => {
    const rx = await receiver((n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    const dest = destination(rx.url, { minBackoffMs: 1 });
    dest.enqueue(snapshot(3_000, 1));
    await dest.flush(Date.now() + 10_000);
    expect(rx.received).toHaveLength(2);
    expect(rx.received[1]!.atMs - rx.received[0]!.atMs).toBeGreaterThanOrEqual(990);
    expect(dest.counters).toMatchObject({ samplesSent: 3, samplesRetried: 3 });
  });

  it('never retries a 400: the batch is dropped, counted as failed and logged with the receiver message', async () => {
    const rx = await receiver(() => ({ status: 400, body: 'out of order sample' }));
    const dest = destination(rx.url);
    dest.enqueue(snapshot(4_000, 2));
    await dest.flush(Date.now() + 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(rx.received).toHaveLength(2);
    expect(dest.counters).toMatchObject({ samplesSent: 0, samplesFailed: 6, samplesRetried: 0, queueBytes: 0, samplesPending: 0 });
    const refusal = logs.find((entry) => entry.level === 'error' && entry.fields.reason === 'out of order sample');
    expect(refusal?.fields).toMatchObject({ url: displayUrl(rx.url), status: 400 });
    expect(JSON.stringify(logs)).not.toContain('s3cret');
  });

  it('keeps the queue within its byte bound by dropping the oldest snapshot, and delivers the newer ones once the receiver is back', async () => {
    let down = true;
    const rx = await receiver(() => (down ? { status: 503 } : { status: 200 }));
    const one = snapshot(10_000, 2);
    // A long backoff, so no retry of the oldest snapshot is in flight when the receiver comes back.
    const dest = destination(rx.url, { maxQueueBytes: Math.floor(one.bytes * 2.5), minBackoffMs: 60_000 });
    dest.enqueue(one);
    while (rx.received.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    dest.enqueue(snapshot(20_000, 2));
    expect(dest.counters.samplesDropped).toBe(0);
    dest.enqueue(snapshot(30_000, 2));
    expect(dest.counters.samplesDropped).toBe(6);
    expect(dest.counters.queueBytes).toBeLessThanOrEqual(one.bytes * 2.5);
    expect(dest.counters.samplesPending).toBe(12);
    const whileDown = rx.received.length;
    down = false;
    await dest.flush(Date.now() + 5_000);
    const accepted = rx.received.slice(whileDown).map((r) => decodeRequestBody(r.body)[0]!.samples[0]!.timestampMs);
    expect(accepted.sort()).toEqual([20_000, 20_000, 30_000, 30_000]);
    expect(dest.counters).toMatchObject({
      samplesSent: 12,
      samplesDropped: 6,
      queueBytes: 0,
      samplesPending: 0,
      highestSentTimestampSeconds: 30,
    });
  });

  it('sends snapshots in order: a newer one only after the older one is delivered', async () => {
    let down = true;
    const rx = await receiver(() => (down ? { status: 500 } : { status: 200 }));
    const dest = destination(rx.url);
    dest.enqueue(snapshot(1_000, 4));
    dest.enqueue(snapshot(2_000, 4));
    await new Promise((resolve) => setTimeout(resolve, 100));
    down = false;
    await dest.flush(Date.now() + 5_000);
    const accepted = rx.received.slice(-8).map((r) => decodeRequestBody(r.body)[0]!.samples[0]!.timestampMs);
    expect(accepted).toEqual([1_000, 1_000, 1_000, 1_000, 2_000, 2_000, 2_000, 2_000]);
  });

  it('drops what is still queued when the flush deadline passes', async () => {
    const rx = await receiver(() => ({ status: 503 }));
    const dest = destination(rx.url);
    dest.enqueue(snapshot(1_000, 2));
    await dest.flush(Date.now() + 200);
    expect(dest.counters).toMatchObject({ samplesSent: 0, samplesDropped: 6, queueBytes: 0, samplesPending: 0 });
  });
});

describe('helpers', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7', 0)).toBe(7_000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });

  it('shows receiver URLs without credentials or query', () => {
    expect(displayUrl('https://user:pw@mimir.example:8080/api/v1/push?token=x')).toBe('https://mimir.example:8080/api/v1/push');
  });
});
