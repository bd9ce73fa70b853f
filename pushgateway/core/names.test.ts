import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeName, isPushableLabelName, isValidMetricName, sampleSeriesText, unescapeValuesName } from './names.js';

describe('name validation', () => {
  it('keeps legacy names legacy unless UTF-8 names are on', () => {
    expect(isValidMetricName('http_requests:rate5m')).toBe(true);
    expect(isValidMetricName('http.requests')).toBe(false);
    expect(isValidMetricName('http.requests', 'utf8')).toBe(true);
    expect(isValidMetricName('', 'utf8')).toBe(false);
    expect(isPushableLabelName('a:b')).toBe(false);
    expect(isPushableLabelName('a:b', 'utf8')).toBe(true);
  });

  it('refuses reserved and empty label names in both modes', () => {
    for (const validation of ['legacy', 'utf8'] as const) {
      expect(isPushableLabelName('__x', validation)).toBe(false);
      expect(isPushableLabelName('', validation)).toBe(false);
    }
  });
});

describe('escapeName (prometheus/docs escaping_schemes.md)', () => {
  it.each([
    ['metric.name/with/slashes', 'underscores', 'metric_name_with_slashes'],
    ['metric.name.with.dots', 'dots', 'metric_dot_name_dot_with_dot_dots'],
    ['my_metric.x', 'dots', 'my__metric_dot_x'],
    ['metric.name', 'values', 'U__metric_2e_name'],
    ['a_b.c', 'values', 'U__a__b_2e_c'],
    ['emoji😊', 'values', 'U__emoji_1f60a_'],
    ['1st', 'underscores', '_st'],
    ['héllo', 'allow-utf-8', 'héllo'],
  ] as const)('%s under %s is %s', (name, scheme, escaped) => {
    expect(escapeName(name, scheme)).toBe(escaped);
  });

  it('leaves legacy names alone under every scheme, as expfmt EscapeMetricFamily does', () => {
    for (const scheme of ['underscores', 'dots', 'values', 'allow-utf-8'] as const)
      expect(escapeName('http_requests_total', scheme)).toBe('http_requests_total');
  });

  it('values-escaping round-trips every name that needs escaping', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), (name) => {
        const escaped = escapeName(name, 'values');
        expect(escaped).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
        if (escaped !== name) expect(unescapeValuesName(escaped)).toBe(name);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('unescapeValuesName (official 1.11 README, UTF-8 support)', () => {
  it.each([
    ['U__foo_2e_bar', 'foo.bar'],
    ['U___55_____', 'U__'],
    ['U__in_xxx_valid', 'U__in_xxx_valid'],
    ['U__trailing_', 'U__trailing_'],
    ['U___d800_', 'U___d800_'],
    ['U___110000_', 'U___110000_'],
    ['plain_name', 'plain_name'],
  ])('%s is %s', (escaped, name) => {
    expect(unescapeValuesName(escaped)).toBe(name);
  });
});

describe('sampleSeriesText', () => {
  it('puts a name outside the legacy set inside the braces, quoted', () => {
    expect(sampleSeriesText('up', '')).toBe('up');
    expect(sampleSeriesText('up', 'a="1"')).toBe('up{a="1"}');
    expect(sampleSeriesText('my.metric', '')).toBe('{"my.metric"}');
    expect(sampleSeriesText('say "hi"\\', 'a="1"')).toBe('{"say \\"hi\\"\\\\",a="1"}');
  });
});
