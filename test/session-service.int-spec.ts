import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { SessionListOptionsException, type Session } from '../src/index.js';
import { dumpPrefix, sleep } from './support/redis.js';
import { createServiceHarness, type ServiceHarness } from './support/service.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

describe('SessionService on a real Redis', () => {
  let h: ServiceHarness;
  beforeAll(async () => {
    h = await createServiceHarness({ ttl: 60, absoluteTtl: 600 });
  });
  afterAll(() => h.close());

  describe('create', () => {
    it('writes one key per session with the idle TTL and lists it in the user index', async () => {
      const { token, session } = await h.service.create(
        { id: 42, username: 'ann', role: 'admin' },
        { ip: '203.0.113.7', userAgent: UA },
      );
      const key = `${h.prefix}${session.id}`;
      const pttl = await h.redis.pttl(key);
      expect(pttl).toBeGreaterThan(59_000);
      expect(pttl).toBeLessThanOrEqual(60_000);
      const index = `${h.prefix}user:42`;
      expect(await h.redis.zscore(index, session.id)).toBe(String(session.absoluteExpiresAt.getTime()));
      const indexTtl = await h.redis.pttl(index);
      expect(indexTtl).toBeGreaterThan(599_000);
      expect(indexTtl).toBeLessThanOrEqual(600_000);
      expect(session).toMatchObject({
        userId: 42,
        username: 'ann',
        role: 'admin',
        ip: '203.0.113.7',
        userAgent: UA,
      });
      expect(session.absoluteExpiresAt.getTime() - session.createdAt.getTime()).toBe(600_000);
      expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBe(60_000);
      expect(token).not.toContain(session.id);
    });

    it('keeps a numeric user id a number and a string id a string', async () => {
      const numeric = await h.service.create({ id: 7 });
      const text = await h.service.create({ id: '7' });
      expect((await h.service.get(numeric.token))?.userId).toBe(7);
      expect((await h.service.get(text.token))?.userId).toBe('7');
    });

    it('keeps custom data and drops every password-ish key, at any depth', async () => {
      const { token } = await h.service.create({
        id: 'u-data',
        username: 'dora',
        password: 'plain',
        passwordHash: '$argon2id$...',
        plan: 'pro',
        prefs: { theme: 'dark', oldPassword: 'x' },
      });
      const session = await h.service.get(token);
      expect(session?.data).toEqual({ plan: 'pro', prefs: { theme: 'dark' } });
      const dump = await dumpPrefix(h.redis, h.prefix);
      for (const entry of dump) {
        expect(entry.content.toLowerCase()).not.toContain('password');
        expect(entry.content).not.toContain('argon2');
      }
    });

    it('never stores the raw token, nor its secret part, in any key or value', async () => {
      const issued = await Promise.all([1, 2, 3].map((n) => h.service.create({ id: `raw-${n}` }, { userAgent: UA })));
      const dump = await dumpPrefix(h.redis, h.prefix);
      for (const { token } of issued) {
        const secret = token.split('.')[0];
        for (const entry of dump) {
          expect(entry.key).not.toContain(secret);
          expect(entry.content).not.toContain(secret);
        }
      }
    });

    it('stores no session without a user id', async () => {
      await expect(h.service.create({} as never)).rejects.toThrow(TypeError);
      await expect(h.service.create({ id: '' })).rejects.toThrow(TypeError);
    });
  });

  describe('get and touch', () => {
    it('get does not slide; touch slides the idle TTL back to ttl', async () => {
      const { token, session } = await h.service.create({ id: 'slide' });
      const key = `${h.prefix}${session.id}`;
      await h.redis.pexpire(key, 10_000); // pretend 50 s of idleness
      const got = await h.service.get(token);
      expect(got?.id).toBe(session.id);
      expect(await h.redis.pttl(key)).toBeLessThanOrEqual(10_000);
      const touched = await h.service.touch(token);
      expect(touched?.id).toBe(session.id);
      expect(await h.redis.pttl(key)).toBeGreaterThan(59_000);
      expect(touched!.expiresAt.getTime() - touched!.lastActivityAt.getTime()).toBe(60_000);
    });

    it('derives lastActivityAt from the TTL for sessions read without sliding', async () => {
      const { token, session } = await h.service.create({ id: 'derive' });
      const key = `${h.prefix}${session.id}`;
      await sleep(1000);
      await h.redis.pexpire(key, 59_200); // as if last touched 0.8 s ago
      const got = await h.service.get(token);
      const idleFor = Date.now() - got!.lastActivityAt.getTime();
      expect(idleFor).toBeGreaterThanOrEqual(750);
      expect(idleFor).toBeLessThan(1000);
      expect(got!.lastActivityAt.getTime()).toBeGreaterThan(session.createdAt.getTime());
      expect(got!.expiresAt.getTime() - got!.lastActivityAt.getTime()).toBe(60_000);
    });

    it('answers null for bad, unknown or tampered tokens without creating keys', async () => {
      const { token } = await h.service.create({ id: 'tamper' });
      const [secret, deadline] = token.split('.');
      const later = (parseInt(deadline, 36) + 3_600_000).toString(36);
      const before = (await dumpPrefix(h.redis, h.prefix)).length;
      for (const bad of [
        '',
        'x',
        `${secret}.${later}`, // a client that pushes its own deadline names a key that does not exist
        `${secret.slice(0, -1)}${secret.endsWith('A') ? 'E' : 'A'}.${deadline}`, // one character of the secret changed
        `${token}x`,
        'ü'.repeat(50),
        'a'.repeat(10_000),
      ]) {
        expect(await h.service.touch(bad)).toBeNull();
        expect(await h.service.get(bad)).toBeNull();
      }
      expect((await dumpPrefix(h.redis, h.prefix)).length).toBe(before);
    });
  });

  describe('destroy', () => {
    it('deletes the key and the index entry; a later touch does not bring it back', async () => {
      const { token, session } = await h.service.create({ id: 'bye' });
      const other = await h.service.create({ id: 'bye' });
      expect(await h.service.destroy(token)).toBe(true);
      expect(await h.redis.exists(`${h.prefix}${session.id}`)).toBe(0);
      expect(await h.redis.zscore(`${h.prefix}user:bye`, session.id)).toBeNull();
      expect(await h.service.touch(token)).toBeNull();
      expect(await h.redis.exists(`${h.prefix}${session.id}`)).toBe(0);
      expect(await h.service.destroy(token)).toBe(false);
      expect(await h.service.get(other.token)).not.toBeNull();
    });
  });

  describe('list, revoke, revokeAll', () => {
    it('lists the live sessions newest first and prunes ids whose key expired', async () => {
      const a = await h.service.create({ id: 'lister' }, { userAgent: 'A' });
      await sleep(5);
      const b = await h.service.create({ id: 'lister' }, { userAgent: 'B' });
      await sleep(5);
      const c = await h.service.create({ id: 'lister' }, { userAgent: 'C' });
      await h.redis.del(`${h.prefix}${b.session.id}`); // as if it had expired while idle
      const list = await h.service.list('lister');
      expect(list.map((s) => s.id)).toEqual([c.session.id, a.session.id]);
      expect(await h.redis.zscore(`${h.prefix}user:lister`, b.session.id)).toBeNull();
    });

    it("revoke deletes only the user's own session", async () => {
      const mine = await h.service.create({ id: 'owner' });
      const theirs = await h.service.create({ id: 'intruder' });
      expect(await h.service.revoke('intruder', mine.session.id)).toBe(false);
      expect(await h.service.get(mine.token)).not.toBeNull();
      expect(await h.service.revoke('owner', 'not-an-id')).toBe(false);
      expect(await h.service.revoke('owner', mine.session.id)).toBe(true);
      expect(await h.service.get(mine.token)).toBeNull();
      expect(await h.redis.zscore(`${h.prefix}user:owner`, mine.session.id)).toBeNull();
      expect(await h.service.revoke('owner', mine.session.id)).toBe(false);
      expect(await h.service.get(theirs.token)).not.toBeNull();
    });

    it('revokeAll ends every session of the user, or all but one', async () => {
      const sessions = await Promise.all([1, 2, 3, 4].map(() => h.service.create({ id: 'everywhere' })));
      const bystander = await h.service.create({ id: 'bystander' });
      expect(await h.service.revokeAll('everywhere', { except: sessions[0].session.id })).toBe(3);
      expect(await h.service.get(sessions[0].token)).not.toBeNull();
      for (const s of sessions.slice(1)) expect(await h.service.get(s.token)).toBeNull();
      expect(await h.service.revokeAll('everywhere')).toBe(1);
      expect(await h.service.get(sessions[0].token)).toBeNull();
      expect(await h.redis.exists(`${h.prefix}user:everywhere`)).toBe(0);
      expect(await h.service.get(bystander.token)).not.toBeNull();
    });

    it('revokeAll of 2,500 sessions (maxSessionsPerUser: null) works in chunks and keeps `except`', async () => {
      const uncapped = await createServiceHarness({ ttl: 60, absoluteTtl: 600, maxSessionsPerUser: null });
      try {
        // 250 logins at a time: 2,500 at once on a machine busy with other suites can pass the
        // 1 s deadline of each login, which is not what this test is about.
        const created: Awaited<ReturnType<typeof uncapped.service.create>>[] = [];
        for (let i = 0; i < 2500; i += 250) {
          created.push(...(await Promise.all(Array.from({ length: 250 }, () => uncapped.service.create({ id: 'many' })))));
        }
        const index = `${uncapped.prefix}user:many`;
        expect(await uncapped.redis.zcard(index)).toBe(2500);
        const kept = created[1234];
        expect(await uncapped.service.revokeAll('many', { except: kept.session.id })).toBe(2499);
        expect(await uncapped.redis.zrange(index, 0, '-1')).toEqual([kept.session.id]);
        expect(await uncapped.service.get(kept.token)).not.toBeNull();
        expect(await uncapped.service.get(created[2499].token)).toBeNull();
        expect(await uncapped.service.get(created[0].token)).toBeNull();
        expect(await uncapped.service.revokeAll('many')).toBe(1);
        expect(await uncapped.redis.exists(index)).toBe(0);
      } finally {
        await uncapped.close();
      }
    });

    describe('the number 1 and the string "1" are different users', () => {
      const ids = async (userId: string | number) => (await h.service.list(userId)).map((s) => s.id).sort();

      it('each has its own index (user:1, user:"1") and lists only its own sessions, each with its userId type', async () => {
        const number = await Promise.all([0, 1].map(() => h.service.create({ id: 1, username: 'one' })));
        const string = await Promise.all([0, 1, 2].map(() => h.service.create({ id: '1', username: 'string-one' })));
        const quoted = await h.service.create({ id: '"1"' }); // starts with a quote: quoted as well, so never "1"'s key
        expect((await h.redis.zrange(`${h.prefix}user:1`, 0, '-1')).sort()).toEqual(number.map((c) => c.session.id).sort());
        expect((await h.redis.zrange(`${h.prefix}user:"1"`, 0, '-1')).sort()).toEqual(string.map((c) => c.session.id).sort());
        expect(await h.redis.zrange(`${h.prefix}user:"\\"1\\""`, 0, '-1')).toEqual([quoted.session.id]);

        const listedNumber = await h.service.list(1);
        expect(listedNumber.map((s) => s.id).sort()).toEqual(number.map((c) => c.session.id).sort());
        expect(listedNumber.every((s) => s.userId === 1)).toBe(true);
        const listedString = await h.service.list('1');
        expect(listedString.map((s) => s.id).sort()).toEqual(string.map((c) => c.session.id).sort());
        expect(listedString.every((s) => s.userId === '1')).toBe(true);
        expect(await ids('"1"')).toEqual([quoted.session.id]);

        for (const c of [...number, ...string, quoted]) await h.service.destroy(c.token);
        for (const key of ['user:1', 'user:"1"', 'user:"\\"1\\""']) expect(await h.redis.exists(`${h.prefix}${key}`)).toBe(0);
      });

      it("revoke and revokeAll of one never touch the other's sessions", async () => {
        const number = await Promise.all([0, 1].map(() => h.service.create({ id: 2 })));
        const string = await Promise.all([0, 1].map(() => h.service.create({ id: '2' })));
        expect(await h.service.revoke('2', number[0].session.id)).toBe(false);
        expect(await h.service.revoke(2, string[0].session.id)).toBe(false);
        for (const c of [...number, ...string]) expect(await h.service.get(c.token)).not.toBeNull();

        expect(await h.service.revoke('2', string[0].session.id)).toBe(true);
        expect(await h.service.revokeAll('2')).toBe(1);
        for (const c of string) expect(await h.service.get(c.token)).toBeNull();
        for (const c of number) expect(await h.service.get(c.token)).not.toBeNull();
        expect(await ids(2)).toEqual(number.map((c) => c.session.id).sort());

        const again = await h.service.create({ id: '2' });
        expect(await h.service.revokeAll(2)).toBe(2);
        for (const c of number) expect(await h.service.get(c.token)).toBeNull();
        expect(await ids('2')).toEqual([again.session.id]);
        expect(await h.service.revokeAll('2')).toBe(1);
      });

      it('list never shows a session whose stored userId differs in type, even if an index holds it', async () => {
        const number = await h.service.create({ id: 3 });
        const string = await h.service.create({ id: '3' });
        // A corrupted index: number 3's session listed under the string's key as well.
        await h.redis.zadd(`${h.prefix}user:"3"`, number.session.absoluteExpiresAt.getTime(), number.session.id);
        expect(await ids('3')).toEqual([string.session.id]);
        expect(await ids(3)).toEqual([number.session.id]);
        await h.service.revokeAll(3);
        await h.service.revokeAll('3');
      });

      it("an id no session can have (not a string, nor a safe integer) is a TypeError, never another user's index", async () => {
        const fraction = await h.service.create({ id: '1.5' });
        await expect(h.service.list(1.5)).rejects.toThrow(TypeError);
        await expect(h.service.listPage(Number.NaN)).rejects.toThrow(TypeError);
        await expect(h.service.revoke(1.5, fraction.session.id)).rejects.toThrow(TypeError);
        await expect(h.service.revokeAll(1.5)).rejects.toThrow(TypeError);
        await expect(h.service.revokeAll(2 ** 53)).rejects.toThrow(TypeError);
        expect(await h.service.get(fraction.token)).not.toBeNull();
        expect(await ids('1.5')).toEqual([fraction.session.id]);
        expect(await h.service.revokeAll('1.5')).toBe(1);
      });
    });
  });

  describe('rotate', () => {
    it('moves the session to a new token; the old one stops working at once', async () => {
      const first = await h.service.create({ id: 'rot', username: 'rita', plan: 'pro' });
      const rotated = await h.service.rotate(first.token);
      expect(rotated).not.toBeNull();
      expect(rotated!.token).not.toBe(first.token);
      expect(await h.service.get(first.token)).toBeNull();
      const now = await h.service.get(rotated!.token);
      expect(now).toMatchObject({ userId: 'rot', username: 'rita', data: { plan: 'pro' } });
      expect(now!.createdAt).toEqual(first.session.createdAt);
      expect(now!.absoluteExpiresAt).toEqual(first.session.absoluteExpiresAt);
      const index = await h.redis.zrange(`${h.prefix}user:rot`, 0, '-1');
      expect(index).toEqual([rotated!.session.id]);
      expect(await h.service.rotate(first.token)).toBeNull();
    });

    it('cannot revive a destroyed session', async () => {
      const s = await h.service.create({ id: 'rot-dead' });
      await h.service.destroy(s.token);
      expect(await h.service.rotate(s.token)).toBeNull();
      expect(await h.redis.exists(`${h.prefix}user:rot-dead`)).toBe(0);
    });
  });

  it('leaves no key without a TTL', async () => {
    const dump = await dumpPrefix(h.redis, h.prefix);
    expect(dump.length).toBeGreaterThan(5);
    for (const entry of dump) expect({ key: entry.key, pttl: entry.pttl > 0 }).toEqual({ key: entry.key, pttl: true });
  });
});

