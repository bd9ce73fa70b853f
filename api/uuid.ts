// UUIDv7 (RFC 9562): 48-bit Unix milliseconds, a 12-bit sequence, then random bits. Hand-written because
// PostgreSQL 15 has no uuidv7() and `crypto.randomUUID()` gives v4 only; this runs on Node and workerd
// alike (Web Crypto). Time-ordered ids make the primary key a usable keyset for "oldest first" pagination.
// Within one process (or isolate) ids are strictly increasing, even within one millisecond or when the
// clock steps back (RFC 9562 §6.2 method 1: a counter in rand_a, seeded randomly each new millisecond).

export type UuidV7Generator = (now?: number) => string;

export function createUuidv7Generator(): UuidV7Generator {
  let lastMs = -1;
  let sequence = 0;
  return (now = Date.now()) => {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    let ms = now;
    if (ms > lastMs) {
      // Seed below 0x800 so at least 2048 more ids fit in this millisecond before it overflows.
      sequence = ((bytes[6]! << 8) | bytes[7]!) & 0x7ff;
    } else {
      ms = lastMs;
      sequence += 1;
      if (sequence > 0xfff) {
        ms += 1; // borrow the next millisecond rather than repeat or reorder
        sequence = 0;
      }
    }
    lastMs = ms;
    for (let i = 5; i >= 0; i--) {
      bytes[i] = ms % 256;
      ms = Math.floor(ms / 256);
    }
    bytes[6] = 0x70 | (sequence >> 8); // version 7 + sequence high bits
    bytes[7] = sequence & 0xff;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
    const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

export const uuidv7: UuidV7Generator = createUuidv7Generator();

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}
