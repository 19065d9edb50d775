import { describe, expect, it } from '@jest/globals';
import { bool, fields, listed, section, wholeNumber, type Check } from './checks.js';

/** The problems `check` finds in `value`, named `name`. */
function run(check: Check, value: unknown, name = 'x', parent: Record<string, unknown> = {}): string[] {
  const problems: string[] = [];
  check(value, name, problems, parent);
  return problems;
}

describe('check helpers', () => {
  it('list values the way the messages do', () => {
    expect(listed(['none', 'replicated'])).toBe("'none' or 'replicated'");
    expect(listed(['cookie', 'bearer', 'both'])).toBe("'cookie', 'bearer' or 'both'");
  });

  it('take undefined as left out', () => {
    expect(run(bool, undefined)).toEqual([]);
    expect(run(wholeNumber(1), undefined)).toEqual([]);
  });

  it('word a whole number with or without a range', () => {
    expect(run(wholeNumber(1), 0, 'n')).toEqual(['`n` must be a whole number ≥ 1 (got 0).']);
    expect(run(wholeNumber(2, 9, 'bytes'), 10, 'n')).toEqual(['`n` must be a whole number of bytes from 2 to 9 (got 10).']);
    expect(run(wholeNumber(2, 9, 'bytes'), 9, 'n')).toEqual([]);
  });

  it('check a section: its form, then unknown keys, then each key in order, then the rules across them', () => {
    const after = (given: Record<string, unknown>, problems: string[]) => {
      if (given.a === true && given.b === true) problems.push('not both.');
    };
    const s = section('be false or { a?, b? }', { a: bool, b: bool }, { allows: (v) => v === false, after });
    expect(run(s, false, 's')).toEqual([]);
    expect(run(s, 'on', 's')).toEqual(['`s` must be false or { a?, b? } (got "on").']);
    expect(run(s, { b: 1, c: 1, a: 1 }, 's')).toEqual([
      'unknown option `s.c`.',
      '`s.a` must be true or false (got 1).',
      '`s.b` must be true or false (got 1).',
    ]);
    expect(run(s, { a: true, b: true }, 's')).toEqual(['not both.']);
  });

  it('hand each check the object it sits in', () => {
    const seen: unknown[] = [];
    const spy: Check = (_value, name, _problems, parent) => seen.push([name, parent]);
    const given = { a: 1 };
    fields({ a: spy }, given, 'p.', []);
    expect(seen).toEqual([['p.a', given]]);
  });
});