describe('expiry', () => {
  it('idle sessions expire after ttl, and touching slides them', async () => {
    const h = await createServiceHarness({ ttl: 1, absoluteTtl: 60 });
    try {
      const idle = await h.service.create({ id: 'idle' });
      const active = await h.service.create({ id: 'active' });
      for (let i = 0; i < 3; i++) {
        await sleep(500);
        expect(await h.service.touch(active.token)).not.toBeNull();
      }
      expect(await h.service.get(idle.token)).toBeNull();
      expect(await h.service.touch(idle.token)).toBeNull();
      expect(await h.redis.exists(`${h.prefix}${idle.session.id}`)).toBe(0);
      // The index heals itself when the user's sessions are listed.
      expect(await h.service.list('idle')).toEqual([]);
      expect(await h.redis.exists(`${h.prefix}user:idle`)).toBe(0);
    } finally {
      await h.close();
    }
  });

  it('sliding never goes past the absolute deadline', async () => {
    const h = await createServiceHarness({ ttl: 2, absoluteTtl: 3 });
    try {
      const s = await h.service.create({ id: 'capped' });
      const key = `${h.prefix}${s.session.id}`;
      await sleep(1500);
      const touched = await h.service.touch(s.token);
      expect(touched!.expiresAt).toEqual(s.session.absoluteExpiresAt);
      const pttl = await h.redis.pttl(key);
      expect(pttl).toBeLessThanOrEqual(1500);
      expect(pttl).toBeGreaterThan(1000);
      await sleep(1000);
      expect(await h.service.touch(s.token)).not.toBeNull();
      await sleep(700);
      expect(await h.service.touch(s.token)).toBeNull();
      expect(await h.redis.exists(key)).toBe(0);
    } finally {
      await h.close();
    }
  });
});

