// Test helper: fast-check arbitraries for metric families that any valid
// exposition can carry, shared by the parser, decoder and store property tests.
import fc from 'fast-check';
import type { BucketSpan, HistogramMetric, Labels, Metric, MetricFamily, MetricType, NativeBuckets } from '../../pushgateway/core/model.js';

const nameTail = fc.stringMatching(/^[a-z0-9_]{0,8}$/);
export const labelNameArb = fc
  .stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,6}$/)
  .filter((n) => n !== 'le' && n !== 'quantile' && n !== 'job' && n !== 'instance');
/** Any UTF-8 string, newlines, quotes and backslashes included. */
export const labelValueArb = fc.string({ unit: 'grapheme', maxLength: 8 });
const helpArb = fc.option(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).filter((h) => h[0] !== ' ' && h[0] !== '\t'),
  { nil: undefined },
);
/** Finite or not, but never -0 (rendered as 0 like expfmt does). */
export const valueArb = fc.double().map((v) => (Object.is(v, -0) ? 0 : v));
const countArb = fc.nat({ max: 1e9 });

const labelsArb = fc.dictionary(labelNameArb, labelValueArb, { maxKeys: 3 }) as fc.Arbitrary<Labels>;

function metricArb(type: MetricType): fc.Arbitrary<Metric> {
  if (type === 'histogram') {
    return fc
      .record({
        labels: labelsArb,
        bounds: fc.uniqueArray(
          fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => (Object.is(v, -0) ? 0 : v)),
          { maxLength: 4 },
        ),
        counts: fc.array(countArb, { minLength: 5, maxLength: 5 }),
        sum: valueArb,
        count: countArb,
      })
      .map(({ labels, bounds, counts, sum, count }) => ({
        labels,
        buckets: [...bounds.sort((a, b) => a - b), Infinity].map((upperBound, i) => ({ upperBound, cumulativeCount: counts[i]! })),
        sum,
        count,
      }));
  }
  if (type === 'summary') {
    return fc
      .record({
        labels: labelsArb,
        quantiles: fc.uniqueArray(
          fc.double({ min: 0, max: 1, noNaN: true }).map((v) => (Object.is(v, -0) ? 0 : v)),
          { maxLength: 3 },
        ),
        values: fc.array(valueArb, { minLength: 3, maxLength: 3 }),
        sum: valueArb,
        count: countArb,
      })
      .map(({ labels, quantiles, values, sum, count }) => ({
        labels,
        quantiles: quantiles.sort((a, b) => a - b).map((quantile, i) => ({ quantile, value: values[i]! })),
        sum,
        count,
      }));
  }
  return fc.record({ labels: labelsArb, value: valueArb });
}

const typeArb = fc.constantFrom<MetricType>('counter', 'gauge', 'histogram', 'summary', 'untyped');

function familyArb(name: string): fc.Arbitrary<MetricFamily> {
  return fc
    .tuple(typeArb, helpArb)
    .chain(([type, help]) =>
      fc
        .uniqueArray(metricArb(type), { minLength: 1, maxLength: 4, selector: (m) => JSON.stringify(Object.entries(m.labels).sort()) })
        .map((metrics) => ({ name, help, type, metrics })),
    );
}

/** Families with distinct names that cannot be mistaken for another family's _sum/_count/_bucket. */
export const familiesArb: fc.Arbitrary<MetricFamily[]> = fc
  .uniqueArray(nameTail, { minLength: 1, maxLength: 4 })
  .chain((tails) => fc.tuple(...tails.map((tail, i) => familyArb(`m${i}_${tail}x`))));

const spansArb = fc.array(fc.record({ offset: fc.integer({ min: 0, max: 5 }), length: fc.integer({ min: 1, max: 4 }) }), { maxLength: 3 });

/** Valid native buckets (client_model's native fields), integer or float. */
export const nativeBucketsArb: fc.Arbitrary<NativeBuckets> = fc
  .record({
    schema: fc.integer({ min: -4, max: 8 }),
    zeroThreshold: fc.constantFrom(0, 2 ** -128, 0.001),
    first: fc.integer({ min: -20, max: 20 }),
    positiveSpans: spansArb,
    negativeSpans: spansArb,
    float: fc.boolean(),
  })
  .chain(({ first, positiveSpans, negativeSpans, float, ...rest }) => {
    const shift = (spans: BucketSpan[]) => spans.map((span, i) => (i === 0 ? { ...span, offset: first } : span));
    const size = (spans: BucketSpan[]) => spans.reduce((sum, span) => sum + span.length, 0);
    const count = float ? fc.double({ min: 0, max: 1e6, noNaN: true }).map((v) => (Object.is(v, -0) ? 0 : v)) : countArb;
    return fc
      .record({
        zeroCount: count,
        positiveCounts: fc.array(count, { minLength: size(positiveSpans), maxLength: size(positiveSpans) }),
        negativeCounts: fc.array(count, { minLength: size(negativeSpans), maxLength: size(negativeSpans) }),
      })
      .map(
        (counts): NativeBuckets => ({
          ...rest,
          positiveSpans: shift(positiveSpans),
          negativeSpans: shift(negativeSpans),
          ...counts,
          ...(float ? { float: true } : {}),
        }),
      );
  });

/** One histogram family whose series are native, some with classic buckets too; `count` covers the buckets. */
export const nativeFamilyArb: fc.Arbitrary<MetricFamily> = fc
  .uniqueArray(fc.record({ labels: labelsArb, native: nativeBucketsArb, classic: fc.boolean(), sum: valueArb, nan: fc.nat({ max: 3 }) }), {
    minLength: 1,
    maxLength: 3,
    selector: (m) => JSON.stringify(Object.entries(m.labels).sort()),
  })
  .map((series) => ({
    name: 'native_seconds',
    help: undefined,
    type: 'histogram',
    metrics: series.map(({ labels, native, classic, sum, nan }): HistogramMetric => {
      const observed = native.zeroCount + [...native.positiveCounts, ...native.negativeCounts].reduce((a, b) => a + b, 0);
      const count = observed + nan;
      const buckets =
        classic && !native.float
          ? [
              { upperBound: 1, cumulativeCount: Math.min(count, native.zeroCount) },
              { upperBound: Infinity, cumulativeCount: count },
            ]
          : [];
      return { labels, buckets, sum, count, native };
    }),
  }));
