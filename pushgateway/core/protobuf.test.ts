import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { familiesArb } from '../../test/support/exposition-arbitraries.js';
import { decodeDelimitedMetricFamilies } from './protobuf.js';
import { encodeDelimited, encodeMetricFamily } from '../../test/support/protobuf-bodies.js';
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
});