describe('listPage', () => {
  let h: ServiceHarness;
  beforeAll(async () => {
    h = await createServiceHarness({ ttl: 60, absoluteTtl: 600, maxSessionsPerUser: null });
  });
  afterAll(() => h.close());

  /** Every page of `userId`'s list with this page size; the ids in order. */
  async function walk(userId: string, limit: number, between?: (page: Session[]) => Promise<void>): Promise<string[][]> {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page: { sessions: Session[]; nextCursor: string | null } = await h.service.listPage(
        userId,
        cursor === null ? { limit } : { limit, cursor },
      );
      pages.push(page.sessions.map((s) => s.id));
      cursor = page.nextCursor;
      if (between) await between(page.sessions);
      expect(pages.length).toBeLessThan(200);
    } while (cursor !== null);
    return pages;
  }

  /** An older session, 25 that share one deadline (the same millisecond), then a newer one; newest first. */
  async function tiedSessions(userId: string): Promise<string[]> {
    const older = await h.service.create({ id: userId });
    await sleep(3);
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now);
    let tied: string[];
    try {
      tied = (await Promise.all(Array.from({ length: 25 }, () => h.service.create({ id: userId })))).map((s) => s.session.id);
    } finally {
      clock.mockRestore();
    }
    await sleep(3);
    const newer = await h.service.create({ id: userId });
    // Equal deadlines come id-descending (byte order).
    return [newer.session.id, ...tied.sort().reverse(), older.session.id];
  }

  it('pages sessions that share a deadline in id-descending order, each exactly once, whatever the page size', async () => {
    const expected = await tiedSessions('tied');
    for (const limit of [1, 2, 3, 7, 26, 27, 28, 1000]) {
      const pages = await walk('tied', limit);
      expect({ limit, ids: pages.flat() }).toEqual({ limit, ids: expected });
      expect(pages.slice(0, -1).every((page) => page.length === limit)).toBe(true);
    }
    expect((await h.service.list('tied')).map((s) => s.id)).toEqual(expected);
  });

  it('continues after a cursor whose session is gone, also inside a run of equal deadlines', async () => {
    const expected = await tiedSessions('tied-gone');
    const revoked: string[] = [];
    // After each page, its last session is revoked before the next page is asked for.
    const pages = await walk('tied-gone', 4, async (page) => {
      const last = page.at(-1);
      if (last && (await h.service.revoke('tied-gone', last.id))) revoked.push(last.id);
    });
    expect(pages.flat()).toEqual(expected);
    expect(revoked.length).toBe(pages.length);
  });

  it('a page comes back short when listed sessions ended, the cursor still goes on, and the ended ids are pruned', async () => {
    const issued = [];
    for (let i = 0; i < 6; i++) {
      issued.push(await h.service.create({ id: 'short' }));
      await sleep(2);
    }
    const newestFirst = issued.map((s) => s.session.id).reverse();
    // Two of the three newest end while idle: their keys are gone, their index entries not yet.
    await h.redis.del(`${h.prefix}${newestFirst[0]}`, `${h.prefix}${newestFirst[2]}`);
    const first = await h.service.listPage('short', { limit: 3 });
    expect(first.sessions.map((s) => s.id)).toEqual([newestFirst[1]]);
    expect(first.nextCursor).not.toBeNull();
    const second = await h.service.listPage('short', { limit: 3, cursor: first.nextCursor! });
    expect(second.sessions.map((s) => s.id)).toEqual(newestFirst.slice(3));
    expect(second.nextCursor).toBeNull();
    expect(await h.redis.zrange(`${h.prefix}user:short`, 0, '-1', 'REV')).toEqual([newestFirst[1], ...newestFirst.slice(3)]);
  });

  it('refuses a limit outside 1 to 1000 and a cursor it did not make, with SessionListOptionsException', async () => {
    await h.service.create({ id: 'refusals' });
    for (const limit of [0, -1, 1.5, 1001, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      await expect(h.service.listPage('refusals', { limit })).rejects.toBeInstanceOf(SessionListOptionsException);
    }
    for (const cursor of ['', 'x', 'MTIzOmFiYw', 'A'.repeat(100), 42 as unknown as string]) {
      await expect(h.service.listPage('refusals', { cursor })).rejects.toThrow(/`cursor`/);
    }
    expect((await h.service.listPage('refusals')).sessions).toHaveLength(1);
  });
});

