import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatGoFloat, parseGoFloat } from './float.js';

describe('formatGoFloat (as strconv.FormatFloat(v, g, -1, 64) in expfmt)', () => {
  it.each([
    [0, '0'],
    [-0, '0'],
    [1, '1'],
    [-1, '-1'],
    [0.1, '0.1'],
    [1e-7, '1e-07'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [123456, '123456'],
    [1234567, '1.234567e+06'],
    [1e6, '1e+06'],
    [123456789012, '1.23456789012e+11'],
    [1795749538.1432474, '1.7957495381432474e+09'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [Number.NaN, 'NaN'],
    [1e300, '1e+300'],
    [-2.5e-300, '-2.5e-300'],
  ])('%s → %s', (value, text) => {
    expect(formatGoFloat(value)).toBe(text);
  });

  it('round-trips every double through parseGoFloat', () => {
    fc.assert(
      fc.property(fc.double(), (value) => {
        expect(Object.is(parseGoFloat(formatGoFloat(value)), Object.is(value, -0) ? 0 : value)).toBe(true);
      }),
    );
  });
});

describe('parseGoFloat (as strconv.ParseFloat)', () => {
  it.each([
    ['1', 1],
    ['-1.5e3', -1500],
    ['.5', 0.5],
    ['5.', 5],
    ['+Inf', Infinity],
    ['inf', Infinity],
    ['-infinity', -Infinity],
    ['NaN', Number.NaN],
    ['nan', Number.NaN],
  ])('%s', (text, value) => {
    expect(Object.is(parseGoFloat(text), value)).toBe(true);
  });

  it.each(['', '0x10', '1_000', '1e', 'abc', '1\r', ' 1'])('refuses %j', (text) => {
    expect(parseGoFloat(text)).toBeUndefined();
  });
});
