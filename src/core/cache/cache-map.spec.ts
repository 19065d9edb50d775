import { describe, expect, it } from '@jest/globals';
import type { StoredSession } from '../codec.js';
import { CacheMap, type CachedSession } from './cache-map.js';

const stored: StoredSession = {
  userId: 'u',
  username: 'u',
  role: 'user',
  createdAt: 0,
  absoluteExpiresAt: 1,
  ip: null,
  userAgent: null,
  data: undefined,
};
const entry = (idleUntil = 1000): CachedSession => ({ stored, idleUntil, slideAt: idleUntil / 2 });

describe('CacheMap: what a read brings back is kept only if nothing was heard meanwhile', () => {
  it('keeps a read that nothing overtook, and answers it', () => {
    const map = new CacheMap(10);
    const ticket = map.begin('a', 0);
    expect(map.settle(ticket, entry())).toBe(true);
    expect(map.get('a')?.idleUntil).toBe(1000);
  });

  it('drops a read overtaken by an invalidation of its id (the logout raced the read)', () => {
    const map = new CacheMap(10);
    const ticket = map.begin('a', 0);
    map.forget('a');
    expect(map.settle(ticket, entry())).toBe(false);
    expect(map.get('a')).toBeUndefined();
  });

  it('keeps a read when another id was invalidated meanwhile', () => {
    const map = new CacheMap(10);
    const ticket = map.begin('a', 0);
    map.forget('b');
    expect(map.settle(ticket, entry())).toBe(true);
  });

  it('drops every read in flight across a flush, and what it held', () => {
    const map = new CacheMap(10);
    map.settle(map.begin('held', 0), entry());
    const a = map.begin('a', 0);
    const b = map.begin('b', 0);
    expect(map.clear()).toBe(1);
    expect(map.get('held')).toBeUndefined();
    expect(map.settle(a, entry())).toBe(false);
    expect(map.settle(b, entry())).toBe(false);
    // A read sent after the flush is kept again.
    expect(map.settle(map.begin('a', 1), entry())).toBe(true);
  });

  it('two reads of one id in flight: an invalidation between them drops both (the later may be fresh; dropping is safe)', () => {
    const map = new CacheMap(10);
    const first = map.begin('a', 0);
    map.forget('a');
    const second = map.begin('a', 1);
    expect(map.settle(second, entry())).toBe(false);
    expect(map.settle(first, entry())).toBe(false);
    // Once none is in flight, the record is gone and the next read is kept.
    expect(map.settle(map.begin('a', 2), entry())).toBe(true);
  });

  it('a failed read keeps nothing and leaves no record behind', () => {
    const map = new CacheMap(10);
    expect(map.settle(map.begin('a', 0), undefined)).toBe(false);
    expect(map.settle(map.begin('a', 0), entry())).toBe(true);
  });

  it('holds at most `max` sessions, dropping the least recently used', () => {
    const map = new CacheMap(2);
    map.settle(map.begin('a', 0), entry());
    map.settle(map.begin('b', 0), entry());
    map.get('a'); // a is now more recent than b
    map.settle(map.begin('c', 0), entry());
    expect(map.size).toBe(2);
    expect(map.get('b')).toBeUndefined();
    expect(map.get('a')).toBeDefined();
    expect(map.get('c')).toBeDefined();
  });

  it('keeps an entry used once per 3/4 `max` insertions through any number of them, and drops the unused first', () => {
    const max = 1000;
    const map = new CacheMap(max);
    map.settle(map.begin('hot', 0), entry());
    for (let i = 0; i < 20 * max; i++) {
      map.settle(map.begin(`cold-${i}`, 0), entry());
      if (i % ((3 * max) / 4 - 1) === 0) expect(map.get('hot')).toBeDefined();
      expect(map.size).toBeLessThanOrEqual(max);
    }
    expect(map.get('hot')).toBeDefined();
    expect(map.get('cold-0')).toBeUndefined();
    expect(map.get(`cold-${20 * max - 1}`)).toBeDefined();
  });

  it('an entry never used again is dropped after `max` insertions', () => {
    const map = new CacheMap(100);
    map.settle(map.begin('once', 0), entry());
    map.get('once');
    for (let i = 0; i < 100; i++) map.settle(map.begin(`other-${i}`, 0), entry());
    expect(map.get('once')).toBeUndefined();
  });

  it('forget says whether an entry went', () => {
    const map = new CacheMap(2);
    map.settle(map.begin('a', 0), entry());
    expect(map.forget('a')).toBe(true);
    expect(map.forget('a')).toBe(false);
  });
});