describe('maxSessionsPerUser', () => {
  let h: ServiceHarness;
  beforeAll(async () => {
    h = await createServiceHarness({ ttl: 60, absoluteTtl: 600, maxSessionsPerUser: 2 });
  });
  afterAll(() => h.close());

  it('revokes the oldest sessions past the cap', async () => {
    const a = await h.service.create({ id: 'capper' });
    await sleep(3);
    const b = await h.service.create({ id: 'capper' });
    await sleep(3);
    const c = await h.service.create({ id: 'capper' });
    expect(await h.service.get(a.token)).toBeNull();
    expect(await h.service.get(b.token)).not.toBeNull();
    expect(await h.service.get(c.token)).not.toBeNull();
    expect(await h.redis.zrange(`${h.prefix}user:capper`, 0, '-1')).toEqual([b.session.id, c.session.id]);
  });

  it('does not count sessions that already expired', async () => {
    const a = await h.service.create({ id: 'stale' });
    await sleep(3);
    const b = await h.service.create({ id: 'stale' });
    await h.redis.del(`${h.prefix}${a.session.id}`); // idle-expired, still in the index
    await sleep(3);
    const c = await h.service.create({ id: 'stale' });
    expect(await h.service.get(b.token)).not.toBeNull();
    expect(await h.service.get(c.token)).not.toBeNull();
    expect(await h.redis.zrange(`${h.prefix}user:stale`, 0, '-1')).toEqual([b.session.id, c.session.id]);
  });

  it('a login under a cap far below what the user holds (the cap lowered, or the default after running without one) keeps only the newest', async () => {
    const uncapped = await createServiceHarness({ ttl: 60, absoluteTtl: 600, maxSessionsPerUser: null });
    const capped = await createServiceHarness({ ttl: 60, absoluteTtl: 600, keyPrefix: uncapped.prefix }); // the default: 100
    try {
      const held = [];
      for (let i = 0; i < 5; i++)
        held.push(...(await Promise.all(Array.from({ length: 500 }, () => uncapped.service.create({ id: 'hoarder' })))));
      const index = `${uncapped.prefix}user:hoarder`;
      expect(await uncapped.redis.zcard(index)).toBe(2500);
      await sleep(3);
      const fresh = await capped.service.create({ id: 'hoarder' });
      const kept = await capped.redis.zrange(index, 0, '-1');
      expect(kept).toHaveLength(100);
      expect(kept).toContain(fresh.session.id);
      // The 99 others kept are the newest of those held (by deadline, then id).
      const newest = held
        .map(({ session }) => ({ id: session.id, at: session.absoluteExpiresAt.getTime() }))
        .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .slice(-99)
        .map((e) => e.id);
      expect(kept.filter((id) => id !== fresh.session.id).sort()).toEqual(newest.sort());
      const alive = await Promise.all(held.map(({ session }) => capped.redis.exists(`${capped.prefix}${session.id}`)));
      expect(alive.filter((n) => n === 1)).toHaveLength(99);
    } finally {
      await capped.close();
      await uncapped.close();
    }
  });

  it('never leaves more than the cap alive under 30 concurrent logins (repeated)', async () => {
    for (let round = 0; round < 10; round++) {
      const user = `burst-${round}`;
      const issued = await Promise.all(Array.from({ length: 30 }, () => h.service.create({ id: user })));
      const alive = (await Promise.all(issued.map((s) => h.service.get(s.token)))).filter(Boolean);
      expect(alive.length).toBeLessThanOrEqual(2);
      expect(alive.length).toBeGreaterThanOrEqual(1);
      const listed = await h.service.list(user);
      expect(listed.map((s) => s.id).sort()).toEqual(alive.map((s) => s!.id).sort());
    }
  });
});

