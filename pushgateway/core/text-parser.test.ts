import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { familiesArb } from '../../test/support/exposition-arbitraries.js';
import { renderFamilies } from './exposition-format.js';
import { decodeTextBody, ExpositionParseError, parseTextExposition } from './text-parser.js';

const parse = (text: string) => parseTextExposition(text).families;

function parseError(text: string): ExpositionParseError {
  try {
    parseTextExposition(text);
  } catch (error) {
    if (error instanceof ExpositionParseError) return error;
    throw error;
  }
  throw new Error(`parsed without error: ${JSON.stringify(text)}`);
}

describe('parseTextExposition', () => {
  it('reads HELP, TYPE, labels and special values', () => {
    const [family] = parse(
      '# HELP e_total esc \\\\ and \\n new\n# TYPE e_total counter\ne_total{v="q\\"uo\\\\te\\nnl"} +Inf\ne_total{v="2"} NaN\ne_total{ v = "3" , } -Inf\n',
    );
    expect(family!.name).toBe('e_total');
    expect(family!.help).toBe('esc \\ and \n new');
    expect(family!.type).toBe('counter');
    expect(family!.metrics).toEqual([
      { labels: { v: 'q"uo\\te\nnl' }, value: Infinity },
      { labels: { v: '2' }, value: Number.NaN },
      { labels: { v: '3' }, value: -Infinity },
    ]);
  });

  it('groups histogram and summary samples into metrics by their labels, wherever they appear', () => {
    const families = parse(
      '# TYPE h histogram\nh_bucket{a="1",le="1"} 1\nh_bucket{a="2",le="1"} 5\nh_sum{a="1"} 3\nh_bucket{le="+Inf",a="1"} 2\nh_count{a="1"} 2\n' +
        '# TYPE s summary\ns{quantile="0.9"} 2\ns{quantile="0.5"} 1\ns_sum 5\ns_count 4\n',
    );
    expect(families).toEqual([
      {
        name: 'h',
        help: undefined,
        type: 'histogram',
        metrics: [
          {
            labels: { a: '1' },
            buckets: [
              { upperBound: 1, cumulativeCount: 1 },
              { upperBound: Infinity, cumulativeCount: 2 },
            ],
            sum: 3,
            count: 2,
          },
          // No +Inf bucket pushed: it holds every observation (the count), as expfmt writes it.
          {
            labels: { a: '2' },
            buckets: [
              { upperBound: 1, cumulativeCount: 5 },
              { upperBound: Infinity, cumulativeCount: 0 },
            ],
            sum: 0,
            count: 0,
          },
        ],
      },
      {
        name: 's',
        help: undefined,
        type: 'summary',
        metrics: [
          {
            labels: {},
            quantiles: [
              { quantile: 0.5, value: 1 },
              { quantile: 0.9, value: 2 },
            ],
            sum: 5,
            count: 4,
          },
        ],
      },
    ]);
  });

  it('reads labels named like Object.prototype members', () => {
    expect(parse('b{constructor="1",toString="2"} 1\n')[0]!.metrics[0]!.labels).toEqual({ constructor: '1', toString: '2' });
  });

  it('keeps x_count a family of its own when x is not a declared summary or histogram', () => {
    expect(parse('x 1\nx_count 2\n').map((f) => f.name)).toEqual(['x', 'x_count']);
  });

  it('accepts comments, blank lines, leading blanks, TYPE case-insensitively (also as #TYPE, like expfmt) and HELP after samples', () => {
    const families = parse('# just a comment\n\n  \t a 1\n# TYPE b Counter\nb 2\nc 1\n# HELP c late\n# HELP\n#TYPE d gauge\nd 1\n');
    expect(families.map((f) => [f.name, f.type, f.help])).toEqual([
      ['a', 'untyped', undefined],
      ['b', 'counter', undefined],
      ['c', 'untyped', 'late'],
      ['d', 'gauge', undefined],
    ]);
  });

  it('drops families that have a TYPE but no samples', () => {
    expect(parse('# TYPE ot gauge\n')).toEqual([]);
    expect(parse('')).toEqual([]);
  });

  it('reports a timestamp without failing, for validation to refuse', () => {
    const parsed = parseTextExposition('a 1\nb 2 1700000000000\n');
    expect(parsed.timestampedSample).toEqual({ name: 'b', line: 2 });
    expect(parseTextExposition('a 1\n').timestampedSample).toBeUndefined();
  });

  it.each([
    ['a 1', 1, 'unexpected end of input stream'],
    ['a 1\n# comment', 2, 'unexpected end of input stream'],
    ['a 1\r\n', 1, 'expected float as value, got "1\\r"'],
    ['a 1 \n', 1, 'expected integer as timestamp, got ""'],
    ['a 1 2 3\n', 1, 'spurious string after timestamp'],
    ['a 0x10\n', 1, 'expected float as value, got "0x10"'],
    ['garbage line here\n', 1, 'expected float as value, got "line"'],
    ['ok 1\na{b="1",b="2"} 1\n', 2, 'duplicate label names for metric "a"'],
    ['# TYPE a foo\na 1\n', 1, 'unknown metric type "foo"'],
    ['a 1\n# TYPE a gauge\n', 2, 'second TYPE line for metric name "a", or TYPE reported after samples'],
    ['# HELP a x\n# HELP a y\na 1\n', 2, 'second HELP line for metric name "a"'],
    ['# HELP a x \\"q\\"\na 1\n', 1, "invalid escape sequence '\\\"'"],
    ['b{l="a\\tb"} 1\n', 1, "invalid escape sequence '\\t'"],
    ['b{l="a\nb"} 1\n', 1, 'label value contains a newline'],
    ['b{1l="a"} 1\n', 1, 'invalid label name for metric "b"'],
    ['b{__name__="a"} 1\n', 1, 'label name "__name__" is reserved'],
    ['b{__proto__="a"} 1\n', 1, 'label name "__proto__" is reserved'],
    ['b{constructor="a",constructor="b"} 1\n', 1, 'duplicate label names'],
    ['b{l="a', 1, 'unexpected end of input stream'],
    ['b{l="a\\', 1, 'unexpected end of input stream'],
    ['b{l', 1, 'unexpected end of input stream'],
    ['b{l "a"} 1\n', 1, "expected '=' after label name"],
    ['b{l=a} 1\n', 1, "expected '\"' at start of label value"],
    ['b{l="a" x="b"} 1\n', 1, 'unexpected end of label value'],
    ['{l="a"} 1\n', 1, 'invalid metric name'],
    ['# HELP 1a x\n', 1, 'invalid metric name in comment'],
    ['# TYPE h histogram\nh_bucket{le="x"} 1\n', 2, "expected float as value for 'le' label"],
    ['# TYPE h histogram\nh_bucket 1\n', 2, "has no 'le' label"],
    ['# TYPE h histogram\nh 1\n', 2, 'is not a _bucket, _sum or _count'],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="1.0"} 1\n', 3, 'duplicate bucket le="1"'],
    ['# TYPE h histogram\nh_bucket{le="NaN"} 1\n', 2, 'le="NaN"'],
    ['# TYPE s summary\ns 1\n', 2, "has no 'quantile' label"],
    ['# TYPE s summary\ns{quantile="0.5"} 1\ns{quantile="0.5"} 1\n', 3, 'duplicate quantile'],
  ])('refuses %j at line %i', (text, line, message) => {
    const error = parseError(text);
    expect(error.line).toBe(line);
    expect(error.message).toContain(`line ${line}: `);
    expect(error.message).toContain(message);
  });

  describe('quoted names (UTF-8 names, expfmt text_parse.go readTokenAsMetricName/readTokenAsLabelName)', () => {
    const utf8 = (text: string) => parseTextExposition(text, 'utf8').families;

    it('reads a quoted metric name inside the braces, quoted label names and quoted names in HELP and TYPE', () => {
      const text = '# HELP "my.metric" Says hi.\n# TYPE "my.metric" counter\n{"my.metric","my.label"="v",plain="p"} 3\n';
      expect(utf8(text)).toEqual([
        { name: 'my.metric', help: 'Says hi.', type: 'counter', metrics: [{ labels: { 'my.label': 'v', plain: 'p' }, value: 3 }] },
      ]);
    });

    it('reads a quoted name before the braces and alone in them, and suffixes of a quoted histogram', () => {
      expect(utf8('"a.b"{x="1"} 1\n{"c.d"} 2\n')).toEqual([
        { name: 'a.b', help: undefined, type: 'untyped', metrics: [{ labels: { x: '1' }, value: 1 }] },
        { name: 'c.d', help: undefined, type: 'untyped', metrics: [{ labels: {}, value: 2 }] },
      ]);
      const histogram = utf8(
        '# TYPE "h.x" histogram\n{"h.x_bucket",le="1"} 1\n{"h.x_bucket",le="+Inf"} 2\n{"h.x_sum"} 3\n{"h.x_count"} 2\n',
      );
      expect(histogram[0]).toMatchObject({ name: 'h.x', type: 'histogram', metrics: [{ count: 2, sum: 3 }] });
    });

    it('unescapes \\\\, \\" and \\n in quoted names', () => {
      expect(utf8('{"a\\"b\\\\c\\nd"} 1\n')[0]!.name).toBe('a"b\\c\nd');
    });

    it('accepts a quoted legacy name without UTF-8 names and refuses other names', () => {
      expect(parse('{"legacy_name",x="1"} 1\n')[0]!.name).toBe('legacy_name');
      expect(parseError('{"my.metric"} 1\n').message).toContain('invalid metric name "my.metric"');
      expect(parseError('x{"my.label"="v"} 1\n').message).toContain('invalid label name "my.label"');
    });

    it('refuses an empty quoted name, a label first inside the braces and an unterminated name', () => {
      expect(() => utf8('{""} 1\n')).toThrow('invalid metric name ""');
      expect(() => utf8('{a="1"} 1\n')).toThrow('invalid metric name');
      expect(() => utf8('{"a.b" x="1"} 1\n')).toThrow('unexpected end of metric name');
      expect(() => utf8('{"a.b\n"} 1\n')).toThrow('metric name contains a newline');
      expect(() => utf8('x{""="1"} 1\n')).toThrow('invalid label name ""');
    });

    it('parses what the renderer writes for any UTF-8 names back into the same family', () => {
      const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
      const labelName = name.filter((n) => !n.startsWith('__') && n !== '__proto__');
      fc.assert(
        fc.property(name, fc.dictionary(labelName, fc.string({ maxLength: 8 }), { maxKeys: 4 }), (familyName, labels) => {
          const family = { name: familyName, help: 'h', type: 'gauge' as const, metrics: [{ labels, value: 1 }] };
          expect(utf8(renderFamilies([family], 'text'))).toEqual([family]);
        }),
        { numRuns: 1000 },
      );
    });
  });

  it('refuses invalid UTF-8', () => {
    expect(() => decodeTextBody(Uint8Array.from([0x61, 0x7b, 0x62, 0x3d, 0x22, 0xff, 0x22, 0x7d, 0x20, 0x31, 0x0a]))).toThrow(
      ExpositionParseError,
    );
  });

  it('parses what the renderer writes back into the same families (render → parse round trip)', () => {
    fc.assert(
      fc.property(familiesArb, (families) => {
        expect(parse(renderFamilies(families, 'text'))).toEqual(families);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but ExpositionParseError, on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          parseTextExposition(decodeTextBody(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(ExpositionParseError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws anything but ExpositionParseError, on near-valid text', () => {
    const token = fc.constantFrom(
      '# ',
      'HELP ',
      'TYPE ',
      'histogram',
      'summary',
      'counter',
      'x',
      'x_bucket',
      'x_sum',
      'x_count',
      '{',
      '}',
      '=',
      '"',
      '\\',
      ',',
      ' ',
      '\t',
      '\n',
      'le',
      'quantile',
      '1',
      '+Inf',
      'NaN',
      '-',
      '.',
      'e',
      '\r',
      '"0.5"',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), (tokens) => {
        try {
          parseTextExposition(tokens.join(''));
        } catch (error) {
          expect(error).toBeInstanceOf(ExpositionParseError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
