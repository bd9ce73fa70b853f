// The log shipper: a byte-bounded buffer of serialized log lines, cut into `_bulk` batches by size and time,
// shipped with retries. Runtime-free (no Node or Workers API): the wire is a `BulkTransport`
// (`@elastic/elasticsearch` on Node, `fetch` on Workers), the clock and timers are the standard ones.
//
// Two driving modes share every rule:
// - `background` (Node): a write that fills a batch, or the flush interval, starts the one drain loop; it runs
//   until the buffer is empty, so batches grow with load (lines written during a request ride the next one).
// - `on-demand` (Workers): nothing runs between requests — an isolate may be frozen or evicted once its
//   `waitUntil` promises settle — so each `flush()` (called in `waitUntil`) drains on its own, within a deadline.
//   Lines it could not ship by then go back to the buffer for the next flush, not to the floor.

import { actionBytes, type Batch, DocumentQueue, pickDocuments } from './document-queue.js';

export interface BulkItemResult {
  status: number;
  error?: { type?: string; reason?: string };
}

/** What one `_bulk` request came to. */
export type BulkAttempt =
  /** Elasticsearch answered 2xx: one result per document, in order. */
  | { kind: 'response'; items: BulkItemResult[] }
  /** Nothing certain was stored and a retry may work: 429, 5xx, timeout, connection refused/reset. */
  | { kind: 'retryable'; status?: number; reason: string }
  /** The request itself was refused (4xx other than 429: auth, bad URL, too large): retrying cannot help. */
  | { kind: 'rejected'; status: number; reason: string };

export interface BulkTransport {
  /** Posts an NDJSON `_bulk` body (action and source lines, UTF-8) into the data stream. Never throws. */
  send(body: Uint8Array<ArrayBuffer> | string): Promise<BulkAttempt>;
}

export type DropReason = 'buffer_full' | 'rejected' | 'too_large' | 'shutdown' | 'bad_response';

export interface ShipperCounters {
  shipped(count: number): void;
  dropped(reason: DropReason, count: number): void;
}

/** Where the shipper says what went wrong. Must not write back into the shipper. */
export type ShipperReport = (level: 'warn' | 'error' | 'info', message: string, fields: Record<string, unknown>) => void;

/** Batching and backoff knobs that tests and benchmarks tune beyond the configuration. */
export type ShipperTuning = Partial<Pick<ShipperOptions, 'maxBatchBytes' | 'maxBatchLines' | 'minBackoffMs' | 'maxBackoffMs'>>;