describe('races', () => {
  let h: ServiceHarness;
  beforeAll(async () => {
    h = await createServiceHarness({ ttl: 60, absoluteTtl: 600 });
  });
  afterAll(() => h.close());

  it('revokeAll racing logins: every session still alive afterwards is listed (50 rounds)', async () => {
    for (let round = 0; round < 50; round++) {
      const user = `race-${round}`;
      await h.service.create({ id: user });
      const logins = Array.from({ length: 10 }, () => h.service.create({ id: user }));
      const [issued] = await Promise.all([Promise.all(logins), h.service.revokeAll(user)]);
      const listed = new Set((await h.service.list(user)).map((s) => s.id));
      for (const s of issued) {
        const alive = await h.service.get(s.token);
        if (alive) expect(listed.has(alive.id)).toBe(true);
      }
    }
  });

  it('touch racing destroy never brings the session back (50 rounds × 100 touches)', async () => {
    for (let round = 0; round < 50; round++) {
      const s = await h.service.create({ id: 'touchy' });
      const touches = Array.from({ length: 100 }, () => h.service.touch(s.token));
      await Promise.all([...touches, h.service.destroy(s.token)]);
      expect(await h.redis.exists(`${h.prefix}${s.session.id}`)).toBe(0);
      expect(await h.service.touch(s.token)).toBeNull();
    }
    expect(await h.redis.exists(`${h.prefix}user:touchy`)).toBe(0);
  });
});
