import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateFamilies, type KeyedFamily } from './aggregate.js';
import { labelText } from './grouping.js';
import type { HistogramMetric, MetricFamily, NativeBuckets, ScalarMetric } from './model.js';

type Group = Map<string, KeyedFamily>;
const keyed = (family: MetricFamily): KeyedFamily => ({ family, labelTexts: family.metrics.map((m) => labelText(m.labels)) });

const BOUNDS = [0.1, 1, Infinity];

function counter(name: string, series: Array<[Record<string, string>, number]>, help?: string): MetricFamily {
  return { name, help, type: 'counter', metrics: series.map(([labels, value]) => ({ labels, value })) };
}
function gauge(name: string, series: Array<[Record<string, string>, number]>): MetricFamily {
  return { name, help: undefined, type: 'gauge', metrics: series.map(([labels, value]) => ({ labels, value })) };
}
function histogram(name: string, labels: Record<string, string>, counts: number[], sum: number, bounds = BOUNDS): MetricFamily {
  return {
    name,
    help: undefined,
    type: 'histogram',
    metrics: [
      { labels, buckets: bounds.map((upperBound, i) => ({ upperBound, cumulativeCount: counts[i]! })), sum, count: counts.at(-1)! },
    ],
  };
}

function tryMerge(stored: Group, delta: MetricFamily[]) {
  return aggregateFamilies((name) => stored.get(name), delta.map(keyed));
}

function merge(stored: Group, delta: MetricFamily[]): Group {
  const result = tryMerge(stored, delta);
  if (!result.ok) throw new Error(result.message);
  const next = new Map(stored);
  for (const merged of result.families) {
    expect(merged.labelTexts).toEqual(merged.family.metrics.map((m) => labelText(m.labels)));
    next.set(merged.family.name, merged);
  }
  return next;
}

/** A canonical, order-independent rendering of a group's families, to compare stores. */
function canonical(group: Group): string {
  return JSON.stringify(
    [...group.values()]
      .map(({ family }) => family)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((family) => ({
        ...family,
        metrics: [...family.metrics]
          .sort((a, b) => labelText(a.labels).localeCompare(labelText(b.labels)))
          .map((m) => ({ ...m, labels: labelText(m.labels) })),
      })),
    (_key, value: unknown) => (value === Infinity ? '+Inf' : value),
  );
}

describe('aggregateFamilies', () => {
  it('adds counter deltas per series and keeps untouched series', () => {
    let stored = merge(new Map(), [
      counter(
        'requests_total',
        [
          [{ code: '200' }, 3],
          [{ code: '500' }, 1],
        ],
        'Requests.',
      ),
    ]);
    stored = merge(stored, [counter('requests_total', [[{ code: '200' }, 2]])]);
    const family = stored.get('requests_total')!.family;
    expect(family.help).toBe('Requests.');
    expect(family.metrics).toEqual([
      { labels: { code: '200' }, value: 5 },
      { labels: { code: '500' }, value: 1 },
    ]);
  });

  it('adds histogram buckets, sum and count', () => {
    let stored = merge(new Map(), [histogram('latency_seconds', {}, [1, 2, 3], 1.5)]);
    stored = merge(stored, [histogram('latency_seconds', {}, [0, 1, 4], 2.5)]);
    const metric = stored.get('latency_seconds')!.family.metrics[0] as HistogramMetric;
    expect(metric.buckets.map((b) => b.cumulativeCount)).toEqual([1, 3, 7]);
    expect(metric.sum).toBe(4);
    expect(metric.count).toBe(7);
  });

  it('replaces gauges per series', () => {
    let stored = merge(new Map(), [
      gauge('in_flight', [
        [{ a: '1' }, 5],
        [{ a: '2' }, 7],
      ]),
    ]);
    stored = merge(stored, [gauge('in_flight', [[{ a: '1' }, 2]])]);
    expect(stored.get('in_flight')!.family.metrics).toEqual([
      { labels: { a: '1' }, value: 2 },
      { labels: { a: '2' }, value: 7 },
    ]);
  });

  it('never mutates what it was given', () => {
    const stored = merge(new Map(), [counter('c_total', [[{}, 1]]), histogram('h', {}, [1, 1, 1], 1)]);
    const before = canonical(stored);
    merge(stored, [counter('c_total', [[{}, 4]]), histogram('h', {}, [1, 2, 3], 2)]);
    expect(canonical(stored)).toBe(before);
  });

  it.each([
    ['a negative counter delta', [counter('c_total', [[{}, -1]])], /delta must be a finite number >= 0/],
    ['a NaN counter delta', [counter('c_total', [[{}, Number.NaN]])], /finite/],
    [
      'a summary',
      [
        {
          name: 's',
          help: undefined,
          type: 'summary',
          metrics: [{ labels: {}, quantiles: [{ quantile: 0.5, value: 1 }], sum: 1, count: 1 }],
        } as MetricFamily,
      ],
      /summary s cannot be aggregated/,
    ],
    [
      'different bucket bounds',
      [histogram('h', {}, [1, 1, 1], 1, [0.5, 1, Infinity])],
      /bucket bounds \[0\.5, 1, \+Inf\] differ from the stored \[0\.1, 1, \+Inf\]/,
    ],
    ['non-cumulative buckets', [histogram('h', { x: 'new' }, [2, 1, 3], 1)], /cumulative/],
    ['a type change', [gauge('c_total', [[{}, 1]])], /pushed as gauge but is stored as counter/],
    [
      'a series twice',
      [
        counter('c_total', [
          [{ a: '1' }, 1],
          [{ a: '1' }, 2],
        ]),
      ],
      /appears twice/,
    ],
    ['a family twice', [counter('c_total', [[{}, 1]]), counter('c_total', [[{}, 1]])], /appears twice/],
    [
      'an untyped sample',
      [{ name: 'agg_total', help: undefined, type: 'untyped', metrics: [{ labels: {}, value: 5 }] } as MetricFamily],
      /untyped agg_total.*# TYPE agg_total counter/,
    ],
  ])('refuses %s with a message', (_what, delta, message) => {
    const stored = merge(new Map(), [counter('c_total', [[{}, 1]]), histogram('h', {}, [1, 1, 1], 1)]);
    const result = tryMerge(stored, delta);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });
});

