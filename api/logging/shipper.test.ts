// The shipper's rules against a scripted BulkTransport (the seam where the wire sits; the wire itself is
// covered against the HTTP stand-in in test/integration/logging-shipping.test.ts).
import { describe, expect, it } from 'vitest';
import { type BulkAttempt, bulkBody, type DropReason, LogShipper, type ShipperOptions } from './shipper.js';

const decoder = new TextDecoder();
/** The lines of a `_bulk` body: every second NDJSON line (the others are the action lines). */
const documents = (body: Uint8Array | string) =>
  (typeof body === 'string' ? body : decoder.decode(body)).split('\n').filter((_, index) => index % 2 === 1);
const utf8Length = (text: string) => new TextEncoder().encode(text).length;

type Answer = (lines: string[]) => BulkAttempt;

const created = (lines: string[]): BulkAttempt => ({ kind: 'response', items: lines.map(() => ({ status: 201 })) });

/** Records every request body and answers from a script (then: all created). */
function scriptedTransport(script: Answer[] = []) {
  const sent: string[][] = [];
  return {
    sent,
    transport: {
      async send(body: Uint8Array | string): Promise<BulkAttempt> {
        const lines = documents(body);
        sent.push(lines);
        return (script.shift() ?? created)(lines);
      },
    },
  };
}

function countingShipper(options: Partial<ShipperOptions> & Pick<ShipperOptions, 'transport'>) {
  const counted = { shipped: 0, dropped: {} as Partial<Record<DropReason, number>> };
  const reports: Array<{ level: string; message: string }> = [];
  const shipper = new LogShipper({
    mode: 'background',
    minBackoffMs: 1,
    maxBackoffMs: 5,
    flushIntervalMs: 10,
    counters: {
      shipped: (count) => (counted.shipped += count),
      dropped: (reason, count) => (counted.dropped[reason] = (counted.dropped[reason] ?? 0) + count),
    },
    report: (level, message) => reports.push({ level, message }),
    ...options,
  });
  return { shipper, counted, reports };
}

const line = (n: number, pad = 0) => `{"n":${n}${pad ? `,"pad":"${'x'.repeat(pad)}"` : ''}}\n`;

describe('bulkBody', () => {
  it('puts a create action before every document and ends with a newline', () => {
    expect(bulkBody(['{"a":1}\n', '{"b":2}'])).toBe('{"create":{}}\n{"a":1}\n{"create":{}}\n{"b":2}\n');
  });
});

