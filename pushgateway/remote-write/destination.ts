// One remote-write receiver: a queue of snapshots bounded in compressed bytes, drained one snapshot at a
// time by several shards sending its batches in parallel.
//
// Why one snapshot at a time: receivers refuse a sample older than the newest one they hold for the same
// series (Prometheus: "out of order sample", a 400). Batches of one snapshot hold disjoint series, so they
// may go in any order; a newer snapshot starts only when the older one is delivered or given up.
//
// Why the OLDEST snapshot is dropped when the queue is full: every snapshot holds the full current value of
// every series, and counters and histograms are cumulative, so a newer snapshot carries everything an older
// one did (rates over the gap stay exact); dropping it loses resolution, never counts. Dropping the newest
// instead would keep the receiver further and further behind.
import { remoteWriteHeaders } from './encode.js';
import { newCounters, type DestinationCounters } from './metrics.js';

export interface Batch {
  body: Uint8Array<ArrayBuffer>;
  samples: number;
}

export interface Snapshot {
  timestampMs: number;
  batches: Batch[];
  bytes: number;
  samples: number;
}

export interface DestinationOptions {
  url: string;
  /** Authorization and extra headers (X-Scope-OrgID…), sent with every request. */
  headers: Record<string, string>;
  maxQueueBytes: number;
  shards: number;
  /** Backoff between retries: doubles from min to max; a Retry-After answer overrides it (capped by maxRetryAfterMs). */
  minBackoffMs: number;
  maxBackoffMs: number;
  maxRetryAfterMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
  userAgent: string;
  fetch: typeof fetch;
  log: { warn(fields: Record<string, unknown>, message: string): void; error(fields: Record<string, unknown>, message: string): void };
}

/** The URL as shown in metrics and logs: no user info, no query (tokens are sometimes passed there). */
export function displayUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

type Attempt =
  | { kind: 'sent' }
  | { kind: 'refused'; status: number; reason: string }
  | { kind: 'retry'; reason: string; retryAfterMs: number | undefined };

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

interface QueuedSnapshot extends Snapshot {
  /** Set when the queue drops this snapshot while its batches are being sent: shards stop retrying it. */
  abandoned: boolean;
  /** Batches not yet sent or given up, counted for samples_pending and for what a drop loses. */
  remainingSamples: number;
  remainingBytes: number;
}

export class Destination {
  readonly url: string;
  readonly counters: DestinationCounters = newCounters();
  private readonly queue: QueuedSnapshot[] = [];
  private draining: Promise<void> | undefined;
  private readonly wakeSleepers = new Set<() => void>();

  constructor(private readonly options: DestinationOptions) {
    this.url = displayUrl(options.url);
  }

