// Native (sparse, exponential) histograms: the checks a pushed one must pass and the merge of two, as the
// Prometheus specification of native histograms defines them. Pure functions over NativeBuckets (core/model).
//
// Bucket i of schema s covers (2^((i-1)·2^-s), 2^(i·2^-s)]; the negative side mirrors it; the zero bucket holds
// every observation with |v| ≤ zeroThreshold. Two histograms are merged by
//   1. widening the narrower zero bucket to the wider threshold: buckets whose lower bound lies below it fold into
//      the zero bucket, and when a populated bucket straddles the threshold, the threshold grows to that bucket's
//      upper bound (repeated until both sides agree; Prometheus' reconcileZeroBuckets);
//   2. bringing both to the coarser schema: bucket i of schema s lands in bucket ceil(i / 2^(s-t)) of schema t;
//   3. adding the zero counts and the buckets index by index.
// Written here rather than taken from a library because no JavaScript library implements this model (the
// Prometheus and OpenTelemetry implementations are Go), and the gateway needs it on workerd too.

import type { BucketSpan, NativeBuckets } from './model.js';

export const minSchema = -4;
export const maxSchema = 8;

export type NativeResult = { ok: true; native: NativeBuckets } | { ok: false; reason: string };

/** Sparse buckets: ascending indexes and their absolute counts (empty buckets left out). */
interface Sparse {
  indexes: number[];
  counts: number[];
}

function isCount(value: number, float: boolean): boolean {
  return Number.isFinite(value) && value >= 0 && (float || Number.isSafeInteger(value));
}

function countKind(float: boolean): string {
  return float ? 'a finite float >= 0' : 'an integer >= 0';
}

function spansProblem(side: string, spans: readonly BucketSpan[], counts: readonly number[], float: boolean): string | undefined {
  let covered = 0;
  for (let i = 0; i < spans.length; i++) {
    const { offset, length } = spans[i]!;
    if (!Number.isSafeInteger(offset) || (i > 0 && offset < 0))
      return `${side} span #${i + 1} has offset ${offset}: only the first span may have a negative offset`;
    if (!Number.isSafeInteger(length) || length < 0) return `${side} span #${i + 1} has length ${length}, expected an integer >= 0`;
    covered += length;
  }
  if (covered !== counts.length) return `${side} spans cover ${covered} buckets but ${counts.length} bucket counts were given`;
  for (let i = 0; i < counts.length; i++) {
    if (!isCount(counts[i]!, float)) return `${side} bucket #${i + 1} has count ${counts[i]}, expected ${countKind(float)}`;
  }
  return undefined;
}

function total(counts: readonly number[]): number {
  let sum = 0;
  for (const count of counts) sum += count;
  return sum;
}

/**
 * Why a native histogram is not valid, or undefined: schema an integer in -4…8, zero threshold >= 0, counts >= 0
 * (integers unless `float`), spans consistent with the counts, and — when `count` (the histogram's `_count`) is
 * given — no more observations in the buckets than in `count` (NaN observations are counted but in no bucket).
 */
export function nativeProblem(native: NativeBuckets, count?: number): string | undefined {
  const float = native.float === true;
  if (!Number.isInteger(native.schema) || native.schema < minSchema || native.schema > maxSchema)
    return `native histogram schema ${native.schema} is outside ${minSchema}…${maxSchema}`;
  if (!Number.isFinite(native.zeroThreshold) || native.zeroThreshold < 0)
    return `native histogram zero threshold ${native.zeroThreshold} is not a finite number >= 0`;
  if (!isCount(native.zeroCount, float)) return `native histogram zero count ${native.zeroCount} is not ${countKind(float)}`;
  const problem =
    spansProblem('positive', native.positiveSpans, native.positiveCounts, float) ??
    spansProblem('negative', native.negativeSpans, native.negativeCounts, float);
  if (problem) return `native histogram: ${problem}`;
  if (count !== undefined) {
    const inBuckets = native.zeroCount + total(native.positiveCounts) + total(native.negativeCounts);
    // Float sums of many counts may round; an integer histogram must be exact.
    const slack = float ? Math.abs(count) * 1e-12 : 0;
    if (inBuckets > count + slack) return `native histogram holds ${inBuckets} observations in its buckets but its count is ${count}`;
  }
  return undefined;
}

