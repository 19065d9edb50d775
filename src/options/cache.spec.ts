// The `cache` option (issue 20): when the session cache serves guarded calls, its limits, and
// the boot message of each bad value. The wording of the messages is part of the contract.
import { describe, expect, it } from '@jest/globals';
import { resolveSessionOptions } from './resolve.js';
import { validateSessionOptions } from './validate.js';

const redis = { url: 'redis://localhost:6379' };
const cacheOf = (options: Record<string, unknown>) => resolveSessionOptions({ redis, ...options }).cache;

describe('the cache option', () => {
  it('left out: socket messages use it whenever liveRevocation is on (the default), HTTP never', () => {
    expect(cacheOf({})).toEqual({ http: false, sockets: true, max: 10_000, slideEveryMs: null });
    expect(cacheOf({ liveRevocation: false })).toEqual({ http: false, sockets: false, max: 10_000, slideEveryMs: null });
  });

  it('true: every guarded call uses it, with the default limits (whatever liveRevocation says)', () => {
    expect(cacheOf({ cache: true })).toEqual({ http: true, sockets: true, max: 10_000, slideEveryMs: null });
    expect(cacheOf({ cache: true, liveRevocation: false })).toMatchObject({ http: true, sockets: true });
  });

  it('false: never', () => {
    expect(cacheOf({ cache: false })).toEqual({ http: false, sockets: false, max: 10_000, slideEveryMs: null });
  });

  it('an object: every guarded call, with its limits; an empty one or explicit undefineds keep the defaults', () => {
    expect(cacheOf({ cache: { max: 500, slideEveryMs: 60_000 } })).toEqual({
      http: true,
      sockets: true,
      max: 500,
      slideEveryMs: 60_000,
    });
    expect(cacheOf({ cache: {} })).toEqual({ http: true, sockets: true, max: 10_000, slideEveryMs: null });
    expect(cacheOf({ cache: { max: undefined, slideEveryMs: undefined } })).toMatchObject({ max: 10_000, slideEveryMs: null });
  });

  it.each<[string, Record<string, unknown>]>([
    ['max 1', { cache: { max: 1 } }],
    ['max 10,000,000', { cache: { max: 10_000_000 } }],
    ['slideEveryMs 1000', { cache: { slideEveryMs: 1000 } }],
    ['slideEveryMs half of the default ttl (1800 s)', { cache: { slideEveryMs: 900_000 } }],
    ['slideEveryMs half of a given ttl', { ttl: 60, cache: { slideEveryMs: 30_000 } }],
  ])('accepts %s', (_label, options) => {
    expect(validateSessionOptions({ redis, ...options })).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a string', { cache: 'yes' }, '`cache` must be true, false or { max?, slideEveryMs? }, e.g. { max: 10000 } (got "yes").'],
    ['null', { cache: null }, '`cache` must be true, false or { max?, slideEveryMs? }, e.g. { max: 10000 } (got null).'],
    ['max 0', { cache: { max: 0 } }, '`cache.max` must be a whole number of sessions from 1 to 10000000 (got 0).'],
    ['max 2.5', { cache: { max: 2.5 } }, '`cache.max` must be a whole number of sessions from 1 to 10000000 (got 2.5).'],
    [
      'max past ten million',
      { cache: { max: 10_000_001 } },
      '`cache.max` must be a whole number of sessions from 1 to 10000000 (got 10000001).',
    ],
    [
      'max as a string',
      { cache: { max: '100' } },
      '`cache.max` must be a whole number of sessions from 1 to 10000000 (got "100").',
    ],
    [
      'slideEveryMs under a second',
      { cache: { slideEveryMs: 999 } },
      '`cache.slideEveryMs` must be a whole number of ms from 1000 to 900000 (half of `ttl`) (got 999).',
    ],
    [
      'slideEveryMs past half of the default ttl',
      { cache: { slideEveryMs: 900_001 } },
      '`cache.slideEveryMs` must be a whole number of ms from 1000 to 900000 (half of `ttl`) (got 900001).',
    ],
    [
      'slideEveryMs past half of a given ttl',
      { ttl: 60, cache: { slideEveryMs: 30_001 } },
      '`cache.slideEveryMs` must be a whole number of ms from 1000 to 30000 (half of `ttl`) (got 30001).',
    ],
    [
      'slideEveryMs NaN',
      { cache: { slideEveryMs: Number.NaN } },
      '`cache.slideEveryMs` must be a whole number of ms from 1000 to 900000 (half of `ttl`) (got NaN).',
    ],
    [
      'slideEveryMs with a ttl under 2 s',
      { ttl: 1, cache: { slideEveryMs: 1000 } },
      '`cache.slideEveryMs` needs a `ttl` of at least 2 s (got a ttl of 1 s): remove it, or raise ttl.',
    ],
    ['an unknown key', { cache: { size: 10 } }, 'unknown option `cache.size`.'],
  ])('refuses %s, saying why', (_label, options, message) => {
    expect(validateSessionOptions({ redis, ...options })).toEqual([message]);
  });

  it('with a bad ttl, reports the ttl and checks slideEveryMs against its lower bound only', () => {
    expect(validateSessionOptions({ redis, ttl: 0, cache: { slideEveryMs: 5_000_000 } })).toEqual([
      '`ttl` must be a whole number of seconds greater than 0 (got 0).',
    ]);
    expect(validateSessionOptions({ redis, ttl: 'long', cache: { slideEveryMs: 10 } })).toEqual([
      '`ttl` must be a whole number of seconds greater than 0 (got "long").',
      '`cache.slideEveryMs` must be a whole number of ms ≥ 1000 (got 10).',
    ]);
  });

  it('reports every cache problem at once, unknown keys first', () => {
    expect(validateSessionOptions({ redis, cache: { max: -1, slideEveryMs: 1, ttl: 60 } })).toEqual([
      'unknown option `cache.ttl`.',
      '`cache.max` must be a whole number of sessions from 1 to 10000000 (got -1).',
      '`cache.slideEveryMs` must be a whole number of ms from 1000 to 900000 (half of `ttl`) (got 1).',
    ]);
  });

  it('with problems, resolves to the default cache', () => {
    const resolved = resolveSessionOptions({ redis, cache: { max: 0 } });
    expect(resolved.problems).toHaveLength(1);
    expect(resolved.cache).toEqual({ http: false, sockets: true, max: 10_000, slideEveryMs: null });
  });
});
