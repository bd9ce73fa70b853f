// Exactly once for OTLP DELTA points, without an idempotency header. A delta point covers the window
// [start_time_unix_nano, time_unix_nano) of one stream (resource + scope + metric + attributes), and one SDK's
// windows for a stream follow each other without gaps or overlaps. So the last applied window of each stream is
// enough to judge a point:
// - the same window again: a retry of what was applied (the answer was lost) — a replay, not applied again;
// - a window starting at or after the last one's end: new data (a gap is an SDK restart or a lost export) — applied;
// - anything else overlaps what was applied, or comes before it (an export overtaken by its successor, which from
//   one SDK means a retry of something already applied or given up on): refused, since applying it could count
//   twice and nothing tells which.
// Limits: two SDK instances with the same resource (no service.instance.id and no attribute telling them apart)
// share their streams, so their windows overlap and one of them is refused; this state is bounded (the oldest
// stream is forgotten first, counted) and forgotten after the group TTL, after which a very late retry is applied
// again.
import { ExpiryQueue } from './expiry.js';

export interface DeltaWindow {
  startNs: bigint;
  endNs: bigint;
}

export type WindowVerdict = 'apply' | 'replay' | 'overlap';

export function judgeWindow(last: DeltaWindow | undefined, next: DeltaWindow): WindowVerdict {
  if (!last) return 'apply';
  if (next.startNs === last.startNs && next.endNs === last.endNs) return 'replay';
  if (next.startNs >= last.endNs) return 'apply';
  return 'overlap';
}

/**
 * Heap bytes one remembered stream is charged in DeltaWindows (its 22-character digest, two 64-bit times, the
 * entries of two Maps): about 190 were measured on Node 24 after GC with 200,000 streams, the rest is headroom.
 * GATEWAY_MAX_OTLP_STREAM_BYTES becomes a stream count with it.
 */
export const STREAM_HEAP_BYTES = 240;
/** 32 MiB: about 140,000 streams. */
export const DEFAULT_MAX_OTLP_STREAM_BYTES = 32 * 1024 * 1024;

export function streamsFor(maxBytes: number): number {
  return Math.max(1, Math.floor(maxBytes / STREAM_HEAP_BYTES));
}

/**
 * A stream's stored identity: SHA-256 (Web Crypto, Node and workerd alike) of its identity text cut to 128 bits,
 * base64url — the same size whatever the resource holds, so the state is bounded by a count. Two of 10^9 live
 * streams collide (one taken for the other's replay) with a chance of about 10^-21.
 */
export async function streamDigest(identity: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(identity)));
  let binary = '';
  for (let i = 0; i < 16; i++) binary += String.fromCharCode(digest[i]!);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/**
 * streamDigest with a cache: an SDK exports the same streams every interval, and Web Crypto costs ~56 µs per digest
 * on Node 24 (most of OTLP ingest before this cache), a Map lookup well under 1 µs. Bounded by the UTF-16 length of
 * the identities it holds (about 2 bytes per unit), the oldest forgotten first.
 */
export class StreamDigests {
  readonly #digests = new Map<string, string>();
  #units = 0;

  constructor(readonly maxUnits = 2 * 1024 * 1024) {}

  get size(): number {
    return this.#digests.size;
  }

  async digest(identity: string): Promise<string> {
    const cached = this.#digests.get(identity);
    if (cached !== undefined) return cached;
    const digest = await streamDigest(identity);
    if (identity.length > this.maxUnits) return digest;
    this.#digests.set(identity, digest);
    this.#units += identity.length;
    for (const oldest of this.#digests.keys()) {
      if (this.#units <= this.maxUnits) break;
      this.#digests.delete(oldest);
      this.#units -= oldest.length;
    }
    return digest;
  }
}

export interface RememberedWindow extends DeltaWindow {
  stream: string;
  /** Unix ms the window was applied (its TTL runs from there). */
  appliedMs: number;
}

/** The last applied window per stream, bounded by a count and forgotten `lifetimeMs` after its last apply. */
export class DeltaWindows {
  readonly #windows = new Map<string, DeltaWindow>();
  readonly #activity: ExpiryQueue<string>;
  #evictedEarly = 0;

  constructor(
    readonly maxStreams: number,
    lifetimeMs: number,
  ) {
    this.#activity = new ExpiryQueue(lifetimeMs);
  }

  get size(): number {
    return this.#windows.size;
  }

  /** Streams forgotten before their TTL because `maxStreams` was reached. */
  get evictedEarly(): number {
    return this.#evictedEarly;
  }

  last(stream: string, nowMs: number): DeltaWindow | undefined {
    this.#expire(nowMs);
    return this.#windows.get(stream);
  }

  record(stream: string, window: DeltaWindow, nowMs: number): void {
    this.#expire(nowMs);
    this.#windows.set(stream, { startNs: window.startNs, endNs: window.endNs });
    this.#activity.touch(stream, nowMs);
    while (this.#windows.size > this.maxStreams) {
      const oldest = this.#activity.popOldest();
      if (oldest === undefined) break;
      this.#windows.delete(oldest);
      this.#evictedEarly++;
    }
  }

  clear(): void {
    this.#windows.clear();
    this.#activity.clear();
  }

  /** Live windows oldest first, for snapshots. */
  export(nowMs: number): RememberedWindow[] {
    this.#expire(nowMs);
    return [...this.#activity.entries()].map(([stream, appliedMs]) => ({ stream, appliedMs, ...this.#windows.get(stream)! }));
  }

  import(windows: readonly RememberedWindow[]): void {
    for (const { stream, appliedMs, startNs, endNs } of [...windows].sort((a, b) => a.appliedMs - b.appliedMs)) {
      this.#windows.set(stream, { startNs, endNs });
      this.#activity.touch(stream, appliedMs);
    }
    while (this.#windows.size > this.maxStreams) this.#windows.delete(this.#activity.popOldest()!);
  }

  #expire(nowMs: number): void {
    for (const stream of this.#activity.popExpired(nowMs)) this.#windows.delete(stream);
  }
}
