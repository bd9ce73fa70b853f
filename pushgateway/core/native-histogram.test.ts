import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NativeBuckets } from './model.js';
import { mergeNative, nativeObservations, nativeProblem, reduceSchema, spansFromDense } from './native-histogram.js';

function native(partial: Partial<NativeBuckets>): NativeBuckets {
  return {
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    positiveSpans: [],
    positiveCounts: [],
    negativeSpans: [],
    negativeCounts: [],
    ...partial,
  };
}

/** A native histogram of these observations, built the way a client does: bucket ceil(log2|v|·2^schema). */
function observe(values: readonly number[], schema: number, zeroThreshold = 0): NativeBuckets {
  const positive = new Map<number, number>();
  const negative = new Map<number, number>();
  let zeroCount = 0;
  for (const v of values) {
    if (Math.abs(v) <= zeroThreshold) {
      zeroCount++;
      continue;
    }
    const index = Math.ceil(Math.log2(Math.abs(v)) * 2 ** schema);
    const side = v > 0 ? positive : negative;
    side.set(index, (side.get(index) ?? 0) + 1);
  }
  const dense = (side: Map<number, number>) => {
    if (side.size === 0) return { spans: [], counts: [] };
    const first = Math.min(...side.keys());
    const last = Math.max(...side.keys());
    return spansFromDense(
      first,
      Array.from({ length: last - first + 1 }, (_, i) => side.get(first + i) ?? 0),
    );
  };
  const p = dense(positive);
  const n = dense(negative);
  return native({
    schema,
    zeroThreshold,
    zeroCount,
    positiveSpans: p.spans,
    positiveCounts: p.counts,
    negativeSpans: n.spans,
    negativeCounts: n.counts,
  });
}

/** index → count of one side, for comparing histograms whatever their span layout. */
function buckets(spans: NativeBuckets['positiveSpans'], counts: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  let index = 0;
  let position = 0;
  for (const span of spans) {
    index += span.offset;
    for (let j = 0; j < span.length; j++, index++, position++) if (counts[position] !== 0) out[index] = counts[position]!;
  }
  return out;
}

function shape(h: NativeBuckets) {
  return {
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    positive: buckets(h.positiveSpans, h.positiveCounts),
    negative: buckets(h.negativeSpans, h.negativeCounts),
  };
}

function merged(a: NativeBuckets, b: NativeBuckets): NativeBuckets {
  const result = mergeNative(a, b);
  if (!result.ok) throw new Error(result.reason);
  expect(nativeProblem(result.native)).toBeUndefined();
  return result.native;
}

