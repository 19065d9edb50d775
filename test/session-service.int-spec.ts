import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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
      const { token, session } = await h.service.create({ id: 42, username: 'ann', role: 'admin' }, { ip: '203.0.113.7', userAgent: UA });
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

    it('revoke deletes only the user\'s own session', async () => {
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

    it('revokeAll of 2,000 sessions is one script call plus the deletes', async () => {
      const created = await Promise.all(Array.from({ length: 2000 }, () => h.service.create({ id: 'many' })));
      expect(await h.redis.zcard(`${h.prefix}user:many`)).toBe(2000);
      expect(await h.service.revokeAll('many')).toBe(2000);
      expect(await h.service.get(created[1999].token)).toBeNull();
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