// ---- properties ------------------------------------------------------------------------------------

const labelValue = fc.constantFrom('a', 'b', 'c');
/** Integer-valued deltas: float addition is not associative, so "same totals in any order" is exact only for them. */
const validPush = fc.record({
  counters: fc.array(fc.tuple(labelValue, fc.nat({ max: 1000 })), { maxLength: 4 }),
  histogram: fc.option(
    fc.tuple(labelValue, fc.nat({ max: 50 }), fc.nat({ max: 50 }), fc.nat({ max: 50 }), fc.integer({ min: -100, max: 100 })),
  ),
});
type ValidPush = typeof validPush extends fc.Arbitrary<infer T> ? T : never;

function toFamilies(push: ValidPush): MetricFamily[] {
  const families: MetricFamily[] = [];
  const counters = new Map<string, number>();
  for (const [label, value] of push.counters) counters.set(label, value); // one sample per series
  if (counters.size > 0)
    families.push(
      counter(
        'jobs_total',
        [...counters].map(([label, value]) => [{ kind: label }, value]),
      ),
    );
  if (push.histogram) {
    const [label, a, b, c, sum] = push.histogram;
    families.push(histogram('duration_seconds', { kind: label }, [a, a + b, a + b + c], sum));
  }
  return families;
}

function totals(pushes: ValidPush[]): string {
  let stored: Group = new Map();
  for (const push of pushes) stored = merge(stored, toFamilies(push));
  return canonical(stored);
}

const invalidPush: fc.Arbitrary<MetricFamily[]> = fc.oneof(
  fc.integer({ min: -1000, max: -1 }).map((value) => [counter('jobs_total', [[{ kind: 'a' }, 1]]), counter('other_total', [[{}, value]])]),
  fc.constant<MetricFamily[]>([
    counter('jobs_total', [[{ kind: 'b' }, 5]]),
    histogram('duration_seconds', { kind: 'a' }, [1, 2, 3], 1, [1, 2, Infinity]),
  ]),
  fc.constant<MetricFamily[]>([gauge('jobs_total', [[{ kind: 'a' }, 5]])]),
  fc.constant<MetricFamily[]>([counter('new_total', [[{}, 1]]), { name: 'q', help: undefined, type: 'summary', metrics: [] }]),
);

