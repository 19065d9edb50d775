import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SessionOps, SessionPatchConflictException } from '../src/index.js';
import { createServiceHarness, type ServiceHarness } from './support/service.js';

/**
 * SessionOps on a real Redis: a change to one data key that the update script makes to the
 * value Redis holds (append, remove, increment), so that concurrent changes all land; never
 * re-creating a session that is gone, refusing a value of the wrong kind, within maxDataBytes.
 */
describe('SessionOps in SessionService.update and updateUser', () => {
  let h: ServiceHarness;
  beforeAll(async () => {
    h = await createServiceHarness({ ttl: 60, absoluteTtl: 600, maxDataBytes: 4096 });
  });
  afterAll(() => h.close());

  const key = (id: string) => `${h.prefix}${id}`;

  it('100 concurrent appends to one session: none is lost', async () => {
    const { token } = await h.service.create({ id: 'ops-1' });
    const n = 100;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => h.service.update(token, { cart: SessionOps.append(`sku-${i}`) })),
    );
    expect(results.every((r) => r !== null)).toBe(true);
    const cart = (await h.service.get(token))?.data?.cart as string[];
    const lost = Array.from({ length: n }, (_, i) => `sku-${i}`).filter((sku) => !cart.includes(sku));
    process.stdout.write(`SessionOps.append: ${n} concurrent appends to one session, ${lost.length} lost\n`);
    expect(lost).toEqual([]);
    expect(cart).toHaveLength(n);
  });

  it('concurrent increments sum exactly; a missing key counts from 0; numbers keep every digit', async () => {
    const { token } = await h.service.create({ id: 'ops-2', big: 9007199254740990 });
    const steps = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? -1 : i % 3 === 1 ? 2 : 5));
    await Promise.all(steps.map((by) => h.service.update(token, { visits: SessionOps.increment(by) })));
    const sum = steps.reduce((a, b) => a + b, 0);
    expect((await h.service.get(token))?.data?.visits).toBe(sum);

    const once = await h.service.update(token, { hits: SessionOps.increment(), big: SessionOps.increment() });
    expect(once?.data).toMatchObject({ hits: 1, big: 9007199254740991 });
    const ratio = await h.service.update(token, { ratio: SessionOps.increment(0.1) });
    expect(ratio?.data?.ratio).toBe(0.1);
    expect((await h.service.update(token, { ratio: SessionOps.increment(0.2) }))?.data?.ratio).toBe(0.1 + 0.2);
    expect((await h.service.update(token, { ratio: SessionOps.increment(1e21) }))?.data?.ratio).toBe(0.1 + 0.2 + 1e21);
    expect((await h.service.update(token, { tiny: SessionOps.increment(-1.5e-7) }))?.data?.tiny).toBe(-1.5e-7);
  });

  it('append: a missing or null key becomes [value]; any JSON value as the app encodes it; max keeps the last N', async () => {
    const { token } = await h.service.create({ id: 'ops-3', seen: null, tags: [] });
    const first = await h.service.update(token, {
      seen: SessionOps.append(1),
      tags: SessionOps.append('a'),
      items: SessionOps.append({ sku: 'x', qty: 2, list: [], passwordHash: 'h' }),
    });
    expect(first?.data).toEqual({ seen: [1], tags: ['a'], items: [{ sku: 'x', qty: 2, list: [] }] });
    await h.service.update(token, { items: SessionOps.append([1, 'two', null, 9007199254740991]) });
    expect((await h.service.get(token))?.data?.items).toEqual([
      { sku: 'x', qty: 2, list: [] },
      [1, 'two', null, 9007199254740991],
    ]);
    expect(await h.redis.get(key(first!.id))).not.toMatch(/password|"h"/i);

    for (let i = 2; i <= 6; i++) await h.service.update(token, { seen: SessionOps.append(i, { max: 3 }) });
    expect((await h.service.get(token))?.data?.seen).toEqual([4, 5, 6]);
    const capped = await h.service.update(token, { recent: SessionOps.append('"quoted", [tricky]}', { max: 1 }) });
    expect(capped?.data?.recent).toEqual(['"quoted", [tricky]}']);
    expect((await h.service.update(token, { recent: SessionOps.append('b', { max: 1 }) }))?.data?.recent).toEqual(['b']);
  });

  it('remove drops every equal element (compared as JSON text); a missing key stays missing', async () => {
    const { token } = await h.service.create({ id: 'ops-4', cart: ['a', 'b', 'a', 1, '1', 'a,b', { a: 1 }] });
    const updated = await h.service.update(token, { cart: SessionOps.remove('a'), wish: SessionOps.remove('a') });
    expect(updated?.data).toEqual({ cart: ['b', 1, '1', 'a,b', { a: 1 }] });
    expect((await h.service.update(token, { cart: SessionOps.remove(1) }))?.data?.cart).toEqual(['b', '1', 'a,b', { a: 1 }]);
    expect((await h.service.update(token, { cart: SessionOps.remove({ a: 1 }) }))?.data?.cart).toEqual(['b', '1', 'a,b']);
    expect((await h.service.update(token, { cart: SessionOps.remove('b') }))?.data?.cart).toEqual(['1', 'a,b']);
    expect((await h.service.update(token, { cart: SessionOps.remove('1') }))?.data?.cart).toEqual(['a,b']);
    expect((await h.service.update(token, { cart: SessionOps.remove('a,b') }))?.data?.cart).toEqual([]);

    // Concurrent adds and removes of different items: each lands.
    const { token: t2 } = await h.service.create({ id: 'ops-4', cart: Array.from({ length: 50 }, (_, i) => i) });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        h.service.update(t2, { cart: i % 2 === 0 ? SessionOps.remove(i) : SessionOps.append(100 + i) }),
      ),
    );
    const cart = (await h.service.get(t2))?.data?.cart as number[];
    const expected = [
      ...Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 2 === 1),
      ...Array.from({ length: 50 }, (_, i) => i)
        .filter((i) => i % 2 === 1)
        .map((i) => 100 + i),
    ];
    expect([...cart].sort((a, b) => a - b)).toEqual(expected);
  });

  it('never re-creates a session that is gone: null, nothing written', async () => {
    const a = await h.service.create({ id: 'ops-5' });
    await h.service.destroy(a.token);
    expect(await h.service.update(a.token, { cart: SessionOps.append('x'), n: SessionOps.increment() })).toBeNull();
    expect(await h.redis.exists(key(a.session.id))).toBe(0);
    const b = await h.service.create({ id: 'ops-5' });
    await h.service.revoke('ops-5', b.session.id);
    expect(await h.service.update(b.token, { cart: SessionOps.remove('x') })).toBeNull();
    expect(await h.redis.exists(key(b.session.id))).toBe(0);
    expect(await h.service.update('not-a-token', { n: SessionOps.increment() })).toBeNull();
    expect(await h.service.updateUser('ops-5', { n: SessionOps.increment() })).toBe(0);

    let resurrected = 0;
    for (let round = 0; round < 50; round++) {
      const { token, session } = await h.service.create({ id: 'ops-5' });
      await Promise.all([
        h.service.update(token, { cart: SessionOps.append(round) }),
        h.service.destroy(token),
        h.service.update(token, { n: SessionOps.increment() }),
      ]);
      resurrected += await h.redis.exists(key(session.id));
    }
    expect(resurrected).toBe(0);
  });

  it('a value of the wrong kind: SessionPatchConflictException (409) naming the key, nothing of the patch written', async () => {
    const { token, session } = await h.service.create({ id: 'ops-6', cart: 'x', n: '3', list: [1], obj: { a: 1 } });
    const before = await h.redis.get(key(session.id));
    const attempts = [
      { cart: SessionOps.append('y'), other: 1 },
      { obj: SessionOps.append('y') },
      { cart: SessionOps.remove('x') },
      { n: SessionOps.increment(), other: 1 },
      { list: SessionOps.increment(), role: 'admin' },
      { obj: SessionOps.increment() },
    ];
    for (const patch of attempts) {
      const error = await h.service.update(token, patch).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionPatchConflictException);
      expect((error as SessionPatchConflictException).getStatus()).toBe(409);
      expect((error as Error).message).toContain(`"${Object.keys(patch)[0]}"`);
      expect(await h.redis.get(key(session.id))).toBe(before);
    }
    // A sum past the largest double is no number either.
    await h.service.update(token, { max: Number.MAX_VALUE });
    const mid = await h.redis.get(key(session.id));
    await expect(h.service.update(token, { max: SessionOps.increment(Number.MAX_VALUE) })).rejects.toThrow(
      SessionPatchConflictException,
    );
    expect(await h.redis.get(key(session.id))).toBe(mid);
    expect((await h.service.get(token))?.data).toEqual({ cart: 'x', n: '3', list: [1], obj: { a: 1 }, max: Number.MAX_VALUE });
    await expect(h.service.updateUser('ops-6', { cart: SessionOps.append('y') })).rejects.toThrow(SessionPatchConflictException);
  });

  it('maxDataBytes holds after an op: RangeError, nothing written', async () => {
    const { token } = await h.service.create({ id: 'ops-7' });
    const sku = 'x'.repeat(100);
    let appended = 0;
    let error: unknown;
    for (let i = 0; i < 60 && !error; i++) {
      error = await h.service.update(token, { cart: SessionOps.append(sku) }).then(
        () => void appended++,
        (e: unknown) => e,
      );
    }
    expect(error).toBeInstanceOf(RangeError);
    const cart = (await h.service.get(token))?.data?.cart as string[];
    expect(cart).toHaveLength(appended);
    expect(JSON.stringify({ cart }).length).toBeLessThanOrEqual(4096);
    expect(JSON.stringify({ cart: [...cart, sku] }).length).toBeGreaterThan(4096);
  });

  it('checks ops where they are made and where they are used (TypeError)', async () => {
    const { token } = await h.service.create({ id: 'ops-8' });
    expect(() => SessionOps.increment(Number.NaN)).toThrow(TypeError);
    expect(() => SessionOps.increment(Infinity)).toThrow(TypeError);
    expect(() => SessionOps.increment('1' as unknown as number)).toThrow(TypeError);
    expect(() => SessionOps.append(undefined)).toThrow(TypeError);
    expect(() => SessionOps.append(() => 1)).toThrow(TypeError);
    expect(() => SessionOps.remove(undefined)).toThrow(TypeError);
    expect(() => SessionOps.append('a', { max: 0 })).toThrow(TypeError);
    expect(() => SessionOps.append('a', { max: 1.5 })).toThrow(TypeError);
    const deep = Array.from({ length: 16 }).reduce<unknown>((inner) => ({ inner }), {});
    expect(() => SessionOps.append(deep)).toThrow(TypeError); // 17 levels, as in update's data
    // Only top-level data keys take an op: not username/role, not nested, not at login.
    await expect(h.service.update(token, { role: SessionOps.append('x') as unknown as string })).rejects.toThrow(TypeError);
    await expect(h.service.update(token, { prefs: { n: SessionOps.increment() } })).rejects.toThrow(TypeError);
    await expect(h.service.update(token, { list: [SessionOps.increment()] })).rejects.toThrow(TypeError);
    await expect(h.service.create({ id: 'ops-8', n: SessionOps.increment() })).rejects.toThrow(TypeError);
    expect(() => SessionOps.append({ n: SessionOps.increment() })).toThrow(TypeError);
    // Password-ish keys take no op either: dropped, as any value under them.
    expect((await h.service.update(token, { password: SessionOps.append('x'), n: SessionOps.increment() }))?.data).toEqual({
      n: 1,
    });
  });

  it('updateUser applies ops to each live session of the user, each atomically', async () => {
    const mine = await Promise.all([1, 2, 3].map((i) => h.service.create({ id: 'ops-9', n: i, tags: ['t'] })));
    const counts = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.service.updateUser('ops-9', { n: SessionOps.increment(), tags: SessionOps.append('u') }),
      ),
    );
    expect(counts).toEqual(Array.from({ length: 20 }, () => 3));
    for (const [i, { token }] of mine.entries()) {
      const data = (await h.service.get(token))?.data;
      expect(data?.n).toBe(i + 1 + 20);
      expect(data?.tags).toHaveLength(21);
    }
  });
});
