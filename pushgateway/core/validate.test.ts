// validate.ts on its own, through a view built from plain maps: the way a store whose state lives
// elsewhere (Redis, a Durable Object) prefetches lookupKeys(push) and answers from what it fetched.
import { describe, expect, it } from 'vitest';
import type { MetricFamily, MetricType, NativeBuckets } from './model.js';
import { checkAgainstStore, lookupKeys, type PushValidationView, preparePush, seriesKey, utf8ByteLength } from './validate.js';

function mapView(
  families: Record<string, { type: MetricType; groups: number }>,
  groupTypes: Record<string, Record<string, MetricType>>,
  owners: Record<string, string>,
): PushValidationView {
  return {
    family: (name) => families[name],
    groupFamilyType: (key, name) => groupTypes[key]?.[name],
    seriesOwner: (key) => owners[key],
  };
}

const gauge = (name: string, labels: Record<string, string> = {}): MetricFamily => ({
  name,
  help: undefined,
  type: 'gauge',
  metrics: [{ labels, value: 1 }],
});

describe('preparePush', () => {
  it('applies grouping labels, adds instance="" and computes label texts', () => {
    const result = preparePush({ grouping: { job: 'j', zone: 'eu' }, families: [gauge('g', { zone: 'us', a: '1' })] });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.push.groupKey).toBe('instance="",job="j",zone="eu"');
    expect(result.push.groupLabels).toEqual({ job: 'j', zone: 'eu', instance: '' });
    expect(result.push.families[0]!.labelTexts).toEqual(['a="1",instance="",job="j",zone="eu"']);
  });

  it.each([
    [[gauge('g', { __x: '1' })], 'invalid name: __x'],
    [[gauge('1g')], 'invalid metric name'],
    [[gauge('g'), gauge('g')], 'pushed twice'],
    [[gauge('push_time_seconds')], 'reserved'],
    [
      [
        {
          name: 'h',
          help: undefined,
          type: 'histogram',
          metrics: [{ labels: { le: '1' }, buckets: [{ upperBound: Infinity, cumulativeCount: 1 }], sum: 1, count: 1 }],
        } as MetricFamily,
      ],
      'label named le',
    ],
    [
      [
        {
          name: 'h',
          help: undefined,
          type: 'histogram',
          metrics: [{ labels: {}, buckets: [{ upperBound: Infinity, cumulativeCount: 1 }], sum: 1, count: 1 }],
        } as MetricFamily,
        gauge('h_sum'),
      ],
      'collides with histogram named "h"',
    ],
  ])('refuses %#', (families, message) => {
    const result = preparePush({ grouping: { job: 'j' }, families });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toContain(message);
  });
});

describe('checkAgainstStore through a prefetched view', () => {
  const prepared = preparePush({ grouping: { job: 'j' }, families: [gauge('g', { a: '1' })] });
  if (!prepared.ok) throw new Error('setup');
  const push = prepared.push;

  it('names exactly the keys it will look up', () => {
    const keys = lookupKeys(push);
    expect(keys.familyNames).toEqual(expect.arrayContaining(['g', 'g_bucket', 'g_count', 'g_sum']));
    expect(keys.seriesKeys).toEqual([seriesKey('g', 'a="1",instance="",job="j"')]);
  });

  it('refuses a type held by another group, and accepts it when only this group held it (PUT/POST) but not in aggregation', () => {
    expect(checkAgainstStore(push, 'replace', mapView({ g: { type: 'counter', groups: 1 } }, {}, {}))).toContain(
      'pushed as gauge but is a counter',
    );
    const ownOnly = mapView({ g: { type: 'counter', groups: 1 } }, { [push.groupKey]: { g: 'counter' } }, {});
    expect(checkAgainstStore(push, 'replace', ownOnly)).toBeUndefined();
    expect(checkAgainstStore(push, 'merge-families', ownOnly)).toBeUndefined();
    expect(checkAgainstStore(push, 'aggregate', ownOnly)).toContain('is a counter');
  });

  it('refuses a series owned by another group, not one owned by this group', () => {
    const key = lookupKeys(push).seriesKeys[0]!;
    expect(checkAgainstStore(push, 'replace', mapView({}, {}, { [key]: 'instance="",job="other"' }))).toContain('was collected before');
    expect(checkAgainstStore(push, 'replace', mapView({}, {}, { [key]: push.groupKey }))).toBeUndefined();
  });

  it('refuses a suffix collision with a stored histogram unless this PUT removes it', () => {
    const sum = preparePush({ grouping: { job: 'j' }, families: [gauge('h_sum')] });
    if (!sum.ok) throw new Error('setup');
    const histogramHere = mapView({ h: { type: 'histogram', groups: 1 } }, { [sum.push.groupKey]: { h: 'histogram' } }, {});
    expect(checkAgainstStore(sum.push, 'replace', histogramHere)).toBeUndefined();
    expect(checkAgainstStore(sum.push, 'merge-families', histogramHere)).toContain('collides with histogram named "h"');
  });
});

