import { describe, expect, it } from '@jest/globals';
import { validateSessionOptions } from './validate.js';
import { show } from './values.js';

describe('show (a value as a problem sentence quotes it)', () => {
  it.each<[unknown, string]>([
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [-0, '-0'],
    [10n, '10n'],
    [-3n, '-3n'],
    [undefined, 'undefined'],
    [Symbol('ttl'), 'Symbol(ttl)'],
    [() => 1, 'a function'],
  ])('%p is written %s', (value, expected) => {
    expect(show(value)).toBe(expected);
  });

  it('writes those values inside objects and arrays the same way', () => {
    expect(show({ ttl: NaN, limit: Infinity, n: 2n })).toBe('{"ttl":NaN,"limit":Infinity,"n":2n}');
    expect(show([1, -0, -Infinity])).toBe('[1,-0,-Infinity]');
  });

  it('keeps JSON for everything else, as before', () => {
    expect(show(0)).toBe('0');
    expect(show(1.5)).toBe('1.5');
    expect(show('on')).toBe('"on"');
    expect(show(null)).toBe('null');
    expect(show(true)).toBe('true');
    expect(show({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
    expect(show('NaN')).toBe('"NaN"');
    expect(show('\u0000NaN\u0000')).toBe('"\\u0000NaN\\u0000"');
  });

  it('never throws: a cycle is written as String() writes it', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(show(cycle)).toBe('[object Object]');
  });

  it("ttl: Number('abc') is reported as NaN, not null", () => {
    expect(validateSessionOptions({ ttl: Number('abc') }).find((problem) => problem.startsWith('`ttl`'))).toMatch(
      /\(got NaN\)\.$/,
    );
    expect(validateSessionOptions({ ttl: -0 }).find((problem) => problem.startsWith('`ttl`'))).toMatch(/\(got -0\)\.$/);
  });
});