  /** Queues a snapshot and starts sending if idle; drops the oldest snapshots that no longer fit. */
  enqueue(snapshot: Snapshot): void {
    const queued: QueuedSnapshot = { ...snapshot, abandoned: false, remainingSamples: snapshot.samples, remainingBytes: snapshot.bytes };
    this.queue.push(queued);
    this.counters.queueBytes += snapshot.bytes;
    this.counters.samplesPending += snapshot.samples;
    while (this.counters.queueBytes > this.options.maxQueueBytes && this.queue.length > 0) {
      const oldest = this.queue.shift()!;
      this.abandon(
        oldest,
        oldest === queued ? 'the snapshot alone is larger than the queue bound' : 'the queue is full; a newer snapshot supersedes it',
      );
    }
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** Resolves when the queue is empty (or `deadlineMs` passes, after which queued snapshots are dropped). */
  async flush(deadlineMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, deadlineMs - Date.now()))));
    try {
      while (this.draining) {
        if ((await Promise.race([this.draining.then(() => 'done' as const), late])) === 'late') {
          this.dropQueued('the flush deadline passed');
          await this.draining;
          return;
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops everything queued (counted as dropped) and ends retries; later snapshots are accepted again. */
  dropQueued(reason: string): void {
    for (const snapshot of this.queue.splice(0)) this.abandon(snapshot, reason);
  }

  private abandon(snapshot: QueuedSnapshot, reason: string): void {
    snapshot.abandoned = true;
    this.counters.samplesDropped += snapshot.remainingSamples;
    this.release(snapshot, snapshot.remainingSamples, snapshot.remainingBytes);
    this.options.log.warn(
      { url: this.url, samples: snapshot.remainingSamples, snapshotTimeMs: snapshot.timestampMs, reason },
      'remote write: snapshot dropped',
    );
    for (const wake of this.wakeSleepers) wake();
  }

  private release(snapshot: QueuedSnapshot, samples: number, bytes: number): void {
    snapshot.remainingSamples -= samples;
    snapshot.remainingBytes -= bytes;
    this.counters.samplesPending -= samples;
    this.counters.queueBytes -= bytes;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const snapshot = this.queue[0]!;
      let next = 0;
      const shard = async () => {
        while (!snapshot.abandoned && next < snapshot.batches.length) await this.deliver(snapshot, snapshot.batches[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(this.options.shards, snapshot.batches.length) }, shard));
      if (this.queue[0] === snapshot) this.queue.shift();
    }
  }

  /** Sends one batch until it is accepted, refused for good, or its snapshot is abandoned. */
  private async deliver(snapshot: QueuedSnapshot, batch: Batch): Promise<void> {
    let backoffMs = this.options.minBackoffMs;
    for (;;) {
      const attempt = await this.attempt(batch);
      if (snapshot.abandoned) {
        // Dropped while this request was in flight, and counted as dropped then; the receiver has it after all.
        if (attempt.kind === 'sent') {
          this.counters.samplesDropped -= batch.samples;
          this.counters.samplesSent += batch.samples;
          this.counters.bytesSent += batch.body.byteLength;
        }
        return;
      }
      if (attempt.kind === 'sent') {
        this.counters.samplesSent += batch.samples;
        this.counters.bytesSent += batch.body.byteLength;
        this.counters.highestSentTimestampSeconds = Math.max(this.counters.highestSentTimestampSeconds, snapshot.timestampMs / 1000);
        this.release(snapshot, batch.samples, batch.body.byteLength);
        return;
      }
      if (attempt.kind === 'refused') {
        this.counters.samplesFailed += batch.samples;
        this.release(snapshot, batch.samples, batch.body.byteLength);
        this.options.log.error(
          { url: this.url, status: attempt.status, samples: batch.samples, reason: attempt.reason },
          'remote write: the receiver refused a batch; not retried',
        );
        return;
      }
      this.counters.samplesRetried += batch.samples;
      const waitMs = attempt.retryAfterMs === undefined ? backoffMs : Math.min(attempt.retryAfterMs, this.options.maxRetryAfterMs);
      this.options.log.warn(
        { url: this.url, samples: batch.samples, reason: attempt.reason, retryInMs: waitMs },
        'remote write: batch will be retried',
      );
      await this.sleep(waitMs);
      if (snapshot.abandoned) return;
      backoffMs = Math.min(backoffMs * 2, this.options.maxBackoffMs);
    }
  }

  private async attempt(batch: Batch): Promise<Attempt> {
    let response: Response;
    try {
      response = await this.options.fetch(this.options.url, {
        method: 'POST',
        headers: { ...this.options.headers, ...remoteWriteHeaders, 'user-agent': this.options.userAgent },
        body: batch.body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      return { kind: 'retry', reason: error instanceof Error ? error.message : String(error), retryAfterMs: undefined };
    }
    if (response.ok) {
      await response.body?.cancel();
      return { kind: 'sent' };
    }
    // The receiver's message says which sample it refused and why (out of order, too old, bad labels).
    const reason = (await response.text().catch(() => '')).slice(0, 512);
    if (response.status >= 500 || response.status === 429) {
      return {
        kind: 'retry',
        reason: `HTTP ${response.status}: ${reason}`,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), Date.now()),
      };
    }
    return { kind: 'refused', status: response.status, reason };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakeSleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeSleepers.add(wake);
    });
  }
}
