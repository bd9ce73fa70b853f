// The shipper's queue: `_bulk` documents (action line + log line) encoded into UTF-8 as they arrive, into
// chunks of bytes. A line held as a string for up to a flush interval survives young-generation collections
// and gets copied into the old generation, one object per line; encoded at once, the string dies young and
// the queue is a few large byte arrays. Encoding also yields the byte length, so it is never computed twice.
// Emptied chunks are kept (up to `spareBytes`) and written again: a new 64 KiB ArrayBuffer per 64 KiB of log
// lines is external memory V8 counts towards its next full collection (with --trace-gc, a shipping server ran
// 3–4 more Mark-Compacts than the same server without shipping).
// Plain Uint8Array and TextEncoder, so the same queue runs on Node and on workerd.

/** One bulk request's documents: the NDJSON body and where each document ends in it. */
export interface Batch {
  body: Uint8Array<ArrayBuffer>;
  ends: number[];
}

interface Chunk {
  bytes: Uint8Array<ArrayBuffer>;
  used: number;
  /** End offset of each document in `bytes`. */
  ends: number[];
  /** Index of the first document not yet taken. */
  head: number;
}

// Every document goes into the data stream named in the URL, and data streams accept only `create`.
const actionLine = new TextEncoder().encode('{"create":{}}\n');
export const actionBytes = actionLine.length;
const newline = 10;
const chunkBytes = 64 * 1024;
/** Emptied chunks kept for reuse: one default batch (2 MiB) worth, so a steady flow allocates none. */
const spareBytes = 2 * 1024 * 1024;
const encoder = new TextEncoder();

function startOf(chunk: Chunk, index: number): number {
  return index === 0 ? 0 : chunk.ends[index - 1]!;
}

export class DocumentQueue {
  #chunks: Chunk[] = [];
  /** Emptied chunks of `chunkBytes`, ready to be written again. */
  #spares: Chunk[] = [];
  #lines = 0;
  #bytes = 0;
  /** Bytes of the document `encode` left after the tail chunk's data, waiting for `commit` or to be overwritten. */
  #pending = 0;

  get lines(): number {
    return this.#lines;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Encodes `line` as the next document (action line, the line, a final newline if it has none) without
   * queueing it yet; returns its size in bytes. `commit()` queues it; anything else discards it.
   */
  encode(line: string): number {
    const needsNewline = line.charCodeAt(line.length - 1) !== newline;
    let tail = this.#chunks.at(-1);
    for (;;) {
      if (tail && tail.bytes.length - tail.used > actionBytes) {
        const room = tail.bytes.subarray(tail.used + actionBytes);
        const { read, written } = encoder.encodeInto(line, room);
        if (read === line.length && (!needsNewline || written < room.length)) {
          tail.bytes.set(actionLine, tail.used);
          if (needsNewline) room[written] = newline;
          this.#pending = actionBytes + written + (needsNewline ? 1 : 0);
          return this.#pending;
        }
      }
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      const size = actionBytes + line.length * 3 + 1;
      tail = (size <= chunkBytes ? this.#spares.pop() : undefined) ?? {
        bytes: new Uint8Array(Math.max(chunkBytes, size)),
        used: 0,
        ends: [],
        head: 0,
      };
      this.#chunks.push(tail);
    }
  }

  /** Queues the document `encode` just wrote. */
  commit(): void {
    const tail = this.#chunks.at(-1)!;
    tail.used += this.#pending;
    tail.ends.push(tail.used);
    this.#lines++;
    this.#bytes += this.#pending;
    this.#pending = 0;
  }

  /** Up to `maxLines` documents and `maxBytes` bytes (at least one document), oldest first; undefined when empty. */
  take(maxLines: number, maxBytes: number): Batch | undefined {
    if (this.#lines === 0) return undefined;
    // Count first, then copy into one body: the chunks are reused while the batch is in flight.
    let lines = 0;
    let bytes = 0;
    counting: for (const chunk of this.#chunks) {
      for (let index = chunk.head; index < chunk.ends.length; index++) {
        const size = chunk.ends[index]! - startOf(chunk, index);
        if (lines === maxLines || (lines > 0 && bytes + size > maxBytes)) break counting;
        lines++;
        bytes += size;
      }
    }
    const body = new Uint8Array(bytes);
    const ends: number[] = [];
    let offset = 0;
    while (ends.length < lines) {
      const chunk = this.#chunks[0]!;
      const from = startOf(chunk, chunk.head);
      const last = Math.min(chunk.ends.length, chunk.head + lines - ends.length);
      for (let index = chunk.head; index < last; index++) ends.push(offset + chunk.ends[index]! - from);
      const to = startOf(chunk, last);
      body.set(chunk.bytes.subarray(from, to), offset);
      offset += to - from;
      chunk.head = last;
      if (chunk.head === chunk.ends.length) {
        if (this.#chunks.length > 1) this.#retire(this.#chunks.shift()!);
        else {
          // The only chunk, now empty: written from the start again.
          chunk.used = 0;
          chunk.ends = [];
          chunk.head = 0;
        }
      }
    }
    this.#lines -= lines;
    this.#bytes -= bytes;
    return { body, ends };
  }

  /** Keeps an emptied chunk of the standard size for reuse (it was copied out, nothing refers to its bytes). */
  #retire(chunk: Chunk): void {
    if (chunk.bytes.length !== chunkBytes || (this.#spares.length + 1) * chunkBytes > spareBytes) return;
    chunk.used = 0;
    chunk.ends = [];
    chunk.head = 0;
    this.#spares.push(chunk);
  }

  /** Back at the front, so order holds and the next take ships them first. */
  putBack(batch: Batch): void {
    if (batch.ends.length === 0) return;
    this.#chunks.unshift({ bytes: batch.body, used: batch.body.length, ends: batch.ends, head: 0 });
    this.#lines += batch.ends.length;
    this.#bytes += batch.body.length;
  }

  /** Drops everything queued; returns how many documents that was. */
  clear(): number {
    const lines = this.#lines;
    this.#chunks = [];
    this.#lines = 0;
    this.#bytes = 0;
    return lines;
  }
}

/** The documents of `batch` at `indexes` (ascending), as a batch of their own. */
export function pickDocuments(batch: Batch, indexes: readonly number[]): Batch {
  let bytes = 0;
  for (const index of indexes) bytes += batch.ends[index]! - (index === 0 ? 0 : batch.ends[index - 1]!);
  const body = new Uint8Array(bytes);
  const ends: number[] = [];
  let offset = 0;
  for (const index of indexes) {
    const from = index === 0 ? 0 : batch.ends[index - 1]!;
    const to = batch.ends[index]!;
    body.set(batch.body.subarray(from, to), offset);
    offset += to - from;
    ends.push(offset);
  }
  return { body, ends };
}
