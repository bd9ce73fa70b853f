// Remembered Idempotency-Keys: a push whose key was applied within the window is not applied again.
// Keys are scoped to their group (the same key pushed to two groups is two pushes). Memory is bounded:
// past `maxKeys` the oldest key is forgotten early — that shortens the window for the oldest pushes
// under overload instead of growing without limit (counted in `evictedEarly`).
import { ExpiryQueue } from './expiry.js';

/** DESIGN.md: a key applied in the last 10 minutes is not applied again. */
export const IDEMPOTENCY_WINDOW_MS = 10 * 60 * 1000;
/** A generous default: ~830 keyed pushes/s sustained for the whole window, in roughly 75 MB. */
export const DEFAULT_MAX_IDEMPOTENCY_KEYS = 500_000;
/** Keys are opaque; UUIDs and ULIDs fit easily. Longer keys are refused (they would only cost memory). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;

export interface RememberedKey {
  key: string;
  /** Unix ms the push was applied. */
  appliedMs: number;
}

/** Returns a message when a client-supplied key is unusable, else undefined. */
export function checkIdempotencyKey(key: string): string | undefined {
  if (key.length === 0) return 'Idempotency-Key must not be empty';
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) return `Idempotency-Key must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`;
  if (!/^[\x21-\x7e]+$/.test(key)) return 'Idempotency-Key must be printable ASCII without spaces';
  return undefined;
}

/** The stored identity of a key: group and key, so keys of different groups never collide. */
export function scopedIdempotencyKey(groupKey: string, key: string): string {
  return `${groupKey}\u0002${key}`;
}

export class IdempotencyKeys {
  readonly #keys: ExpiryQueue<string>;
  #evictedEarly = 0;

  constructor(
    readonly maxKeys = DEFAULT_MAX_IDEMPOTENCY_KEYS,
    windowMs = IDEMPOTENCY_WINDOW_MS,
  ) {
    this.#keys = new ExpiryQueue(windowMs);
  }

  get size(): number {
    return this.#keys.size;
  }

  /** Keys forgotten before their window ended because `maxKeys` was reached. */
  get evictedEarly(): number {
    return this.#evictedEarly;
  }

  /** Whether `key` was applied within the window. */
  seen(key: string, nowMs: number): boolean {
    this.#keys.popExpired(nowMs);
    return this.#keys.isLive(key, nowMs);
  }

  /** Records `key` as applied at `nowMs`. */
  remember(key: string, nowMs: number): void {
    this.#keys.popExpired(nowMs);
    this.#keys.touch(key, nowMs);
    while (this.#keys.size > this.maxKeys) {
      this.#keys.popOldest();
      this.#evictedEarly++;
    }
  }

  clear(): void {
    this.#keys.clear();
  }

  /** Live keys oldest first, for snapshots. */
  export(nowMs: number): RememberedKey[] {
    this.#keys.popExpired(nowMs);
    return [...this.#keys.entries()].map(([key, appliedMs]) => ({ key, appliedMs }));
  }

  /** Restores keys from a snapshot (expired ones are dropped on the next sweep). */
  import(keys: readonly RememberedKey[]): void {
    for (const { key, appliedMs } of [...keys].sort((a, b) => a.appliedMs - b.appliedMs)) this.#keys.touch(key, appliedMs);
    while (this.#keys.size > this.maxKeys) this.#keys.popOldest();
  }
}