describe('aggregateFamilies properties', () => {
  it('gives the same totals for any order of the same valid pushes', () => {
    fc.assert(
      fc.property(
        fc
          .array(validPush, { minLength: 1, maxLength: 12 })
          .chain((pushes) =>
            fc.tuple(fc.constant(pushes), fc.shuffledSubarray(pushes, { minLength: pushes.length, maxLength: pushes.length })),
          ),
        ([pushes, shuffled]) => {
          expect(totals(shuffled)).toBe(totals(pushes));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sums counters to exactly the sum of the deltas', () => {
    fc.assert(
      fc.property(fc.array(validPush, { maxLength: 12 }), (pushes) => {
        let stored: Group = new Map();
        const expected = new Map<string, number>();
        for (const push of pushes) {
          stored = merge(stored, toFamilies(push));
          for (const family of toFamilies(push)) {
            if (family.type !== 'counter') continue;
            for (const metric of family.metrics)
              expected.set(metric.labels.kind!, (expected.get(metric.labels.kind!) ?? 0) + (metric as ScalarMetric).value);
          }
        }
        const got = new Map((stored.get('jobs_total')?.family.metrics ?? []).map((m) => [m.labels.kind!, (m as ScalarMetric).value]));
        expect(got).toEqual(expected);
      }),
    );
  });

  it('refuses any invalid push and leaves the stored families exactly as they were', () => {
    fc.assert(
      fc.property(fc.array(validPush, { minLength: 1, maxLength: 6 }), invalidPush, (pushes, invalid) => {
        let stored = merge(new Map(), [
          counter('jobs_total', [[{ kind: 'a' }, 1]]),
          histogram('duration_seconds', { kind: 'a' }, [0, 0, 0], 0),
        ]);
        for (const push of pushes) stored = merge(stored, toFamilies(push));
        const before = canonical(stored);
        const result = tryMerge(stored, invalid);
        expect(result.ok).toBe(false);
        expect(canonical(stored)).toBe(before);
      }),
    );
  });
});

describe('aggregateFamilies with native histograms', () => {
  const nativeHistogram = (native: Partial<NativeBuckets>, count: number, classic = false): MetricFamily => ({
    name: 'n',
    help: undefined,
    type: 'histogram',
    metrics: [
      {
        labels: { job: 'j' },
        buckets: classic ? [{ upperBound: Infinity, cumulativeCount: count }] : [],
        sum: count,
        count,
        native: {
          schema: 0,
          zeroThreshold: 0,
          zeroCount: 0,
          positiveSpans: [],
          positiveCounts: [],
          negativeSpans: [],
          negativeCounts: [],
          ...native,
        },
      },
    ],
  });

  it('merges native deltas (coarser schema, buckets added) and adds _sum and _count', () => {
    let group: Group = new Map();
    group = merge(group, [nativeHistogram({ schema: 1, positiveSpans: [{ offset: 1, length: 2 }], positiveCounts: [1, 2] }, 3)]);
    group = merge(group, [nativeHistogram({ schema: 0, zeroCount: 1, positiveSpans: [{ offset: 1, length: 1 }], positiveCounts: [4] }, 5)]);
    const stored = group.get('n')!.family.metrics[0] as HistogramMetric;
    // schema 1 buckets 1 and 2 both land in schema 0 bucket 1.
    expect(stored.native).toEqual({
      schema: 0,
      zeroThreshold: 0,
      zeroCount: 1,
      positiveSpans: [{ offset: 1, length: 1 }],
      positiveCounts: [7],
      negativeSpans: [],
      negativeCounts: [],
    });
    expect([stored.count, stored.sum]).toEqual([8, 8]);
  });

  it('refuses a native delta into a classic series and the reverse, mixed float and integer, and inconsistent deltas', () => {
    const classic: Group = merge(new Map(), [histogram('n', { job: 'j' }, [1, 1, 1], 1, [Infinity, Infinity, Infinity].slice(0, 1))]);
    expect(tryMerge(classic, [nativeHistogram({}, 0, true)])).toEqual({
      ok: false,
      message: 'histogram n{job="j"} is pushed as a native histogram but is stored as a classic one',
    });
    const native = merge(new Map(), [nativeHistogram({ zeroCount: 1 }, 1)]);
    expect(tryMerge(native, [nativeHistogram({ float: true, zeroCount: 1 }, 1)])).toEqual({
      ok: false,
      message: 'histogram n{job="j"}: a native histogram with float counts cannot be merged into one with integer counts',
    });
    expect(tryMerge(native, [nativeHistogram({ positiveSpans: [{ offset: 0, length: 1 }], positiveCounts: [-2] }, 0)])).toMatchObject({
      ok: false,
      message: expect.stringContaining('positive bucket #1 has count -2'),
    });
    // Nothing changed on refusal.
    expect((native.get('n')!.family.metrics[0] as HistogramMetric).native!.zeroCount).toBe(1);
  });
});
