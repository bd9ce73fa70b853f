import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GroupingError, groupKey, labelText, parseGroupingPath, parseLabelText } from './grouping.js';
import type { Labels } from './model.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

describe('parseGroupingPath', () => {
  it('reads job and label pairs', () => {
    expect(parseGroupingPath('job/api/instance/host-1/zone/eu')).toEqual({ job: 'api', instance: 'host-1', zone: 'eu' });
  });

  it('decodes @base64 values, URL-safe, with or without padding, and = alone as empty', () => {
    expect(parseGroupingPath(`job@base64/${b64('a/b')}`)).toEqual({ job: 'a/b' });
    expect(parseGroupingPath('job/j/path@base64/L3Zhci90bXA')).toEqual({ job: 'j', path: '/var/tmp' });
    expect(parseGroupingPath('job/j/path@base64/L3Zhci90bXA=')).toEqual({ job: 'j', path: '/var/tmp' });
    expect(parseGroupingPath(`job/j/v@base64/${b64('??>')}`)).toEqual({ job: 'j', v: '??>' });
    expect(parseGroupingPath('job/j/empty@base64/=')).toEqual({ job: 'j', empty: '' });
  });

  it('percent-decodes each segment on its own, so an encoded slash stays in its value', () => {
    expect(parseGroupingPath('job/a%2Fb/x/%C3%A9')).toEqual({ job: 'a/b', x: 'é' });
  });

  it('treats a trailing slash after the job as nothing and after a name as an empty value', () => {
    expect(parseGroupingPath('job/a/')).toEqual({ job: 'a' });
    expect(parseGroupingPath('job/a/foo/')).toEqual({ job: 'a', foo: '' });
  });

  it.each([
    ['job/a/foo', 'odd number of components'],
    ['job/a/x/1/y', 'odd number of components'],
    ['job/a/__x/1', 'improper label name "__x"'],
    ['job/a/1x/1', 'improper label name "1x"'],
    ['job/a//x', 'improper label name ""'],
    ['job/', 'job name is required'],
    ['job@base64/=', 'job name is required'],
    ['job/a/v@base64/!!', 'invalid base64'],
    ['job/a/v@base64/Y', 'invalid base64'],
    ['job/a/v@base64/_w', 'not valid UTF-8'],
    ['jobs/a', 'must start with /metrics/job/'],
    ['job/a/x/%ZZ', 'invalid percent-encoding'],
  ])('refuses %s', (path, message) => {
    expect(() => parseGroupingPath(path)).toThrow(GroupingError);
    expect(() => parseGroupingPath(path)).toThrow(message);
  });

  it('lets the job segment win over a later job label, as the official gateway', () => {
    expect(parseGroupingPath('job/a/job/b')).toEqual({ job: 'a' });
  });

  it('round-trips any label value through @base64', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.boolean(), (value, padded) => {
        const encoded = padded ? Buffer.from(value).toString('base64').replaceAll('+', '-').replaceAll('/', '_') : b64(value);
        expect(parseGroupingPath(`job/j/v@base64/${encoded || '='}`)).toEqual({ job: 'j', v: value });
      }),
    );
  });

  it('never throws anything but GroupingError', () => {
    fc.assert(
      fc.property(fc.string(), (path) => {
        try {
          parseGroupingPath(path);
        } catch (error) {
          expect(error).toBeInstanceOf(GroupingError);
        }
      }),
    );
  });
});

describe('groupKey and labelText', () => {
  it('adds instance="" so /job/a and /job/a/instance/ are one group', () => {
    expect(groupKey({ job: 'a' })).toBe(groupKey({ job: 'a', instance: '' }));
    expect(groupKey({ job: 'a' })).toBe('instance="",job="a"');
  });

  it('is independent of label order and unambiguous under escaping', () => {
    expect(groupKey({ job: 'a', b: '1' })).toBe(groupKey({ b: '1', job: 'a' }));
    expect(labelText({ a: 'x",b="y' })).not.toBe(labelText({ a: 'x', b: 'y' }));
    expect(labelText({ a: 'q"\\\n' })).toBe('a="q\\"\\\\\\n"');
  });

  it('keeps a leading U+FEFF of a base64 value, so it does not collide with the value without it', () => {
    expect(parseGroupingPath(`job@base64/${b64('\uFEFFj')}`)).toEqual({ job: '\uFEFFj' });
  });
});

describe('parseGroupingPath with UTF-8 names (official 1.11 --push.enable-utf8-names, README "UTF-8 support")', () => {
  it('unescapes U__ label names, with @base64 values too', () => {
    expect(parseGroupingPath('job/example/U__foo_2e_bar/baz', 'utf8')).toEqual({ job: 'example', 'foo.bar': 'baz' });
    expect(parseGroupingPath('job/example/U__foo_2e_bar@base64/YmF6', 'utf8')).toEqual({ job: 'example', 'foo.bar': 'baz' });
    expect(parseGroupingPath('job/e/U___55_____/x', 'utf8')).toEqual({ job: 'e', U__: 'x' });
  });

  it('keeps a name that only looks escaped as it is', () => {
    expect(parseGroupingPath('job/e/U__in_xxx_valid/x', 'utf8')).toEqual({ job: 'e', U__in_xxx_valid: 'x' });
  });

  it('refuses a name that unescapes to a reserved one', () => {
    expect(() => parseGroupingPath('job/e/U______x/1', 'utf8')).toThrow('improper label name "U______x"');
  });

  it('leaves U__ names alone and refuses other names when UTF-8 names are off', () => {
    expect(parseGroupingPath('job/e/U__foo_2e_bar/baz')).toEqual({ job: 'e', U__foo_2e_bar: 'baz' });
    expect(() => parseGroupingPath('job/e/foo.bar/baz')).toThrow('improper label name "foo.bar"');
    expect(parseGroupingPath('job/e/foo.bar/baz', 'utf8')).toEqual({ job: 'e', 'foo.bar': 'baz' });
  });

  it('quotes UTF-8 label names in the group key, which stays unambiguous', () => {
    expect(labelText({ 'a.b': '1', c: '2' })).toBe('"a.b"="1",c="2"');
    expect(groupKey({ job: 'j', 'x"y': 'v' })).not.toBe(groupKey({ job: 'j', x: 'y"=v' }));
  });
});

describe('parseLabelText', () => {
  it('reads back what labelText writes: escapes, quoted UTF-8 names, empty values, commas and equals signs', () => {
    const cases: Labels[] = [
      { job: 'a', instance: '' },
      { a: 'q"\\\n', b: '\\n', c: 'x",b="y', d: '=,{}' },
      { 'a.b': '1', 'x"y\\': 'v', 'ü=,': '"' },
    ];
    for (const labels of cases) expect(parseLabelText(labelText(labels))).toEqual(labels);
  });

  it('round-trips any labels', () => {
    const name = fc.oneof(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/), fc.string({ minLength: 1, maxLength: 8 }));
    fc.assert(
      fc.property(fc.dictionary(name, fc.string({ maxLength: 12 })), (labels) => {
        expect(parseLabelText(labelText(labels))).toEqual({ ...labels });
      }),
      { numRuns: 2000 },
    );
  });
});
