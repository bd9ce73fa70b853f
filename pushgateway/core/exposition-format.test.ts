import { describe, expect, it } from 'vitest';
import { negotiateFormat, renderFamilies } from './exposition-format.js';
import type { MetricFamily } from './model.js';

const families: MetricFamily[] = [
  { name: 'c_total', help: 'a "quoted" \\ help\nline', type: 'counter', metrics: [{ labels: { job: 'j', a: '1' }, value: 3 }] },
  { name: 'plain', help: undefined, type: 'counter', metrics: [{ labels: {}, value: 1 }] },
  { name: 'u', help: undefined, type: 'untyped', metrics: [{ labels: { a: 'x' }, value: 0.5 }] },
  {
    name: 'h',
    help: undefined,
    type: 'histogram',
    metrics: [
      {
        labels: { b: '2' },
        buckets: [
          { upperBound: 0.1, cumulativeCount: 1 },
          { upperBound: Infinity, cumulativeCount: 2 },
        ],
        sum: 1e-7,
        count: 2,
      },
    ],
  },
  { name: 's', help: undefined, type: 'summary', metrics: [{ labels: {}, quantiles: [{ quantile: 0.5, value: 1 }], sum: 2, count: 3 }] },
];

describe('renderFamilies', () => {
  it('writes text 0.0.4 as expfmt does: sorted labels, le/quantile last, Go floats, HELP escaping', () => {
    expect(renderFamilies(families, 'text')).toBe(
      '# HELP c_total a "quoted" \\\\ help\\nline\n# TYPE c_total counter\nc_total{a="1",job="j"} 3\n' +
        '# TYPE plain counter\nplain 1\n' +
        '# TYPE u untyped\nu{a="x"} 0.5\n' +
        '# TYPE h histogram\nh_bucket{b="2",le="0.1"} 1\nh_bucket{b="2",le="+Inf"} 2\nh_sum{b="2"} 1e-07\nh_count{b="2"} 2\n' +
        '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\n',
    );
  });

  it('writes OpenMetrics keeping every series name: counters without _total become unknown', () => {
    const text = renderFamilies(families, 'openmetrics');
    expect(text).toContain('# TYPE c counter\n# HELP c a \\"quoted\\" \\\\ help\\nline\nc_total{a="1",job="j"} 3\n');
    expect(text).toContain('# TYPE plain unknown\nplain 1\n');
    expect(text).toContain('# TYPE u unknown\n');
    expect(text.endsWith('# EOF\n')).toBe(true);
  });
});

describe('negotiateFormat', () => {
  it.each([
    [undefined, 'text'],
    ['*/*', 'text'],
    ['text/plain;version=0.0.4', 'text'],
    [
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'openmetrics',
    ],
    ['text/plain;version=0.0.4,application/openmetrics-text;q=0.5', 'text'],
    ['application/openmetrics-text;q=0', 'text'],
  ])('%s → %s', (accept, format) => {
    expect(negotiateFormat(accept)).toBe(format);
  });
});
