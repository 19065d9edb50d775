import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { checkUserId, userIndexKey, userIndexPrefix, userIndexSegment } from './keys.js';

describe('userIndexKey', () => {
  it.each<[string | number, string]>([
    [1, 'session:user:1'],
    [0, 'session:user:0'],
    [-7, 'session:user:-7'],
    [Number.MAX_SAFE_INTEGER, 'session:user:9007199254740991'],
    ['1', 'session:user:"1"'],
    ['-7', 'session:user:"-7"'],
    ['007', 'session:user:"007"'],
    ['"1"', 'session:user:"\\"1\\""'],
    ['"', 'session:user:"\\""'],
    ['u-bob', 'session:user:u-bob'],
    ['1.5', 'session:user:1.5'],
    ['1e3', 'session:user:1e3'],
    ['1\n', 'session:user:1\n'],
    ['alice@example.com', 'session:user:alice@example.com'],
    ['', 'session:user:'],
  ])('%j → %s', (userId, key) => {
    expect(userIndexKey('session:', userId)).toBe(key);
  });

  it('gives the number 1 and the string "1" different keys', () => {
    expect(userIndexKey('p:', 1)).not.toBe(userIndexKey('p:', '1'));
    expect(userIndexKey('p:', -1)).not.toBe(userIndexKey('p:', '-1'));
  });

  it('keeps the key of every number id and of every string id that does not look like an integer or start with a quote', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => userIndexSegment(n) === String(n)),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !/^-?\d+$/.test(s) && !s.startsWith('"')),
        (s) => userIndexSegment(s) === s,
      ),
      { numRuns: 2000 },
    );
  });

  it('never gives two different ids (with their type) the same key', () => {
    const id = fc.oneof(
      fc.maxSafeInteger(),
      fc.integer({ min: -1000, max: 1000 }),
      fc.integer({ min: -1000, max: 1000 }).map(String),
      fc.stringMatching(/^-?\d{1,20}$/),
      fc.string({ unit: fc.constantFrom('"', '\\', '1', '-', 'a', 'u', '\n'), maxLength: 8 }),
      fc.string({ unit: 'binary', maxLength: 12 }),
    );
    fc.assert(
      fc.property(id, id, (a, b) => (a === b) === (userIndexSegment(a) === userIndexSegment(b))),
      { numRuns: 20_000 },
    );
  });

  it('every key starts with userIndexPrefix', () => {
    for (const id of [1, '1', 'u-bob', '']) expect(userIndexKey('app:s:', id).startsWith(userIndexPrefix('app:s:'))).toBe(true);
    expect(userIndexPrefix('app:s:')).toBe('app:s:user:');
  });

  it.each<[string, unknown]>([
    ['a fraction', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['past the safe integers', 2 ** 53],
    ['a bigint', 1n],
    ['null', null],
    ['an object', { id: 1 }],
  ])("refuses %s with a TypeError (String() of it could name another user's index)", (_label, userId) => {
    expect(() => userIndexSegment(userId as number)).toThrow(TypeError);
    expect(() => checkUserId(userId)).toThrow(TypeError);
  });
});
