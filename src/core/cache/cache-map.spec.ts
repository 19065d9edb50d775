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
    expect(map.find('a')?.entry.idleUntil).toBe(1000);
  });

  it('drops a read overtaken by an invalidation of its id (the logout raced the read)', () => {
    const map = new CacheMap(10);
    const ticket = map.begin('a', 0);
    map.forget('a');
    expect(map.settle(ticket, entry())).toBe(false);
    expect(map.find('a')?.entry).toBeUndefined();
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
    expect(map.find('held')?.entry).toBeUndefined();
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
    map.find('a'); // a is now more recent than b
    map.settle(map.begin('c', 0), entry());
    expect(map.size).toBe(2);
    expect(map.find('b')?.entry).toBeUndefined();
    expect(map.find('a')?.entry).toBeDefined();
    expect(map.find('c')?.entry).toBeDefined();
  });

  it('keeps an entry used once per 3/4 `max` insertions through any number of them, and drops the unused first', () => {
    const max = 1000;
    const map = new CacheMap(max);
    map.settle(map.begin('hot', 0), entry());
    for (let i = 0; i < 20 * max; i++) {
      map.settle(map.begin(`cold-${i}`, 0), entry());
      if (i % ((3 * max) / 4 - 1) === 0) expect(map.find('hot')?.entry).toBeDefined();
      expect(map.size).toBeLessThanOrEqual(max);
    }
    expect(map.find('hot')?.entry).toBeDefined();
    expect(map.find('cold-0')?.entry).toBeUndefined();
    expect(map.find(`cold-${20 * max - 1}`)?.entry).toBeDefined();
  });

  it('an entry never used again is dropped after `max` insertions', () => {
    const map = new CacheMap(100);
    map.settle(map.begin('once', 0), entry());
    map.find('once');
    for (let i = 0; i < 100; i++) map.settle(map.begin(`other-${i}`, 0), entry());
    expect(map.find('once')?.entry).toBeUndefined();
  });

  it('forget says whether an entry went', () => {
    const map = new CacheMap(2);
    map.settle(map.begin('a', 0), entry());
    expect(map.forget('a')).toBe(true);
    expect(map.forget('a')).toBe(false);
  });
});

describe('CacheMap: a kept slot answers only while the map still holds its entry', () => {
  /** A map of `max` holding `id`, and the slot a caller (a socket's memo) kept of it. */
  function kept(max = 10, id = 'a') {
    const map = new CacheMap(max);
    map.settle(map.begin(id, 0), entry());
    const slot = map.find(id)!;
    expect(slot.live).toBe(true);
    return { map, slot };
  }

  it('dies when its session is forgotten (an invalidation, or a change made here)', () => {
    const { map, slot } = kept();
    map.forget('a');
    expect(slot.live).toBe(false);
  });

  it('dies with a flush', () => {
    const { map, slot } = kept();
    map.clear();
    expect(slot.live).toBe(false);
  });

  it('dies when the least recently used entry is dropped for room', () => {
    const { map, slot } = kept(2);
    map.settle(map.begin('b', 0), entry());
    map.settle(map.begin('c', 0), entry());
    expect(map.find('a')?.entry).toBeUndefined();
    expect(slot.live).toBe(false);
  });

  it('dies when a later read of its id replaces the entry; the new entry has a slot of its own', () => {
    const { map, slot } = kept();
    map.settle(map.begin('a', 1), entry(2000));
    expect(slot.live).toBe(false);
    const fresh = map.find('a')!;
    expect(fresh.live).toBe(true);
    expect(fresh.entry.idleUntil).toBe(2000);
  });

  it('lives on while the entry is only moved to the back, and answering from it counts as a use', () => {
    const { map, slot } = kept(4);
    for (const id of ['b', 'c', 'd']) map.settle(map.begin(id, 0), entry());
    map.used(slot); // a is now the most recent: b goes first
    map.settle(map.begin('e', 0), entry());
    expect(slot.live).toBe(true);
    expect(map.find('a')).toBe(slot);
    expect(map.find('b')?.entry).toBeUndefined();
  });

  it('a dead slot used again never puts its entry back', () => {
    const { map, slot } = kept(1);
    map.forget('a');
    map.settle(map.begin('b', 0), entry()); // moves the clock on, so a live slot would be moved
    map.used(slot);
    expect(map.find('a')?.entry).toBeUndefined();
    expect(map.size).toBe(1);
  });
});
