import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createUuidv7Generator, isUuid, uuidv7 } from './uuid.js';
import { decodeCursor, pageQuerySchema, toPage } from './pagination.js';

describe('uuidv7', () => {
  it('is a version 7, RFC 9562 variant UUID whose order follows its timestamp', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 2 }), (ms) => {
        const next = createUuidv7Generator();
        const earlier = next(ms);
        const later = next(ms + 1);
        expect(isUuid(earlier)).toBe(true);
        expect(earlier[14]).toBe('7');
        expect('89ab').toContain(earlier[19]);
        expect(earlier < later).toBe(true);
        expect(parseInt(earlier.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
      }),
    );
  });

  it('keeps increasing within one millisecond and when the clock steps back', () => {
    const next = createUuidv7Generator();
    const ids = [next(1_000), ...Array.from({ length: 5_000 }, () => next(1_000)), next(999), next(500)];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => id[14] === '7' && isUuid(id))).toBe(true);
  });
});

describe('cursors', () => {
  it('round-trip the last id of a page, and only cursors this API issued decode', () => {
    const rows = [uuidv7(1), uuidv7(2), uuidv7(3)].map((id) => ({ id }));
    const page = toPage(rows, 2);
    expect(page.data).toEqual(rows.slice(0, 2));
    expect(decodeCursor(page.nextCursor!)).toBe(rows[1]!.id);
    expect(toPage(rows, 3).nextCursor).toBeNull();
    expect(toPage([], 3)).toEqual({ data: [], nextCursor: null });
    fc.assert(fc.property(fc.string(), (garbage) => decodeCursor(garbage) === undefined || isUuid(decodeCursor(garbage)!)));
    expect(decodeCursor(btoa(`v1:${'x'.repeat(36)}`))).toBeUndefined();
    expect(decodeCursor('bm90IGEgY3Vyc29y')).toBeUndefined();
  });

  it('validates limit as an integer from 1 to 100', () => {
    expect(pageQuerySchema.parse({ limit: '100' }).limit).toBe(100);
    for (const limit of ['0', '101', '1e2', ' 5', '-1', '']) expect(pageQuerySchema.safeParse({ limit }).success).toBe(false);
  });
});
