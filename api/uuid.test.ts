import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createUuidv7Generator, isUuid, uuidv7 } from './uuid.js';

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
