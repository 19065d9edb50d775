import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServiceHarness, type ServiceHarness } from './support/service.js';

/**
 * SessionService.update / updateUser on a real Redis: sessions that change after login
 * (a cart, preferences, a role), atomic on the session's key, never bringing a session back.
 */
describe('SessionService.update and updateUser', () => {
  let h: ServiceHarness;
  beforeAll(async () => {
    h = await createServiceHarness({ ttl: 60, absoluteTtl: 600, maxDataBytes: 4096 });
  });
  afterAll(() => h.close());

  const key = (id: string) => `${h.prefix}${id}`;

  it('merges into data, changes username and role, removes keys set to null or undefined, keeps the TTL', async () => {
    const { token, session } = await h.service.create({ id: 7, username: 'ann', role: 'user', theme: 'light', cart: [1] });
    await h.redis.pexpire(key(session.id), 30_000); // as if the session had idled for 30 s
    const updated = await h.service.update(token, {
      role: 'admin',
      theme: 'dark',
      cart: null,
      lang: 'fr',
      tags: [],
      big: 9007199254740991,
      ratio: 0.1 + 0.2,
      nested: { a: [{}], b: null },
      gone: undefined,
    });
    expect(updated).toMatchObject({ id: session.id, userId: 7, username: 'ann', role: 'admin' });
    // Values come back exactly as encoded: [] stays an array, numbers keep every digit.
    expect(updated?.data).toEqual({
      theme: 'dark',
      lang: 'fr',
      tags: [],
      big: 9007199254740991,
      ratio: 0.1 + 0.2,
      nested: { a: [{}], b: null },
    });
    expect(await h.service.get(token)).toMatchObject({ role: 'admin', data: updated?.data });
    const pttl = await h.redis.pttl(key(session.id));
    expect(pttl).toBeGreaterThan(29_000);
    expect(pttl).toBeLessThanOrEqual(30_000);
    expect(updated!.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(30_000);

    const cleared = await h.service.update(token, {
      theme: null,
      lang: undefined,
      tags: null,
      big: null,
      ratio: null,
      nested: null,
      username: null,
    });
    expect(cleared).toMatchObject({ username: null, role: 'admin' });
    expect(cleared?.data).toBeUndefined();
  });

  it('drops password-ish keys at any depth, refuses to change the user, and applies the data size cap (nothing written)', async () => {
    const { token } = await h.service.create({ id: 8, username: 'bo' });
    const updated = await h.service.update(token, {
      password: 'x',
      userPasswordHash: 'y',
      profile: { password: 'z', name: 'Bo' },
    });
    expect(updated?.data).toEqual({ profile: { name: 'Bo' } });
    expect(JSON.stringify(await h.redis.get(key(updated!.id)))).not.toMatch(/password|"x"|"y"|"z"/i);
    await expect(h.service.update(token, { id: 9 })).rejects.toThrow(TypeError);
    await expect(h.service.update(token, { role: 42 as unknown as string })).rejects.toThrow(TypeError);
    await expect(h.service.update(token, { blob: 'x'.repeat(5000) })).rejects.toThrow(RangeError);
    expect((await h.service.get(token))?.data).toEqual({ profile: { name: 'Bo' } });
  });

  it('never re-creates a session that is gone: after logout, revoke, or with a bad token', async () => {
    const a = await h.service.create({ id: 10 });
    await h.service.destroy(a.token);
    expect(await h.service.update(a.token, { theme: 'dark' })).toBeNull();
    expect(await h.redis.exists(key(a.session.id))).toBe(0);
    const b = await h.service.create({ id: 10 });
    await h.service.revoke(10, b.session.id);
    expect(await h.service.update(b.token, { role: 'admin' })).toBeNull();
    expect(await h.redis.exists(key(b.session.id))).toBe(0);
    expect(await h.service.update('not-a-token', { a: 1 })).toBeNull();
  });

  it('hundreds of concurrent updates of different keys: none is lost', async () => {
    const { token } = await h.service.create({ id: 11 });
    const n = 300;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => h.service.update(token, { [`k${i}`]: i })));
    expect(results.every((r) => r !== null)).toBe(true);
    const data = (await h.service.get(token))?.data ?? {};
    const missing = Array.from({ length: n }, (_, i) => `k${i}`).filter((k) => data[k] === undefined);
    process.stdout.write(`update: ${n} concurrent patches of different keys, ${missing.length} lost\n`);
    expect(missing).toEqual([]);
  });

  it('updates racing a logout or a revoke never bring the session back (repeated)', async () => {
    let resurrected = 0;
    let updatedBeforeLogout = 0;
    const rounds = 200;
    for (let round = 0; round < rounds; round++) {
      const { token, session } = await h.service.create({ id: 12 });
      // The logout goes first, second or last on the connection, so some updates land before it.
      const steps: Array<() => Promise<unknown>> = [
        () => h.service.update(token, { n: round }),
        () => h.service.update(token, { role: 'admin' }),
      ];
      // A logout in even rounds, a revoke by id in odd ones.
      steps.splice(round % 3, 0, () => (round % 2 === 0 ? h.service.destroy(token) : h.service.revoke(12, session.id)));
      const replies = await Promise.all(steps.map((step) => step()));
      const updates = replies.filter((reply) => typeof reply !== 'boolean');
      updatedBeforeLogout += updates.filter((u) => u !== null).length;
      if ((await h.redis.exists(key(session.id))) === 1) resurrected++;
    }
    process.stdout.write(
      `update vs logout/revoke: ${rounds} rounds, ${updatedBeforeLogout} updates landed before the end, ${resurrected} sessions brought back\n`,
    );
    expect(resurrected).toBe(0);
  });

  it("updateUser changes every live session of the user, and only that user's", async () => {
    const mine = await Promise.all([1, 2, 3].map(() => h.service.create({ id: 'u-13', role: 'admin', theme: 'light' })));
    const other = await h.service.create({ id: 14, role: 'admin' });
    await h.service.destroy(mine[2].token); // an ended session is not counted
    expect(await h.service.updateUser('u-13', { role: 'user' })).toBe(2);
    for (const { token } of mine.slice(0, 2))
      expect(await h.service.get(token)).toMatchObject({ role: 'user', data: { theme: 'light' } });
    expect(await h.service.get(other.token)).toMatchObject({ role: 'admin' });
    expect(await h.service.updateUser('nobody', { role: 'user' })).toBe(0);
  });

  it('updateUser racing revokeAll brings no session back (repeated)', async () => {
    let resurrected = 0;
    const rounds = 50;
    for (let round = 0; round < rounds; round++) {
      const sessions = await Promise.all([1, 2, 3, 4].map(() => h.service.create({ id: 15 })));
      await Promise.all([h.service.revokeAll(15), h.service.updateUser(15, { role: `r${round}` })]);
      for (const { session } of sessions) if ((await h.redis.exists(key(session.id))) === 1) resurrected++;
    }
    process.stdout.write(`updateUser vs revokeAll: ${rounds} rounds of 4 sessions, ${resurrected} brought back\n`);
    expect(resurrected).toBe(0);
  });
});