function toSparse(spans: readonly BucketSpan[], counts: readonly number[]): Sparse {
  const indexes: number[] = [];
  const values: number[] = [];
  let index = 0;
  let position = 0;
  for (let s = 0; s < spans.length; s++) {
    const span = spans[s]!;
    index += span.offset;
    for (let j = 0; j < span.length; j++, index++, position++) {
      const count = counts[position]!;
      if (count !== 0) {
        indexes.push(index);
        values.push(count);
      }
    }
  }
  return { indexes, counts: values };
}

// Empty buckets are cheaper than a new span for gaps this short (a count is one byte, a span two or more).
const maxGapInSpan = 2;

function fromSparse(sparse: Sparse): { spans: BucketSpan[]; counts: number[] } {
  const spans: BucketSpan[] = [];
  const counts: number[] = [];
  let next = 0; // the index after the last bucket written
  for (let i = 0; i < sparse.indexes.length; i++) {
    const index = sparse.indexes[i]!;
    const gap = index - next;
    const last = spans[spans.length - 1];
    if (last && gap <= maxGapInSpan) {
      for (let g = 0; g < gap; g++) counts.push(0);
      last.length += gap + 1;
    } else {
      spans.push({ offset: spans.length === 0 ? index : gap, length: 1 });
    }
    counts.push(sparse.counts[i]!);
    next = index + 1;
  }
  return { spans, counts };
}

/** Lower bound (exclusive) of bucket `index` in `schema`, as an absolute value. */
export function bucketLowerBound(schema: number, index: number): number {
  return 2 ** ((index - 1) * 2 ** -schema);
}

/** Upper bound (inclusive) of bucket `index` in `schema`, as an absolute value. */
export function bucketUpperBound(schema: number, index: number): number {
  return 2 ** (index * 2 ** -schema);
}

/**
 * What the zero bucket would hold with the threshold raised to `threshold` (>= the histogram's own), and the
 * threshold it really needs: raised further to the upper bound of a populated bucket the threshold cuts.
 */
function zeroCountFor(
  schema: number,
  zeroCount: number,
  sides: readonly Sparse[],
  threshold: number,
): { count: number; threshold: number } {
  let wanted = threshold;
  for (;;) {
    let count = zeroCount;
    let widened = false;
    for (const side of sides) {
      for (let i = 0; i < side.indexes.length; i++) {
        const index = side.indexes[i]!;
        if (bucketLowerBound(schema, index) >= wanted) break;
        count += side.counts[i]!;
        const upper = bucketUpperBound(schema, index);
        if (upper > wanted) {
          wanted = upper; // sparse buckets are populated: the cut one moves the threshold
          widened = true;
          break;
        }
      }
      if (widened) break;
    }
    if (!widened) return { count, threshold: wanted };
  }
}

/** Drops the buckets now inside the zero bucket (lower bound below the threshold). */
function trimBelow(schema: number, side: Sparse, threshold: number): Sparse {
  let first = 0;
  while (first < side.indexes.length && bucketLowerBound(schema, side.indexes[first]!) < threshold) first++;
  return first === 0 ? side : { indexes: side.indexes.slice(first), counts: side.counts.slice(first) };
}

/** Bucket `index` of a schema `delta` steps finer lands in bucket ceil(index / 2^delta); counts are summed. */
function reduceSparse(side: Sparse, delta: number): Sparse {
  if (delta === 0) return side;
  const factor = 2 ** delta;
  const indexes: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < side.indexes.length; i++) {
    const target = Math.ceil(side.indexes[i]! / factor) + 0; // + 0: no -0 index
    if (indexes.length > 0 && indexes[indexes.length - 1] === target) counts[counts.length - 1]! += side.counts[i]!;
    else {
      indexes.push(target);
      counts.push(side.counts[i]!);
    }
  }
  return { indexes, counts };
}

function addSparse(left: Sparse, right: Sparse): Sparse {
  const indexes: number[] = [];
  const counts: number[] = [];
  let i = 0;
  let j = 0;
  while (i < left.indexes.length || j < right.indexes.length) {
    const a = i < left.indexes.length ? left.indexes[i]! : Infinity;
    const b = j < right.indexes.length ? right.indexes[j]! : Infinity;
    if (a === b) {
      indexes.push(a);
      counts.push(left.counts[i++]! + right.counts[j++]!);
    } else if (a < b) {
      indexes.push(a);
      counts.push(left.counts[i++]!);
    } else {
      indexes.push(b);
      counts.push(right.counts[j++]!);
    }
  }
  return { indexes, counts };
}