describe('LogShipper', () => {
  it('cuts batches by line count and ships every line once, in order', async () => {
    const { sent, transport } = scriptedTransport();
    const { shipper, counted } = countingShipper({ transport, maxBatchLines: 3 });
    for (let n = 0; n < 10; n++) shipper.write(line(n));
    await shipper.flush(5_000);
    expect(sent.every((batch) => batch.length <= 3)).toBe(true);
    expect(sent.flat()).toEqual(Array.from({ length: 10 }, (_, n) => line(n).trimEnd()));
    expect(counted).toEqual({ shipped: 10, dropped: {} });
  });

  it('cuts batches by bytes', async () => {
    const { sent, transport } = scriptedTransport();
    const { shipper } = countingShipper({ transport, maxBatchBytes: 1000 });
    for (let n = 0; n < 20; n++) shipper.write(line(n, 200));
    await shipper.flush(5_000);
    for (const batch of sent) expect(utf8Length(bulkBody(batch))).toBeLessThanOrEqual(1000);
    expect(sent.flat()).toHaveLength(20);
  });

  it('ships on the flush interval without an explicit flush', async () => {
    const { sent, transport } = scriptedTransport();
    const { shipper } = countingShipper({ transport, flushIntervalMs: 20 });
    shipper.write(line(1));
    expect(sent).toHaveLength(0);
    await expect.poll(() => sent.flat(), { timeout: 5_000 }).toEqual([line(1).trimEnd()]);
  });

  it('after a full batch, leaves the few lines written meanwhile for the flush interval (no tiny bulk requests)', async () => {
    const sent: string[][] = [];
    const inFlight: Array<() => void> = [];
    const transport = {
      send(body: Uint8Array | string): Promise<BulkAttempt> {
        const lines = documents(body);
        sent.push(lines);
        return new Promise((resolve) => inFlight.push(() => resolve(created(lines))));
      },
    };
    const { shipper, counted } = countingShipper({ transport, maxBatchLines: 3, flushIntervalMs: 60_000 });
    for (let n = 0; n < 3; n++) shipper.write(line(n));
    await expect.poll(() => sent.length).toBe(1);
    shipper.write(line(3));
    shipper.write(line(4));
    inFlight.shift()!();
    await expect.poll(() => counted.shipped).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sent).toHaveLength(1);
    expect(shipper.stats().queuedLines).toBe(2);

    const flushed = shipper.flush(5_000);
    await expect.poll(() => inFlight.length).toBe(1);
    inFlight.shift()!();
    await flushed;
    expect(sent[1]).toEqual([line(3).trimEnd(), line(4).trimEnd()]);
    expect(counted.shipped).toBe(5);
  });

  it('retries only the items answered 429, and counts the other refusals as rejected', async () => {
    const { sent, transport } = scriptedTransport([
      (lines) => ({
        kind: 'response',
        items: lines.map((_, index) => ({
          status: index === 1 ? 429 : index === 2 ? 400 : 201,
          ...(index === 2 ? { error: { type: 'document_parsing_exception', reason: 'bad' } } : {}),
        })),
      }),
    ]);
    const { shipper, counted, reports } = countingShipper({ transport });
    for (let n = 0; n < 4; n++) shipper.write(line(n));
    await shipper.flush(5_000);
    expect(sent).toEqual([[0, 1, 2, 3].map((n) => line(n).trimEnd()), [line(1).trimEnd()]]);
    expect(counted).toEqual({ shipped: 3, dropped: { rejected: 1 } });
    expect(reports.map((report) => report.message)).toContain('Elasticsearch refused log documents, they are dropped');
    expect(shipper.stats().heldBytes).toBe(0);
  });

  it('retries a whole batch on 429/5xx/network failure with the same lines', async () => {
    const { sent, transport } = scriptedTransport([
      () => ({ kind: 'retryable', status: 503, reason: '503' }),
      () => ({ kind: 'retryable', reason: 'ECONNREFUSED' }),
      () => ({ kind: 'retryable', status: 429, reason: '429' }),
    ]);
    const { shipper, counted, reports } = countingShipper({ transport });
    shipper.write(line(1));
    shipper.write(line(2));
    await shipper.flush(5_000);
    expect(sent).toHaveLength(4);
    expect(new Set(sent.map((batch) => batch.join()))).toEqual(new Set([[line(1).trimEnd(), line(2).trimEnd()].join()]));
    expect(counted).toEqual({ shipped: 2, dropped: {} });
    expect(reports.map((report) => report.level)).toEqual(['warn', 'info']);
  });

  it('drops a batch whose request is refused as a whole (4xx) and says so', async () => {
    const { transport } = scriptedTransport([() => ({ kind: 'rejected', status: 401, reason: '401 security_exception' })]);
    const { shipper, counted, reports } = countingShipper({ transport });
    shipper.write(line(1));
    await shipper.flush(5_000);
    expect(counted.dropped).toEqual({ rejected: 1 });
    expect(reports[0]).toMatchObject({ level: 'error', message: 'Elasticsearch refused a bulk request, its lines are dropped' });
  });

  it('drops everything when the response has a different number of items than lines sent', async () => {
    const { transport } = scriptedTransport([() => ({ kind: 'response', items: [{ status: 201 }] })]);
    const { shipper, counted } = countingShipper({ transport });
    shipper.write(line(1));
    shipper.write(line(2));
    await shipper.flush(5_000);
    expect(counted).toEqual({ shipped: 0, dropped: { bad_response: 2 } });
  });

  it('holds at most maxBufferBytes: lines beyond are dropped as buffer_full, one report per episode', async () => {
    let available = false;
    const { transport } = scriptedTransport();
    const gated = {
      send: (body: Uint8Array | string): Promise<BulkAttempt> =>
        available ? transport.send(body) : Promise.resolve({ kind: 'retryable', reason: 'down' }),
    };
    const lineBytes = utf8Length(line(0, 100)) + '{"create":{}}\n'.length;
    const { shipper, counted, reports } = countingShipper({ transport: gated, maxBufferBytes: lineBytes * 10, maxBatchLines: 4 });
    for (let n = 0; n < 25; n++) shipper.write(line(n, 100));
    expect(shipper.stats().heldBytes).toBeLessThanOrEqual(lineBytes * 10);
    expect(counted.dropped).toEqual({ buffer_full: 15 });
    expect(reports.filter((report) => report.message.startsWith('log buffer full'))).toHaveLength(1);
    available = true;
    await shipper.flush(5_000);
    expect(counted.shipped).toBe(10);
    shipper.write(line(99));
    expect(reports.some((report) => report.message === 'log buffer accepts lines again')).toBe(true);
  });

  it('drops a single line bigger than a batch as too_large', () => {
    const { transport } = scriptedTransport();
    const { shipper, counted } = countingShipper({ transport, maxBatchBytes: 100 });
    shipper.write(line(1, 200));
    expect(counted.dropped).toEqual({ too_large: 1 });
  });

  it('close() gives up at its deadline and counts what is left as shutdown', async () => {
    const { transport } = scriptedTransport(Array.from({ length: 1000 }, () => () => ({ kind: 'retryable', reason: 'down' })));
    const { shipper, counted } = countingShipper({ transport });
    for (let n = 0; n < 5; n++) shipper.write(line(n));
    await shipper.close(100);
    expect(counted.dropped).toEqual({ shutdown: 5 });
    shipper.write(line(6));
    expect(counted.dropped).toEqual({ shutdown: 6 });
    expect(shipper.stats().heldBytes).toBe(0);
  });

  it('on-demand mode ships only when flushed, and keeps unsent lines for the next flush', async () => {
    let down = true;
    const { sent, transport } = scriptedTransport();
    const gated = {
      send: (body: Uint8Array | string): Promise<BulkAttempt> =>
        down ? Promise.resolve({ kind: 'retryable', reason: 'down' }) : transport.send(body),
    };
    const { shipper, counted } = countingShipper({ transport: gated, mode: 'on-demand', flushIntervalMs: 1 });
    shipper.write(line(1));
    shipper.write(line(2));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(sent).toHaveLength(0);
    await shipper.flush(50);
    expect(shipper.stats().queuedLines).toBe(2);
    down = false;
    shipper.write(line(3));
    await shipper.flush(5_000);
    expect(sent.flat()).toEqual([1, 2, 3].map((n) => line(n).trimEnd()));
    expect(counted).toEqual({ shipped: 3, dropped: {} });
  });

  it('an on-demand flush ships what was queued when it began; lines written meanwhile wait for the next flush', async () => {
    const { sent, transport } = scriptedTransport();
    let release: (() => void) | undefined;
    const held = {
      send: async (body: Uint8Array | string): Promise<BulkAttempt> => {
        if (sent.length === 0) await new Promise<void>((resolve) => (release = resolve));
        return transport.send(body);
      },
    };
    const { shipper, counted } = countingShipper({ transport: held, mode: 'on-demand' });
    shipper.write(line(1));
    shipper.write(line(2));
    const first = shipper.flush(5_000);
    await new Promise((resolve) => setImmediate(resolve));
    shipper.write(line(3));
    release!();
    await first;
    expect(sent).toEqual([[1, 2].map((n) => line(n).trimEnd())]);
    expect(shipper.stats().queuedLines).toBe(1);
    await shipper.flush(5_000);
    expect(sent.flat()).toEqual([1, 2, 3].map((n) => line(n).trimEnd()));
    expect(counted).toEqual({ shipped: 3, dropped: {} });
  });

  it('never throws into the writer; a transport that throws is retried like a network failure', async () => {
    let calls = 0;
    const transport = {
      send: (body: Uint8Array | string): Promise<BulkAttempt> =>
        ++calls < 3 ? Promise.reject(new Error('transport bug')) : Promise.resolve(created(documents(body))),
    };
    const { shipper, counted, reports } = countingShipper({ transport });
    expect(() => shipper.write(line(1))).not.toThrow();
    await shipper.flush(5_000);
    expect(counted).toEqual({ shipped: 1, dropped: {} });
    expect(reports[0]?.message).toBe('shipping logs to Elasticsearch failed, retrying with backoff');
  });

  it('attachCounters adds what was counted before it, then counts on', async () => {
    const { transport } = scriptedTransport();
    const shipper = new LogShipper({ transport, mode: 'background', maxBatchBytes: 100 });
    shipper.write(line(1));
    shipper.write(line(2, 200)); // too large
    await shipper.flush(5_000);
    const counted = { shipped: 0, dropped: {} as Partial<Record<DropReason, number>> };
    shipper.attachCounters({
      shipped: (count) => (counted.shipped += count),
      dropped: (reason, count) => (counted.dropped[reason] = (counted.dropped[reason] ?? 0) + count),
    });
    expect(counted).toEqual({ shipped: 1, dropped: { too_large: 1 } });
    shipper.write(line(3));
    await shipper.flush(5_000);
    expect(counted.shipped).toBe(2);
  });

  it('flush() returns at its deadline even while a request hangs', async () => {
    const hanging = { send: (): Promise<BulkAttempt> => new Promise(() => {}) };
    const { shipper } = countingShipper({ transport: hanging });
    shipper.write(line(1));
    // Resolving at all is the point: the request never answers.
    await shipper.flush(100);
    expect(shipper.stats().heldBytes).toBeGreaterThan(0);
  });
});