describe('per-series limits', () => {
  const limits = { maxLabelValueBytes: 8, maxLabelsPerSeries: 3 };
  it.each([
    [
      'a body label value past the byte limit',
      { job: 'j' },
      gauge('long_value', { a: 'x'.repeat(9) }),
      /label a of metric "long_value" has a value of 9 bytes, more than GATEWAY_MAX_LABEL_VALUE_BYTES=8/,
    ],
    ['a value of few characters but many bytes', { job: 'j' }, gauge('wide', { a: '€€€' }), /value of 9 bytes/],
    ['a grouping label value past the byte limit', { job: 'j'.repeat(9) }, gauge('g'), /label job of metric "g"/],
    [
      'too many labels, grouping and instance included',
      { job: 'j' },
      gauge('many', { a: '1', b: '2' }),
      /metric "many" has 4 labels, more than GATEWAY_MAX_LABELS_PER_SERIES=3/,
    ],
  ])('refuses %s naming the metric', (_what, grouping, family, message) => {
    const result = preparePush({ grouping, families: [family] }, limits);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it('accepts a series exactly at the limits', () => {
    expect(preparePush({ grouping: { job: 'j' }, families: [gauge('g', { a: 'x'.repeat(8) })] }, limits).ok).toBe(true);
    expect(preparePush({ grouping: { job: 'j' }, families: [gauge('g', { a: '€€' })] }, limits).ok).toBe(true);
  });

  it('counts UTF-8 bytes as TextEncoder does, surrogate pairs and lone surrogates included', () => {
    for (const text of ['', 'abc', 'é', '€', '😀', 'a\ud800b', '\udc00', '\ud83d'])
      expect(utf8ByteLength(text)).toBe(new TextEncoder().encode(text).length);
  });
});

describe('native histograms', () => {
  const histogram = (native: Partial<NativeBuckets>, count = 3): MetricFamily => ({
    name: 'h',
    help: undefined,
    type: 'histogram',
    metrics: [
      {
        labels: {},
        buckets: [],
        sum: 1,
        count,
        native: {
          schema: 0,
          zeroThreshold: 0,
          zeroCount: 1,
          positiveSpans: [{ offset: 0, length: 2 }],
          positiveCounts: [1, 1],
          negativeSpans: [],
          negativeCounts: [],
          ...native,
        },
      },
    ],
  });

  it('accepts a consistent one and refuses an inconsistent one with the reason and the series', () => {
    expect(preparePush({ grouping: { job: 'j' }, families: [histogram({})] }).ok).toBe(true);
    expect(preparePush({ grouping: { job: 'j' }, families: [histogram({ positiveCounts: [1] })] })).toEqual({
      ok: false,
      message: expect.stringContaining(
        'histogram h{instance="",job="j"}: native histogram: positive spans cover 2 buckets but 1 bucket counts were given',
      ),
    });
    expect(preparePush({ grouping: { job: 'j' }, families: [histogram({ schema: 12 })] })).toMatchObject({
      message: expect.stringContaining('schema 12 is outside -4…8'),
    });
    expect(preparePush({ grouping: { job: 'j' }, families: [histogram({}, 2)] })).toMatchObject({
      message: expect.stringContaining('holds 3 observations in its buckets but its count is 2'),
    });
  });
});
