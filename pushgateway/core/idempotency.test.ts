import { describe, expect, it } from 'vitest';
import { checkIdempotencyKey, IDEMPOTENCY_WINDOW_MS, IdempotencyKeys, scopedIdempotencyKey } from './idempotency.js';

describe('IdempotencyKeys', () => {
  it('remembers a key for exactly the 10-minute window', () => {
    const keys = new IdempotencyKeys();
    keys.remember('k1', 1_000);
    expect(keys.seen('k1', 1_000 + IDEMPOTENCY_WINDOW_MS - 1)).toBe(true);
    expect(keys.seen('k1', 1_000 + IDEMPOTENCY_WINDOW_MS)).toBe(false);
    expect(keys.size).toBe(0);
  });

  it('stays within its bound by forgetting the oldest keys early, and counts them', () => {
    const keys = new IdempotencyKeys(3);
    for (let i = 0; i < 5; i++) keys.remember(`k${i}`, i);
    expect(keys.size).toBe(3);
    expect(keys.evictedEarly).toBe(2);
    expect(keys.seen('k0', 10)).toBe(false);
    expect(keys.seen('k4', 10)).toBe(true);
  });

  it('round-trips through export/import, dropping expired keys', () => {
    const keys = new IdempotencyKeys();
    keys.remember('old', 0);
    keys.remember('new', IDEMPOTENCY_WINDOW_MS);
    const exported = keys.export(IDEMPOTENCY_WINDOW_MS + 1);
    expect(exported).toEqual([{ key: 'new', appliedMs: IDEMPOTENCY_WINDOW_MS }]);
    const restored = new IdempotencyKeys();
    restored.import(exported);
    expect(restored.seen('new', IDEMPOTENCY_WINDOW_MS + 5)).toBe(true);
  });

  it('scopes keys by group', async () => {
    expect(await scopedIdempotencyKey('job=a', 'k')).not.toBe(await scopedIdempotencyKey('job=b', 'k'));
    expect(await scopedIdempotencyKey('job=a', 'k')).toBe(await scopedIdempotencyKey('job=a', 'k'));
  });

  it('stores a key in the same 22 characters whatever the lengths of group and key', async () => {
    for (const [group, key] of [
      ['job="a"', 'k'],
      [`job="${'j'.repeat(15_000)}"`, 'x'.repeat(200)],
    ] as const) {
      expect(await scopedIdempotencyKey(group, key)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
  });

  it.each([
    ['', /empty/],
    ['x'.repeat(201), /at most 200/],
    ['has space', /printable/],
  ])('refuses the key %j', (key, message) => {
    expect(checkIdempotencyKey(key)).toMatch(message);
  });

  it('accepts UUIDs', () => {
    expect(checkIdempotencyKey(crypto.randomUUID())).toBeUndefined();
  });
});
