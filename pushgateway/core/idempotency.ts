// Remembered Idempotency-Keys: a push whose key was applied within the window is not applied again.
// Keys are scoped to their group (the same key pushed to two groups is two pushes) and stored as a
// fixed-size digest, so memory is bounded in bytes by a count: past `maxKeys` the oldest key is forgotten early — that shortens the window for the oldest pushes
// under overload instead of growing without limit (counted in `evictedEarly`).
import { ExpiryQueue } from './expiry.js';

/** DESIGN.md: a key applied in the last 10 minutes is not applied again. */
export const IDEMPOTENCY_WINDOW_MS = 10 * 60 * 1000;
/**
 * Heap bytes one remembered key costs in IdempotencyKeys (its 22-character digest and its queue entry),
 * measured on Node 24 after GC, the same for a 1-character and a 15,000-character job; the byte bound
 * GATEWAY_MAX_IDEMPOTENCY_BYTES is turned into a key count with it.
 */
export const IDEMPOTENCY_KEY_HEAP_BYTES = 112;
/** 64 MiB: about 600,000 keys, 1,000 keyed pushes/s sustained for the whole window. */
export const DEFAULT_MAX_IDEMPOTENCY_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_IDEMPOTENCY_KEYS = Math.floor(DEFAULT_MAX_IDEMPOTENCY_BYTES / IDEMPOTENCY_KEY_HEAP_BYTES);

/** How many keys fit in a byte bound (at least one, so a tiny bound still deduplicates immediate retries). */
export function idempotencyKeysFor(maxBytes: number): number {
  return Math.max(1, Math.floor(maxBytes / IDEMPOTENCY_KEY_HEAP_BYTES));
}
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

/**
 * The stored identity of a key: a digest of its group and itself, so keys of different groups never
 * collide and every remembered key costs the same bytes (in memory, in snapshots, in Redis and Durable
 * Object key names) whatever the length of the group's labels. SHA-256 through Web Crypto (Node and workerd
 * alike), cut to 128 bits: the chance that two of even 10^9 live keys collide (a push taken for a replay)
 * is about 10^-21. The key is printable ASCII (checkIdempotencyKey), so the \u0002 separator is unambiguous.
 */
export function scopedIdempotencyKey(groupKey: string, key: string): Promise<string> {
  return digestOf(`${groupKey}${SCOPE_SEPARATOR}${key}`);
}

/**
 * A remembered key as a snapshot holds it, in today's form: snapshots written before keys were digested hold
 * the raw `group \u0002 key` string, which is exactly what the digest is taken of, so converting it keeps a
 * retry across the upgrade recognised (a 22-character digest never contains the separator).
 */
export function currentFormOfRememberedKey(stored: string): Promise<string> | string {
  return stored.includes(SCOPE_SEPARATOR) ? digestOf(stored) : stored;
}

const SCOPE_SEPARATOR = '\u0002';

async function digestOf(scoped: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(scoped)));
  let binary = '';
  for (let i = 0; i < SCOPED_KEY_DIGEST_BYTES; i++) binary += String.fromCharCode(digest[i]!);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** 128 bits of the digest; base64url makes them a 22-character key. */
const SCOPED_KEY_DIGEST_BYTES = 16;

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