interface Working {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  positive: Sparse;
  negative: Sparse;
}

function working(native: NativeBuckets): Working {
  return {
    schema: native.schema,
    zeroThreshold: native.zeroThreshold,
    zeroCount: native.zeroCount,
    positive: toSparse(native.positiveSpans, native.positiveCounts),
    negative: toSparse(native.negativeSpans, native.negativeCounts),
  };
}

function widenZero(h: Working, threshold: number): Working {
  if (threshold <= h.zeroThreshold) return h;
  const zero = zeroCountFor(h.schema, h.zeroCount, [h.positive, h.negative], threshold);
  return {
    schema: h.schema,
    zeroThreshold: zero.threshold,
    zeroCount: zero.count,
    positive: trimBelow(h.schema, h.positive, zero.threshold),
    negative: trimBelow(h.schema, h.negative, zero.threshold),
  };
}

function toNative(h: Working, float: boolean): NativeBuckets {
  const positive = fromSparse(h.positive);
  const negative = fromSparse(h.negative);
  const native: NativeBuckets = {
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    positiveSpans: positive.spans,
    positiveCounts: positive.counts,
    negativeSpans: negative.spans,
    negativeCounts: negative.counts,
  };
  if (float) native.float = true;
  return native;
}

/**
 * The sum of two native histograms (e.g. the stored one and a pushed delta): coarser schema, wider zero bucket,
 * buckets added. Refused, with the reason, when either is invalid or one has integer counts and the other float
 * counts (adding them would silently turn the stored kind into the other).
 */
export function mergeNative(stored: NativeBuckets, delta: NativeBuckets): NativeResult {
  const problem = nativeProblem(stored) ?? nativeProblem(delta);
  if (problem) return { ok: false, reason: problem };
  const float = stored.float === true;
  if (float !== (delta.float === true))
    return {
      ok: false,
      reason: `a native histogram with ${delta.float ? 'float' : 'integer'} counts cannot be merged into one with ${float ? 'float' : 'integer'} counts`,
    };
  let a = working(stored);
  let b = working(delta);
  // Step 1 (at the original schemas, as Prometheus does): one zero threshold for both.
  while (a.zeroThreshold !== b.zeroThreshold) {
    if (a.zeroThreshold < b.zeroThreshold) a = widenZero(a, b.zeroThreshold);
    else b = widenZero(b, a.zeroThreshold);
  }
  // Step 2: the coarser schema.
  const schema = Math.min(a.schema, b.schema);
  const reduce = (h: Working): Working =>
    h.schema === schema
      ? h
      : { ...h, schema, positive: reduceSparse(h.positive, h.schema - schema), negative: reduceSparse(h.negative, h.schema - schema) };
  a = reduce(a);
  b = reduce(b);
  // Step 3: add.
  return {
    ok: true,
    native: toNative(
      {
        schema,
        zeroThreshold: a.zeroThreshold,
        zeroCount: a.zeroCount + b.zeroCount,
        positive: addSparse(a.positive, b.positive),
        negative: addSparse(a.negative, b.negative),
      },
      float,
    ),
  };
}

/**
 * The same histogram at a coarser (smaller) schema, e.g. an OTLP exponential histogram whose scale is above 8.
 * `schema` must be <= the histogram's own.
 */
export function reduceSchema(native: NativeBuckets, schema: number): NativeBuckets {
  if (schema > native.schema) throw new RangeError(`reduceSchema: ${schema} is finer than the histogram's schema ${native.schema}`);
  const h = working(native);
  const delta = native.schema - schema;
  return toNative(
    { ...h, schema, positive: reduceSparse(h.positive, delta), negative: reduceSparse(h.negative, delta) },
    native.float === true,
  );
}

/** Spans and counts for dense buckets whose first has index `firstIndex` (empty buckets left out where cheaper). */
export function spansFromDense(firstIndex: number, dense: readonly number[]): { spans: BucketSpan[]; counts: number[] } {
  const indexes: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < dense.length; i++) {
    if (dense[i] !== 0) {
      indexes.push(firstIndex + i);
      counts.push(dense[i]!);
    }
  }
  return fromSparse({ indexes, counts });
}

/** Total observations in the buckets (zero bucket included). */
export function nativeObservations(native: NativeBuckets): number {
  return native.zeroCount + total(native.positiveCounts) + total(native.negativeCounts);
}
