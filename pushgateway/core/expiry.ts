// Time-ordered expiry without scanning: keys live in a Map in the order of their last touch. JavaScript
// Maps iterate in insertion order and `delete` + `set` moves a key to the end, so with one fixed lifetime
// the oldest entry is always first: expiring is popping from the front — O(1) per touch, O(expired) per sweep.
// A clock that steps backwards only delays expiry of the entries touched after it; nothing expires early.

export class ExpiryQueue<K> {
  readonly #lastTouchMs = new Map<K, number>();

  /** @param lifetimeMs how long a key lives after its last touch; 0 or less = forever. */
  constructor(readonly lifetimeMs: number) {}

  get size(): number {
    return this.#lastTouchMs.size;
  }

  /** Records that `key` was used at `nowMs` (moving it to the young end). */
  touch(key: K, nowMs: number): void {
    this.#lastTouchMs.delete(key);
    this.#lastTouchMs.set(key, nowMs);
  }

  forget(key: K): void {
    this.#lastTouchMs.delete(key);
  }

  clear(): void {
    this.#lastTouchMs.clear();
  }

  /** Whether `key` is present and not expired at `nowMs`. */
  isLive(key: K, nowMs: number): boolean {
    const touched = this.#lastTouchMs.get(key);
    return touched !== undefined && !this.#expired(touched, nowMs);
  }

  /** Removes and returns every key expired at `nowMs`, oldest first. */
  popExpired(nowMs: number): K[] {
    const expired: K[] = [];
    if (this.lifetimeMs <= 0) return expired;
    for (const [key, touched] of this.#lastTouchMs) {
      if (!this.#expired(touched, nowMs)) break;
      this.#lastTouchMs.delete(key);
      expired.push(key);
    }
    return expired;
  }

  /** Removes and returns the oldest key (for callers that bound their size). */
  popOldest(): K | undefined {
    for (const key of this.#lastTouchMs.keys()) {
      this.#lastTouchMs.delete(key);
      return key;
    }
    return undefined;
  }

  /** Entries oldest first, for snapshots. */
  entries(): IterableIterator<[K, number]> {
    return this.#lastTouchMs.entries();
  }

  #expired(touchedMs: number, nowMs: number): boolean {
    return this.lifetimeMs > 0 && nowMs - touchedMs >= this.lifetimeMs;
  }
}

/**
 * When a group disappears under GATEWAY_GROUP_TTL_SECONDS (undefined when there is no TTL): any push attempt,
 * refused ones included, keeps a group alive, as every store expires them.
 */
export function groupExpiresAtMs(group: { lastPushMs: number; lastFailureMs: number }, ttlMs: number): number | undefined {
  return ttlMs > 0 ? Math.max(group.lastPushMs, group.lastFailureMs) + ttlMs : undefined;
}