describe('nativeProblem', () => {
  it('accepts a consistent histogram, integer or float', () => {
    const h = native({
      schema: 3,
      zeroThreshold: 1e-128,
      zeroCount: 1,
      positiveSpans: [
        { offset: -2, length: 2 },
        { offset: 1, length: 1 },
      ],
      positiveCounts: [1, 2, 3],
    });
    expect(nativeProblem(h, 7)).toBeUndefined();
    expect(nativeProblem({ ...h, float: true, positiveCounts: [0.5, 2, 3] }, 6.5)).toBeUndefined();
  });

  it.each([
    [{ schema: 9 }, /schema 9 is outside -4…8/],
    [{ schema: -5 }, /schema -5 is outside/],
    [{ schema: 1.5 }, /schema 1.5/],
    [{ zeroThreshold: -1 }, /zero threshold -1/],
    [{ zeroThreshold: Number.NaN }, /zero threshold NaN/],
    [{ zeroCount: -1 }, /zero count -1/],
    [{ zeroCount: 0.5 }, /zero count 0.5 is not an integer/],
    [{ positiveSpans: [{ offset: 0, length: 2 }], positiveCounts: [1] }, /positive spans cover 2 buckets but 1 bucket counts/],
    [{ negativeSpans: [{ offset: 0, length: 1 }], negativeCounts: [1, 2] }, /negative spans cover 1 buckets but 2/],
    [
      {
        positiveSpans: [
          { offset: 0, length: 1 },
          { offset: -1, length: 1 },
        ],
        positiveCounts: [1, 1],
      },
      /span #2 has offset -1/,
    ],
    [{ positiveSpans: [{ offset: 0, length: -1 }], positiveCounts: [] }, /length -1/],
    [{ positiveSpans: [{ offset: 0, length: 1 }], positiveCounts: [-3] }, /bucket #1 has count -3/],
    [{ positiveSpans: [{ offset: 0, length: 1 }], positiveCounts: [1.5] }, /count 1.5, expected an integer/],
    [{ float: true, positiveSpans: [{ offset: 0, length: 1 }], positiveCounts: [Infinity] }, /count Infinity, expected a finite float/],
  ] as Array<[Partial<NativeBuckets>, RegExp]>)('refuses %j', (partial, message) => {
    expect(nativeProblem(native(partial))).toMatch(message);
  });

  it('refuses more observations in the buckets than the count', () => {
    const h = native({ zeroCount: 2, positiveSpans: [{ offset: 0, length: 1 }], positiveCounts: [3] });
    expect(nativeProblem(h, 5)).toBeUndefined();
    expect(nativeProblem(h, 6)).toBeUndefined(); // NaN observations are counted in no bucket
    expect(nativeProblem(h, 4)).toMatch(/holds 5 observations in its buckets but its count is 4/);
  });
});

describe('mergeNative', () => {
  it('adds bucket by bucket at the same schema, joining the spans', () => {
    const a = native({ zeroCount: 1, positiveSpans: [{ offset: 1, length: 2 }], positiveCounts: [1, 2] });
    const b = native({
      zeroCount: 2,
      positiveSpans: [{ offset: 2, length: 2 }],
      positiveCounts: [3, 4],
      negativeSpans: [{ offset: 0, length: 1 }],
      negativeCounts: [5],
    });
    const sum = merged(a, b);
    expect(sum).toEqual(
      native({
        zeroCount: 3,
        positiveSpans: [{ offset: 1, length: 3 }],
        positiveCounts: [1, 5, 4],
        negativeSpans: [{ offset: 0, length: 1 }],
        negativeCounts: [5],
      }),
    );
  });

  it('brings the finer schema to the coarser: bucket i of schema s lands in ceil(i / 2^(s-t))', () => {
    // schema 2: buckets 1..4 cover (1, 2]; bucket 5 covers (2, 2^1.25]; bucket -3 covers (2^-1, 2^-0.75].
    const fine = native({
      schema: 2,
      positiveSpans: [
        { offset: -3, length: 1 },
        { offset: 3, length: 2 },
        { offset: 2, length: 2 },
      ],
      positiveCounts: [7, 1, 1, 1, 1],
    });
    const coarse = native({ schema: 0, positiveSpans: [{ offset: 1, length: 1 }], positiveCounts: [10] });
    expect(shape(merged(fine, coarse))).toEqual({
      schema: 0,
      zeroThreshold: 0,
      zeroCount: 0,
      positive: { 0: 7, 1: 12, 2: 2 },
      negative: {},
    });
    expect(shape(merged(coarse, fine))).toEqual(shape(merged(fine, coarse)));
  });

  it('folds the buckets inside the wider zero bucket into it', () => {
    // Threshold 0.5 = 2^-1, a bucket boundary: buckets with upper bound <= 0.5 (index <= -1 at schema 0) fold.
    const narrow = native({
      zeroThreshold: 0.25,
      zeroCount: 1,
      positiveSpans: [{ offset: -2, length: 4 }],
      positiveCounts: [1, 2, 3, 4],
      negativeSpans: [{ offset: -1, length: 1 }],
      negativeCounts: [5],
    });
    const wide = native({ zeroThreshold: 0.5, zeroCount: 10 });
    const sum = merged(narrow, wide);
    // Positive -2 (1/8, 1/4] and -1 (1/4, 1/2] fold, and so does negative -1.
    expect(shape(sum)).toEqual({ schema: 0, zeroThreshold: 0.5, zeroCount: 1 + 1 + 2 + 5 + 10, positive: { 0: 3, 1: 4 }, negative: {} });
    expect(nativeObservations(sum)).toBe(nativeObservations(narrow) + nativeObservations(wide));
  });

  it('raises the threshold to the upper bound of a populated bucket it cuts', () => {
    // 0.3 cuts bucket -1 of schema 0, (0.25, 0.5]: populated, so the threshold becomes 0.5.
    const a = native({ positiveSpans: [{ offset: -1, length: 3 }], positiveCounts: [2, 3, 4] });
    const b = native({ zeroThreshold: 0.3, zeroCount: 1 });
    expect(shape(merged(a, b))).toEqual({ schema: 0, zeroThreshold: 0.5, zeroCount: 3, positive: { 0: 3, 1: 4 }, negative: {} });
    // An empty cut bucket does not move it.
    const c = native({ positiveSpans: [{ offset: -1, length: 3 }], positiveCounts: [0, 3, 4] });
    expect(shape(merged(c, b))).toEqual({ schema: 0, zeroThreshold: 0.3, zeroCount: 1, positive: { 0: 3, 1: 4 }, negative: {} });
  });

  it('widens the other side again when the raised threshold cuts one of its buckets', () => {
    // a's threshold 0.3 cuts b's populated negative bucket -1 (0.25, 0.5] → 0.5, which then folds a's bucket (0.35, 0.5].
    const a = native({ schema: 1, zeroThreshold: 0.3, zeroCount: 1, positiveSpans: [{ offset: -2, length: 1 }], positiveCounts: [6] });
    const b = native({ negativeSpans: [{ offset: -1, length: 1 }], negativeCounts: [2] });
    const sum = merged(a, b);
    expect(shape(sum)).toEqual({ schema: 0, zeroThreshold: 0.5, zeroCount: 9, positive: {}, negative: {} });
  });

  it('keeps the float kind and refuses to mix integer and float counts', () => {
    const f = native({ float: true, zeroCount: 0.5 });
    expect(merged(f, f)).toEqual(native({ float: true, zeroCount: 1 }));
    const refused = mergeNative(native({}), f);
    expect(refused).toEqual({ ok: false, reason: 'a native histogram with float counts cannot be merged into one with integer counts' });
  });

  it('refuses an invalid side with the reason', () => {
    const bad = native({ positiveSpans: [{ offset: 0, length: 1 }], positiveCounts: [-1] });
    expect(mergeNative(native({}), bad)).toEqual({ ok: false, reason: expect.stringMatching(/bucket #1 has count -1/) });
  });

  it('equals the histogram of all observations at the coarser schema (property)', () => {
    const value = fc.oneof(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), fc.double({ min: -1e6, max: -1e-6, noNaN: true }));
    fc.assert(
      fc.property(
        fc.array(value, { maxLength: 40 }),
        fc.array(value, { maxLength: 40 }),
        fc.integer({ min: -4, max: 8 }),
        fc.integer({ min: -4, max: 8 }),
        (xs, ys, sa, sb) => {
          const sum = merged(observe(xs, sa), observe(ys, sb));
          expect(shape(sum)).toEqual(shape(observe([...xs, ...ys], Math.min(sa, sb))));
        },
      ),
    );
  });

  it('conserves every observation whatever the thresholds (property)', () => {
    const value = fc.double({ min: -100, max: 100, noNaN: true });
    const threshold = fc.constantFrom(0, 2 ** -10, 0.001, 0.3, 1, 3);
    fc.assert(
      fc.property(
        fc.array(value, { maxLength: 30 }),
        fc.array(value, { maxLength: 30 }),
        fc.integer({ min: -4, max: 8 }),
        fc.integer({ min: -4, max: 8 }),
        threshold,
        threshold,
        (xs, ys, sa, sb, za, zb) => {
          const a = observe(xs, sa, za);
          const b = observe(ys, sb, zb);
          const sum = merged(a, b);
          expect(nativeObservations(sum)).toBe(xs.length + ys.length);
          expect(sum.zeroThreshold).toBeGreaterThanOrEqual(Math.max(za, zb));
        },
      ),
    );
  });
});

describe('reduceSchema and spansFromDense', () => {
  it('reduces to a coarser schema and refuses a finer one', () => {
    const h = observe([1.1, 1.5, 3, 0.2], 3);
    expect(shape(reduceSchema(h, 0))).toEqual(shape(observe([1.1, 1.5, 3, 0.2], 0)));
    expect(() => reduceSchema(h, 4)).toThrow(RangeError);
  });

  it('keeps gaps of up to two empty buckets inside a span and starts a new span after longer ones', () => {
    expect(spansFromDense(-1, [1, 0, 0, 2, 0, 0, 0, 3])).toEqual({
      spans: [
        { offset: -1, length: 4 },
        { offset: 3, length: 1 },
      ],
      counts: [1, 0, 0, 2, 3],
    });
    expect(spansFromDense(5, [0, 0])).toEqual({ spans: [], counts: [] });
  });
});
