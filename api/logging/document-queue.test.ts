import { describe, expect, it } from 'vitest';
import { actionBytes, type Batch, DocumentQueue, pickDocuments } from './document-queue.js';
import { bulkBody } from './shipper.js';

const text = (batch: Batch) => new TextDecoder().decode(batch.body);

function push(queue: DocumentQueue, line: string): number {
  const bytes = queue.encode(line);
  queue.commit();
  return bytes;
}

describe('DocumentQueue', () => {
  it('encodes documents across chunks into the same body bulkBody builds, with exact UTF-8 sizes', () => {
    const queue = new DocumentQueue();
    const lines = Array.from({ length: 400 }, (_, n) => `{"n":${n},"text":"${'é€😀'.repeat(n % 7)}${'x'.repeat(n * 3)}"}\n`);
    lines.push('{"no":"newline"}');
    let total = 0;
    for (const line of lines) {
      const bytes = push(queue, line);
      expect(bytes).toBe(new TextEncoder().encode(bulkBody([line])).length);
      total += bytes;
    }
    expect(queue.bytes).toBe(total);
    expect(queue.bytes).toBeGreaterThan(3 * 64 * 1024);
    const batches: Batch[] = [];
    for (let batch = queue.take(150, 1 << 30); batch; batch = queue.take(150, 1 << 30)) batches.push(batch);
    expect(batches.map((batch) => batch.ends.length)).toEqual([150, 150, 101]);
    expect(batches.map(text).join('')).toBe(bulkBody(lines));
    expect(queue.lines).toBe(0);
    expect(queue.bytes).toBe(0);
  });

  it('cuts by bytes (always at least one document), puts back in order, and discards an uncommitted encode', () => {
    const queue = new DocumentQueue();
    for (const n of [1, 2, 3]) push(queue, `{"n":${n}}\n`);
    queue.encode('{"n":"never committed"}\n');
    const size = actionBytes + '{"n":1}\n'.length;
    const first = queue.take(10, size * 2)!;
    expect(text(first)).toBe(bulkBody(['{"n":1}\n', '{"n":2}\n']));
    queue.putBack(first);
    push(queue, '{"n":4}\n');
    expect(text(queue.take(10, 1)!)).toBe(bulkBody(['{"n":1}\n']));
    expect(text(queue.take(10, 1 << 20)!)).toBe(bulkBody(['{"n":2}\n', '{"n":3}\n', '{"n":4}\n']));
    expect(queue.take(10, 1 << 20)).toBeUndefined();
  });

  it('writes emptied chunks again without mixing old bytes into new batches', () => {
    const queue = new DocumentQueue();
    for (let cycle = 0; cycle < 6; cycle++) {
      // Different line sizes each cycle, so a reused chunk's old ends and bytes would show up if kept.
      const lines = Array.from(
        { length: 300 + cycle * 40 },
        (_, n) => `{"cycle":${cycle},"n":${n},"pad":"${'y'.repeat((n * (cycle + 3)) % 900)}"}\n`,
      );
      for (const line of lines) push(queue, line);
      expect(queue.bytes).toBeGreaterThan(2 * 64 * 1024);
      const batches: Batch[] = [];
      for (let batch = queue.take(97, 1 << 30); batch; batch = queue.take(97, 1 << 30)) batches.push(batch);
      expect(batches.map(text).join('')).toBe(bulkBody(lines));
      for (const batch of batches) expect(batch.ends.at(-1)).toBe(batch.body.length);
      expect(queue.lines).toBe(0);
    }
  });

  it('picks documents of a batch (the ones Elasticsearch refused with 429)', () => {
    const queue = new DocumentQueue();
    for (const n of [0, 1, 2, 3]) push(queue, `{"n":${n}}\n`);
    const picked = pickDocuments(queue.take(10, 1 << 20)!, [1, 3]);
    expect(text(picked)).toBe(bulkBody(['{"n":1}\n', '{"n":3}\n']));
    expect(picked.ends).toEqual([picked.ends[0], picked.body.length]);
  });
});