export interface ShipperOptions {
  transport: BulkTransport;
  mode: 'background' | 'on-demand';
  /** A batch is sent once it holds this many bytes of documents (default 2 MiB). */
  maxBatchBytes?: number;
  /** …or this many lines (default 5000). */
  maxBatchLines?: number;
  /** …or when its first line is this old (background mode; default 1000 ms). */
  flushIntervalMs?: number;
  /** Bytes the shipper may hold, queued plus in flight; lines beyond are dropped and counted (default 32 MiB). */
  maxBufferBytes?: number;
  /** Backoff between retries: doubling from `minBackoffMs` up to `maxBackoffMs`, with jitter (250 ms … 30 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  counters?: ShipperCounters;
  report?: ShipperReport;
}

export interface ShipperStats {
  queuedLines: number;
  heldBytes: number;
  shipped: number;
  dropped: Record<DropReason, number>;
}

export class LogShipper {
  readonly #transport: BulkTransport;
  readonly #mode: 'background' | 'on-demand';
  readonly #maxBatchBytes: number;
  readonly #maxBatchLines: number;
  readonly #flushIntervalMs: number;
  readonly #maxBufferBytes: number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  #counters: ShipperCounters | undefined;
  readonly #report: ShipperReport;

  readonly #queue = new DocumentQueue();
  /** Queued plus in-flight bytes: what the cap bounds. */
  #heldBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #drain: Promise<void> | undefined;
  /** Background mode: the drain gives up (putting its batch back) past this instant; lowered by flush(). */
  #deadline = Number.POSITIVE_INFINITY;
  #wakers = new Set<() => void>();
  #closed = false;
  #failingSince: number | undefined;
  #bufferFullSince: number | undefined;
  #droppedWhileFull = 0;
  #stats: ShipperStats = {
    queuedLines: 0,
    heldBytes: 0,
    shipped: 0,
    dropped: { buffer_full: 0, rejected: 0, too_large: 0, shutdown: 0, bad_response: 0 },
  };

  constructor(options: ShipperOptions) {
    this.#transport = options.transport;
    this.#mode = options.mode;
    this.#maxBatchBytes = options.maxBatchBytes ?? 2 * 1024 * 1024;
    this.#maxBatchLines = options.maxBatchLines ?? 5000;
    this.#flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.#maxBufferBytes = options.maxBufferBytes ?? 32 * 1024 * 1024;
    this.#minBackoffMs = options.minBackoffMs ?? 250;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#counters = options.counters;
    this.#report = options.report ?? (() => {});
  }

  /**
   * Takes one serialized log line (pino calls this as a destination stream). Synchronous and allocation-light:
   * the line is encoded into the queue's bytes, never parsed; sending happens later, off the caller's path.
   */
  write(line: string): boolean {
    if (this.#closed) {
      this.#drop('shutdown', 1);
      return true;
    }
    // UTF-8 is at least as long as UTF-16: a line too large as a string is never encoded.
    const bytes = line.length + actionBytes > this.#maxBatchBytes ? line.length + actionBytes : this.#queue.encode(line);
    if (bytes > this.#maxBatchBytes) {
      this.#drop('too_large', 1);
      this.#report('warn', 'log line larger than a whole bulk batch, dropped', { 'log_shipper.line_bytes': bytes });
      return true;
    }
    if (this.#heldBytes + bytes > this.#maxBufferBytes) {
      this.#dropForFullBuffer();
      return true;
    }
    if (this.#bufferFullSince !== undefined) this.#leaveFullBuffer();
    this.#queue.commit();
    this.#heldBytes += bytes;
    if (this.#mode === 'background') {
      if (this.#queue.bytes >= this.#maxBatchBytes || this.#queue.lines >= this.#maxBatchLines) this.#kick();
      else if (this.#timer === undefined && this.#drain === undefined) this.#startTimer();
    }
    return true;
  }

  /**
   * Ships everything buffered now, retrying within `timeoutMs`. Background mode: hurries the running drain.
   * On-demand mode: drains on its own (each `waitUntil` gets its own loop). Lines still unsent at the deadline
   * stay buffered. Never rejects.
   */
  async flush(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (this.#mode === 'on-demand') {
      // What was queued when the flush began; lines written while it runs belong to the caller's next window
      // (otherwise, under load, each bulk request would carry just the lines of the previous one's round trip).
      await this.#runDrain(() => deadline, this.#queue.lines);
      return;
    }
    this.#clearTimer();
    this.#deadline = Math.min(this.#deadline, deadline);
    this.#wake();
    try {
      while (Date.now() < deadline) {
        // A request to a hung server can outlive the deadline (up to its own timeout): do not wait for it.
        if (this.#drain) await raceDeadline(this.#drain, deadline);
        else if (this.#queuedLines() > 0) this.#kick();
        else break;
      }
    } finally {
      this.#deadline = this.#closed ? this.#deadline : Number.POSITIVE_INFINITY;
      if (!this.#closed && this.#queuedLines() > 0 && this.#drain === undefined) this.#startTimer();
    }
  }

  /** Flushes within `timeoutMs`, then counts whatever is left as dropped (`shutdown`). Later writes are dropped. */
  async close(timeoutMs = 10_000): Promise<void> {
    await this.flush(timeoutMs);
    this.#closed = true;
    this.#clearTimer();
    // A drain backing off puts its batch back as soon as it wakes; one waiting on a hung request is left to it.
    this.#wake();
    if (this.#drain) await raceDeadline(this.#drain, Date.now() + 1_000);
    const left = this.#queue.lines;
    if (left > 0) {
      this.#heldBytes -= this.#queue.bytes;
      this.#queue.clear();
      this.#drop('shutdown', left);
      this.#report('error', 'log shipper closed with unsent lines', { 'log_shipper.dropped': left });
    }
  }

  /**
   * Counts into `counters` from now on, first adding what was counted before (the logger exists before the
   * metrics registry that holds the counters, and its first lines must not go uncounted).
   */
  attachCounters(counters: ShipperCounters): void {
    this.#counters = counters;
    if (this.#stats.shipped > 0) counters.shipped(this.#stats.shipped);
    for (const [reason, count] of Object.entries(this.#stats.dropped) as Array<[DropReason, number]>)
      if (count > 0) counters.dropped(reason, count);
  }

  /** Bytes of lines waiting to be sent (not in flight): what a flush on size looks at. Cheaper than stats(). */
  get queuedBytes(): number {
    return this.#queue.bytes;
  }

  stats(): ShipperStats {
    return {
      ...this.#stats,
      queuedLines: this.#queuedLines(),
      heldBytes: this.#heldBytes,
      dropped: { ...this.#stats.dropped },
    };
  }

  #queuedLines(): number {
    return this.#queue.lines;
  }

  #startTimer(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#kick();
    }, this.#flushIntervalMs);
    // Node: a pending flush must not keep the process alive; shutdown flushes explicitly.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #kick(): void {
    this.#clearTimer();
    if (this.#drain) return;
    this.#drain = this.#runDrain(() => this.#deadline).finally(() => {
      this.#drain = undefined;
      if (!this.#closed && this.#queuedLines() > 0 && this.#deadline === Number.POSITIVE_INFINITY) this.#startTimer();
    });
  }

  /** Ships batch after batch; with `lines`, stops once that many lines went out (an on-demand flush's share). */
  async #runDrain(deadline: () => number, lines?: number): Promise<void> {
    let budget = lines ?? Number.POSITIVE_INFINITY;
    const more = () => (lines === undefined ? this.#shipMoreNow(deadline()) : budget > 0);
    try {
      for (let batch = budget > 0 ? this.#takeBatch() : undefined; batch; batch = more() ? this.#takeBatch() : undefined) {
        budget -= batch.ends.length;
        const left = await this.#ship(batch, deadline);
        if (left) {
          this.#putBack(left);
          return;
        }
      }
    } catch (error) {
      // #ship catches transport failures; anything here is a bug, and logging must still never crash the app.
      this.#report('error', 'log shipper drain failed', { 'error.message': String(error) });
    }
  }

  /**
   * Whether a background drain goes on to the next batch: only for a full batch (or while a flush has set a
   * deadline): what trickles in meanwhile waits for the flush interval. Otherwise, at API
   * rates, every bulk request carried just the few lines written during the previous one (76 lines per
   * request at 830 req/s in `npm run bench`), and the per-request cost dominated shipping.
   */
  #shipMoreNow(deadline: number): boolean {
    if (deadline !== Number.POSITIVE_INFINITY) return true;
    return this.#queue.bytes >= this.#maxBatchBytes || this.#queue.lines >= this.#maxBatchLines;
  }

  #takeBatch(): Batch | undefined {
    return this.#queue.take(this.#maxBatchLines, this.#maxBatchBytes);
  }

  /** Back at the front, so order holds and the next flush ships them first. Still counted in held bytes. */
  #putBack(batch: Batch): void {
    this.#queue.putBack(batch);
  }

  #release(bytes: number): void {
    this.#heldBytes -= bytes;
  }

  /** Sends a batch until every line is stored or finally refused; returns what is left at the deadline. */
  async #ship(initial: Batch, deadline: () => number): Promise<Batch | undefined> {
    let batch = initial;
    let backoff = this.#minBackoffMs;
    for (;;) {
      let attempt: BulkAttempt;
      try {
        attempt = await this.#transport.send(batch.body);
      } catch (error) {
        // Transports answer failures as values; a throw is a bug there, and still no reason to lose the lines.
        attempt = { kind: 'retryable', reason: `transport threw: ${String(error)}` };
      }
      if (attempt.kind === 'rejected') {
        this.#drop('rejected', batch.ends.length);
        this.#release(batch.body.length);
        this.#report('error', 'Elasticsearch refused a bulk request, its lines are dropped', {
          'http.response.status_code': attempt.status,
          'error.message': attempt.reason,
          'log_shipper.dropped': batch.ends.length,
        });
        this.#recovered();
        return undefined;
      }
      if (attempt.kind === 'response') {
        const retry = this.#settleItems(batch, attempt.items);
        if (!retry) {
          this.#recovered();
          return undefined;
        }
        batch = retry;
        this.#failing(`${retry.ends.length} items refused with 429`, 429, retry.ends.length);
      } else {
        this.#failing(attempt.reason, attempt.status, batch.ends.length);
      }
      const jittered = backoff / 2 + Math.random() * (backoff / 2);
      const wait = Math.min(jittered, deadline() - Date.now());
      if (wait <= 0 || this.#closed) return batch;
      // While a flush waits (finite deadline), the backoff timer must keep Node alive until the deadline.
      await this.#sleep(wait, Number.isFinite(deadline()));
      if (Date.now() >= deadline() || this.#closed) return batch;
      backoff = Math.min(backoff * 2, this.#maxBackoffMs);
    }
  }

  /** Counts stored and refused items; returns the 429 ones (Elasticsearch asks to retry those later). */
  #settleItems(batch: Batch, items: BulkItemResult[]): Batch | undefined {
    if (items.length !== batch.ends.length) {
      this.#drop('bad_response', batch.ends.length);
      this.#release(batch.body.length);
      this.#report('error', 'bulk response item count does not match the request, lines dropped', {
        'log_shipper.sent': batch.ends.length,
        'log_shipper.items': items.length,
      });
      return undefined;
    }
    let shipped = 0;
    let rejected = 0;
    let firstRejection: BulkItemResult | undefined;
    const retry: number[] = [];
    for (let index = 0; index < items.length; index++) {
      const status = items[index]!.status;
      if (status >= 200 && status < 300) {
        shipped++;
      } else if (status === 429) {
        retry.push(index);
      } else {
        rejected++;
        firstRejection ??= items[index];
      }
    }
    const retried = retry.length > 0 ? pickDocuments(batch, retry) : undefined;
    this.#release(batch.body.length - (retried?.body.length ?? 0));
    if (shipped > 0) {
      this.#stats.shipped += shipped;
      this.#counters?.shipped(shipped);
    }
    if (rejected > 0) {
      this.#drop('rejected', rejected);
      this.#report('error', 'Elasticsearch refused log documents, they are dropped', {
        'log_shipper.dropped': rejected,
        'http.response.status_code': firstRejection?.status,
        'error.type': firstRejection?.error?.type,
        'error.message': firstRejection?.error?.reason,
      });
    }
    return retried;
  }

  #drop(reason: DropReason, count: number): void {
    this.#stats.dropped[reason] += count;
    this.#counters?.dropped(reason, count);
  }

  #dropForFullBuffer(): void {
    this.#drop('buffer_full', 1);
    this.#droppedWhileFull++;
    if (this.#bufferFullSince === undefined) {
      this.#bufferFullSince = Date.now();
      this.#report('error', 'log buffer full, dropping new log lines until Elasticsearch catches up', {
        'log_shipper.max_buffer_bytes': this.#maxBufferBytes,
      });
    }
  }

  #leaveFullBuffer(): void {
    this.#report('warn', 'log buffer accepts lines again', {
      'log_shipper.dropped': this.#droppedWhileFull,
      'event.duration': (Date.now() - this.#bufferFullSince!) * 1e6,
    });
    this.#bufferFullSince = undefined;
    this.#droppedWhileFull = 0;
  }

  #failing(reason: string, status: number | undefined, lines: number): void {
    if (this.#failingSince !== undefined) return;
    this.#failingSince = Date.now();
    this.#report('warn', 'shipping logs to Elasticsearch failed, retrying with backoff', {
      'error.message': reason,
      'http.response.status_code': status,
      'log_shipper.lines': lines,
    });
  }

  #recovered(): void {
    if (this.#failingSince === undefined) return;
    this.#report('info', 'shipping logs to Elasticsearch recovered', {
      'event.duration': (Date.now() - this.#failingSince) * 1e6,
    });
    this.#failingSince = undefined;
  }

  #sleep(ms: number, keepAlive: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (!keepAlive) (timer as { unref?: () => void }).unref?.();
      this.#wakers.add(done);
    });
  }

  /** Ends backoff sleeps early so a drain re-checks its (possibly lowered) deadline now. */
  #wake(): void {
    for (const wake of [...this.#wakers]) wake();
  }
}

async function raceDeadline(work: Promise<void>, deadline: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
  } finally {
    clearTimeout(timer);
  }
}

const actionLine = '{"create":{}}\n';

/** The body the shipper sends, as a string: pino lines end with `\n` already; each gets its action line in front. */
export function bulkBody(lines: readonly string[]): string {
  let body = '';
  for (const line of lines) body += line.endsWith('\n') ? actionLine + line : `${actionLine + line}\n`;
  return body;
}
