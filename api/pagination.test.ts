import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, pageQuerySchema, toPage } from './pagination.js';
import { isUuid, uuidv7 } from './uuid.js';

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
