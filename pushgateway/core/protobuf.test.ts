import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { familiesArb, nativeFamilyArb } from '../../test/support/exposition-arbitraries.js';
import { encodeDelimited, encodeMetricFamily } from '../../test/support/protobuf-bodies.js';
import type { MetricFamily, NativeBuckets } from './model.js';
import { decodeDelimitedMetricFamilies } from './protobuf.js';
import { encodeDelimitedFamilies } from './protobuf-exposition.js';
import { ExpositionParseError } from './text-parser.js';

function decodeError(bytes: Uint8Array): ExpositionParseError {
  try {
    decodeDelimitedMetricFamilies(bytes);
  } catch (error) {
    if (error instanceof ExpositionParseError) return error;
    throw error;
  }
  throw new Error('decoded without error');
}

describe('decodeDelimitedMetricFamilies', () => {
  it('decodes what client_golang encodes (round trip through the test encoder)', () => {
    fc.assert(
      fc.property(familiesArb, (families) => {
        const decoded = decodeDelimitedMetricFamilies(encodeDelimited(families));
        expect(decoded.families).toEqual(families);
        expect(decoded.timestampedSample).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('reports timestamps for validation to refuse', () => {
    const body = encodeDelimited([{ name: 'a', help: undefined, type: 'gauge', metrics: [{ labels: {}, value: 1 }] }], {
      timestampMs: 1_700_000_000_000,
    });
    expect(decodeDelimitedMetricFamilies(body).timestampedSample).toEqual({ name: 'a', line: 1 });
  });

  it('adds the +Inf bucket when a histogram has none', () => {
    const body = encodeDelimited([
      {
        name: 'h',
        help: undefined,
        type: 'histogram',
        metrics: [{ labels: {}, buckets: [{ upperBound: 1, cumulativeCount: 2 }], sum: 3, count: 4 }],
      },
    ]);
    expect(decodeDelimitedMetricFamilies(body).families[0]!.metrics[0]).toEqual({
      labels: {},
      buckets: [
        { upperBound: 1, cumulativeCount: 2 },
        { upperBound: Infinity, cumulativeCount: 4 },
      ],
      sum: 3,
      count: 4,
    });
  });

  it('refuses truncated bodies, missing names and metrics of the wrong type', () => {
    const one = encodeDelimited([{ name: 'a', help: 'h', type: 'counter', metrics: [{ labels: { x: '1' }, value: 1 }] }]);
    expect(decodeError(one.subarray(0, one.length - 3)).message).toMatch(/protobuf: /);
    // type says gauge but the metric carries a counter value
    const gauge = encodeMetricFamily({ name: 'a', help: undefined, type: 'counter', metrics: [{ labels: {}, value: 1 }] });
    gauge[gauge.indexOf(0x18) + 1] = 1; // MetricFamily.type (field 3, varint) := GAUGE
    expect(decodeError(Uint8Array.from([gauge.length, ...gauge])).message).toContain('of type gauge has a metric without a gauge value');
    expect(decodeError(Uint8Array.from([2, 0x18, 0x01])).message).toContain('has no name');
  });

  it('never throws anything but ExpositionParseError, on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeDelimitedMetricFamilies(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(ExpositionParseError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but ExpositionParseError, on corrupted valid bodies', () => {
    fc.assert(
      fc.property(
        familiesArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (families, flips) => {
          const body = encodeDelimited(families);
          for (const [at, value] of flips) body[at % body.length] = value;
          try {
            decodeDelimitedMetricFamilies(body);
          } catch (error) {
            expect(error).toBeInstanceOf(ExpositionParseError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps a leading U+FEFF of a label value', () => {
    const body = encodeDelimited([{ name: 'bom', help: undefined, type: 'gauge', metrics: [{ labels: { l: '\uFEFFv' }, value: 1 }] }]);
    expect(decodeDelimitedMetricFamilies(body).families[0]!.metrics[0]!.labels).toEqual({ l: '\uFEFFv' });
  });
});

describe('native histograms', () => {
  const decoded = (families: MetricFamily[], options?: Parameters<typeof encodeDelimited>[1]) =>
    decodeDelimitedMetricFamilies(encodeDelimited(families, options)).families;

  it('decodes the native fields as client_golang sends them, packed or not, with or without classic buckets', () => {
    fc.assert(
      fc.property(nativeFamilyArb, fc.boolean(), (family, unpacked) => {
        expect(decoded([family], { unpacked })).toEqual([family]);
      }),
      { numRuns: 300 },
    );
  });

  it('reads what the scrape encoder writes (the gateway serves what it stored)', () => {
    fc.assert(
      fc.property(nativeFamilyArb, (family) => {
        expect(decodeDelimitedMetricFamilies(encodeDelimitedFamilies([family])).families).toEqual([family]);
      }),
      { numRuns: 300 },
    );
  });

  it('turns integer deltas into absolute counts, and keeps a native-only histogram without classic buckets', () => {
    const native: NativeBuckets = {
      schema: 3,
      zeroThreshold: 2 ** -128,
      zeroCount: 1,
      positiveSpans: [{ offset: -2, length: 3 }],
      positiveCounts: [5, 2, 7],
      negativeSpans: [],
      negativeCounts: [],
    };
    const body = encodeDelimited([
      { name: 'h', help: undefined, type: 'histogram', metrics: [{ labels: {}, buckets: [], sum: 1, count: 15, native }] },
    ]);
    // The deltas on the wire: 5, -3, +5 (zigzag 10, 5, 10).
    expect([...body].join(',')).toContain([0x6a, 3, 10, 5, 10].join(','));
    expect(decodeDelimitedMetricFamilies(body).families[0]!.metrics[0]).toEqual({ labels: {}, buckets: [], sum: 1, count: 15, native });
  });

  it('refuses a float histogram that sends integer deltas', () => {
    const native: NativeBuckets = {
      schema: 0,
      zeroThreshold: 0,
      zeroCount: 0,
      positiveSpans: [{ offset: 0, length: 1 }],
      positiveCounts: [1],
      negativeSpans: [],
      negativeCounts: [],
      float: true,
    };
    const body = encodeDelimited(
      [{ name: 'h', help: undefined, type: 'histogram', metrics: [{ labels: {}, buckets: [], sum: 0, count: 1, native }] }],
      {
        floatAsDeltas: true,
      },
    );
    expect(decodeError(body).message).toBe(
      'protobuf: metric family "h" is a float native histogram with integer bucket deltas (positive_delta)',
    );
  });
});
