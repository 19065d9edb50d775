import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { Controller, HttpCode, HttpStatus, Module, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { decodeSession, encodeSession, type StoredSession } from '../src/core/codec.js';
import { generateToken, sessionIdOf, tokenDeadline, tokenIdleTtlMs } from '../src/core/token.js';
import { Public, SessionAuth, SessionService } from '../src/index.js';
import { createTestApp, USERS, type TestApp } from './support/app.js';
import { sessionCookie, setCookies, tokenOf } from './support/http.js';
import { dumpPrefix, uniquePrefix, usePrivateRedis } from './support/redis.js';

/*
 * Upgrade compatibility (docs/versioning.md, "Sessions and tokens written before an upgrade").
 *
 * The session value gained an optional 10th field (`own`: a remember-me session's idle timeout
 * and persistent-cookie flag) and the token an optional third part (the idle timeout, base 36)
 * in 82d3d75. Sessions and tokens written before that must keep working after an upgrade, and
 * what this version writes for a session without settings of its own must stay readable by the
 * version before (two versions run side by side on one Redis during a rolling deploy).
 *
 * The "previous layout" below is written raw, byte for byte as src/core/codec.ts and
 * src/core/token.ts did before 82d3d75 (`git show 82d3d75^:src/core/codec.ts`), with the TTLs
 * and the user index entries that version's login left (SET ... PX NX, then lua/index-add-1.lua:
 * ZREMRANGEBYSCORE, ZADD, PEXPIREAT). Nothing here goes through the current encoder, so a change
 * to the decoder's defaults for the missing parts shows up as a failure.
 *
 * test/key-layout.int-spec.ts holds the README's layout to what a login writes; this file holds
 * the current code to what an older version wrote, and pins the format byte for byte.
 */

const TTL = 60;
const ABSOLUTE_TTL = 600;
/** Remember me is on in the upgraded app: old tokens and values must still get the module's lifetimes. */
const REMEMBER_ME = { ttl: 3600, absoluteTtl: 7200 };
const IP = '203.0.113.7';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) previous-layout';

/** What the previous version stored for a session (StoredSession before `own` existed). */
interface PreviousSession {
  userId: string | number;
  username: string | null;
  role: string | null;
  createdAt: number;
  absoluteExpiresAt: number;
  ip: string | null;
  userAgent: string | null;
  data?: Record<string, unknown>;
}

/** The previous encoder: `[1, userId, username, role, createdAtMs, absoluteExpiresAtMs, ip, userAgent, data?]`. */
function previousValue(s: PreviousSession): string {
  const fields: unknown[] = [1, s.userId, s.username, s.role, s.createdAt, s.absoluteExpiresAt, s.ip, s.userAgent];
  if (s.data !== undefined) fields.push(s.data);
  return JSON.stringify(fields);
}

/** The previous token: `<43 base64url characters>.<absolute deadline, epoch ms in base 36>`, no third part. */
function previousToken(absoluteExpiresAt: number): string {
  return `${randomBytes(32).toString('base64url')}.${absoluteExpiresAt.toString(36)}`;
}

/** The public id, as every version derives it: the first 22 base64url characters of SHA-256(token). */
const idOf = (token: string) => createHash('sha256').update(token).digest('base64url').slice(0, 22);

/**
 * The previous version's user index key. Number ids and strings that do not look like an integer
 * kept their key when string ids like "1" moved to `user:"1"` (README, "Redis key layout"): only
 * those are written here.
 */
function previousIndexKey(prefix: string, userId: string | number): string {
  if (typeof userId === 'string' && /^(?:-?\d+$|")/.test(userId))
    throw new Error('not a key the previous layout shares with this one');
  return `${prefix}user:${userId}`;
}

/** The previous version's decoder (codec.ts before 82d3d75): what an older instance makes of a value. */
function previousDecode(value: string): PreviousSession | null {
  let fields: unknown;
  try {
    fields = JSON.parse(value);
  } catch {
    return null;
  }
  if (!Array.isArray(fields) || fields[0] !== 1 || fields.length < 8 || fields.length > 9) return null;
  const [, userId, username, role, createdAt, absoluteExpiresAt, ip, userAgent, data] = fields as unknown[];
  const stringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
  if (typeof userId !== 'string' && !(typeof userId === 'number' && Number.isSafeInteger(userId))) return null;
  if (!stringOrNull(username) || !stringOrNull(role) || !stringOrNull(ip) || !stringOrNull(userAgent)) return null;
  if (typeof createdAt !== 'number' || typeof absoluteExpiresAt !== 'number') return null;
  if (data !== undefined && (typeof data !== 'object' || data === null || Array.isArray(data))) return null;
  return {
    userId,
    username,
    role,
    createdAt,
    absoluteExpiresAt,
    ip,
    userAgent,
    data: data as Record<string, unknown> | undefined,
  };
}

/** The previous version's token check (token.ts before 82d3d75). */
const PREVIOUS_TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}\.[0-9a-z]{1,11}$/;

interface Written {
  token: string;
  id: string;
  key: string;
  value: string;
  session: PreviousSession;
}

/**
 * A session as the previous version left it: its key (value, TTL) and its index entry (score =
 * absolute deadline, the index expiring with its latest member). `idleMs`: the TTL left, as if
 * the session had been idle for `ttl - idleMs`.
 */
async function writePrevious(
  admin: Redis,
  prefix: string,
  user: { id: string | number; username?: string | null; role?: string | null; data?: Record<string, unknown> },
  timing: { ageMs: number; idleMs: number } = { ageMs: 300_000, idleMs: 30_000 },
): Promise<Written> {
  const now = Date.now();
  const createdAt = now - timing.ageMs;
  const session: PreviousSession = {
    userId: user.id,
    username: user.username ?? null,
    role: user.role ?? null,
    createdAt,
    absoluteExpiresAt: createdAt + ABSOLUTE_TTL * 1000,
    ip: IP,
    userAgent: UA,
    ...(user.data !== undefined && { data: user.data }),
  };
  const token = previousToken(session.absoluteExpiresAt);
  const id = idOf(token);
  const key = `${prefix}${id}`;
  const value = previousValue(session);
  expect(await admin.set(key, value, 'PX', Math.min(timing.idleMs, session.absoluteExpiresAt - now), 'NX')).toBe('OK');
  const index = previousIndexKey(prefix, user.id);
  await admin.zremrangebyscore(index, '-inf', now);
  await admin.zadd(index, session.absoluteExpiresAt, id);
  const [, latest] = flat(await admin.zrange(index, '-1', '-1', 'WITHSCORES'));
  await admin.pexpireat(index, Number(latest));
  return { token, id, key, value, session };
}

/** A ZRANGE ... WITHSCORES reply as [member, score, ...] (RESP3 nests the pairs). */
const flat = (reply: unknown[]): string[] => reply.flat().map(String);

/** Every key under the prefix has a TTL, and none names or holds one of `ids`. */
async function expectNoTrace(admin: Redis, prefix: string, ids: string[]): Promise<void> {
  for (const { key, pttl, content } of await dumpPrefix(admin, prefix)) {
    expect({ key, hasTtl: pttl > 0 }).toEqual({ key, hasTtl: true });
    for (const id of ids) {
      expect(key).not.toContain(id);
      expect(content).not.toContain(id);
    }
  }
}

/** An app's own rotation route (SessionAuth.rotate), as the README's custom sign-in recipe has. */
@Controller('compat')
class RotateController {
  constructor(private readonly auth: SessionAuth) {}

  @Public()
  @Post('rotate')
  @HttpCode(HttpStatus.OK)
  async rotate(@Req() req: never, @Res({ passthrough: true }) res: unknown) {
    const issued = await this.auth.rotate(req, res);
    if (!issued) throw new UnauthorizedException('No session to rotate');
    return { sessionId: issued.session.id, persistentCookie: issued.persistentCookie ?? false };
  }
}

@Module({ controllers: [RotateController] })
class RotateModule {}

const within = (actual: number, expected: number, slackMs: number) => {
  expect(actual).toBeGreaterThanOrEqual(expected - slackMs);
  expect(actual).toBeLessThanOrEqual(expected + slackMs);
};

describe('upgrade: sessions and tokens written in the previous layout (no 10th field, no third token part)', () => {
  const own = usePrivateRedis();

  /** Each test gets an app of its own on its own key prefix. */
  async function withApp(test: (t: TestApp, service: SessionService) => Promise<void>): Promise<void> {
    const t = await createTestApp(
      {
        redis: { url: own.server.url },
        keyPrefix: uniquePrefix('upgrade'),
        ttl: TTL,
        absoluteTtl: ABSOLUTE_TTL,
        rememberMe: REMEMBER_ME,
        isGlobal: true,
      },
      [RotateModule],
      { assertionClient: own.admin },
    );
    try {
      await test(t, t.app.get(SessionService));
    } finally {
      await t.close();
    }
  }

  it('the guard accepts an old token and slides its session by the module ttl (not remember me), capped by the deadline; get() reads it without sliding', async () => {
    await withApp(async (t, service) => {
      const http = t.app.getHttpServer();
      const plain = await writePrevious(own.admin, t.prefix, { id: 42, username: 'ann', role: 'user' });
      const withData = await writePrevious(own.admin, t.prefix, {
        id: 'u-ben',
        username: 'ben',
        role: null,
        data: { team: 'core' },
      });
      // 20 s before its absolute deadline: a slide must stop there.
      const ending = await writePrevious(
        own.admin,
        t.prefix,
        { id: 42 },
        { ageMs: ABSOLUTE_TTL * 1000 - 20_000, idleMs: 15_000 },
      );

      const read = await service.get(plain.token);
      expect(read).toMatchObject({
        id: plain.id,
        userId: 42,
        username: 'ann',
        role: 'user',
        ip: IP,
        userAgent: UA,
        createdAt: new Date(plain.session.createdAt),
        absoluteExpiresAt: new Date(plain.session.absoluteExpiresAt),
      });
      expect(read?.data).toBeUndefined();
      expect(await own.admin.pttl(plain.key)).toBeLessThanOrEqual(30_000); // get() did not slide

      for (const old of [plain, withData]) {
        const me = await request(http).get('/me').set('Cookie', `sid=${old.token}`);
        expect(me.status).toBe(200);
        expect(me.body).toEqual({ userId: old.session.userId, username: old.session.username, sessionId: old.id });
        within(await own.admin.pttl(old.key), TTL * 1000, 1500); // the module's ttl, not rememberMe's 3600 s
        expect(await own.admin.get(old.key)).toBe(old.value); // sliding writes nothing but the TTL
      }

      const current = await request(http).get('/auth/session').set('Cookie', `sid=${withData.token}`);
      expect(current.status).toBe(200);
      expect(current.body).toMatchObject({
        id: withData.id,
        userId: 'u-ben',
        username: 'ben',
        role: null,
        createdAt: new Date(withData.session.createdAt).toISOString(),
        absoluteExpiresAt: new Date(withData.session.absoluteExpiresAt).toISOString(),
        ip: IP,
        userAgent: UA,
        data: { team: 'core' },
      });
      within(Date.parse(current.body.expiresAt) - Date.now(), TTL * 1000, 1500);

      // touch(), the guard's call: the same slide, capped by the deadline the old token carries.
      const touched = await service.touch(ending.token);
      expect(touched?.id).toBe(ending.id);
      const left = ending.session.absoluteExpiresAt - Date.now();
      within(await own.admin.pttl(ending.key), left, 1500);
      expect(await own.admin.pttl(ending.key)).toBeLessThanOrEqual(20_000);
    });
  });

  it("lists them among the user's sessions next to a session of this version, last activity derived with the module ttl", async () => {
    await withApp(async (t, service) => {
      const http = t.app.getHttpServer();
      // alice (id 1) has two sessions from before the upgrade and logs in again after it: one index.
      const older = await writePrevious(own.admin, t.prefix, { id: 1, username: 'alice', role: 'admin', data: { team: 'core' } });
      const old = await writePrevious(
        own.admin,
        t.prefix,
        { id: 1, username: 'alice', role: 'admin' },
        { ageMs: 200_000, idleMs: 30_000 },
      );
      const login = await request(http).post('/auth/login').send({ username: 'alice', password: USERS.alice.password });
      expect(login.status).toBe(200);
      const fresh = login.body.session as { id: string };

      const listed = await service.list(1);
      expect(listed.map((s) => s.id)).toEqual([fresh.id, old.id, older.id]); // newest first, by absolute deadline
      const byId = new Map(listed.map((s) => [s.id, s]));
      for (const w of [older, old]) {
        const s = byId.get(w.id)!;
        expect(s).toMatchObject({ userId: 1, username: 'alice', role: 'admin', createdAt: new Date(w.session.createdAt) });
        // Idle for 30 s of a 60 s ttl: last activity ~30 s ago (a wrong default idle timeout puts it at createdAt).
        within(s.lastActivityAt.getTime(), Date.now() - 30_000, 2000);
        within(s.expiresAt.getTime(), Date.now() + 30_000, 2000);
      }
      expect(byId.get(older.id)?.data).toEqual({ team: 'core' });

      // Over HTTP, seen from the new login and from an old token: `current` marks the caller's.
      for (const [cookie, currentId] of [
        [sessionCookie(login), fresh.id],
        [`sid=${old.token}`, old.id],
      ]) {
        const res = await request(http).get('/auth/sessions').set('Cookie', cookie);
        expect(res.status).toBe(200);
        const body = res.body as Array<{ id: string; current: boolean }>;
        expect(body.map((s) => [s.id, s.current])).toEqual([fresh.id, old.id, older.id].map((id) => [id, id === currentId]));
      }
    });
  });

  it('update and updateUser change them in place and keep them in the previous layout (8 or 9 fields), TTL kept', async () => {
    await withApp(async (t, service) => {
      const a = await writePrevious(own.admin, t.prefix, { id: 42, username: 'ann', role: 'user', data: { team: 'core' } });
      const b = await writePrevious(own.admin, t.prefix, { id: 42, username: 'ann', role: 'user' });
      const ttlBefore = await own.admin.pttl(a.key);

      const updated = await service.update(a.token, { role: 'admin', theme: 'dark' });
      expect(updated).toMatchObject({ id: a.id, userId: 42, role: 'admin', data: { team: 'core', theme: 'dark' } });
      expect(await own.admin.get(a.key)).toBe(
        previousValue({ ...a.session, role: 'admin', data: { team: 'core', theme: 'dark' } }),
      );
      expect(await own.admin.pttl(a.key)).toBeLessThanOrEqual(ttlBefore);
      expect(await own.admin.pttl(a.key)).toBeGreaterThan(ttlBefore - 1500);

      // Removing every data key gives back the 8-field value, not a `null` placeholder.
      await service.update(a.token, { team: null, theme: null });
      expect(await own.admin.get(a.key)).toBe(previousValue({ ...a.session, role: 'admin', data: undefined }));
      expect(await service.update(b.token, { cart: [1] })).toMatchObject({ data: { cart: [1] } });
      expect(await own.admin.get(b.key)).toBe(previousValue({ ...b.session, data: { cart: [1] } }));

      expect(await service.updateUser(42, { role: 'auditor' })).toBe(2);
      expect(await own.admin.get(a.key)).toBe(previousValue({ ...a.session, role: 'auditor', data: undefined }));
      expect(await own.admin.get(b.key)).toBe(previousValue({ ...b.session, role: 'auditor', data: { cart: [1] } }));
      // Still a session an instance of the previous version reads, and the guard still accepts.
      expect(previousDecode((await own.admin.get(b.key))!)).toEqual({ ...b.session, role: 'auditor', data: { cart: [1] } });
      const me = await request(t.app.getHttpServer()).get('/me').set('Cookie', `sid=${a.token}`);
      expect(me.status).toBe(200);
    });
  });

  it('rotate gives an old session a token without an idle part, the same value byte for byte, the module ttl and a browser-session cookie', async () => {
    await withApp(async (t, service) => {
      const http = t.app.getHttpServer();
      const old = await writePrevious(own.admin, t.prefix, { id: 42, username: 'ann', role: 'user', data: { team: 'core' } });
      const res = await request(http).post('/compat/rotate').set('Cookie', `sid=${old.token}`);
      expect(res.status).toBe(200);
      expect(res.body.persistentCookie).toBe(false);
      const cookie = setCookies(res).find((c) => c.startsWith('sid='))!;
      expect(cookie).not.toMatch(/Max-Age|Expires/); // cookie.persistent is off: no remember-me cookie for an old session
      const token = tokenOf(sessionCookie(res));
      expect(token).toMatch(PREVIOUS_TOKEN_FORMAT); // two parts: an older instance accepts it too
      expect(token.split('.')[1]).toBe(old.token.split('.')[1]); // the same deadline
      const id = res.body.sessionId as string;
      expect(id).toBe(idOf(token));

      expect(await own.admin.get(`${t.prefix}${id}`)).toBe(old.value);
      within(await own.admin.pttl(`${t.prefix}${id}`), TTL * 1000, 1500);
      expect((await request(http).get('/me').set('Cookie', `sid=${old.token}`)).status).toBe(401);
      expect((await request(http).get('/me').set('Cookie', `sid=${token}`)).status).toBe(200);
      expect(flat(await own.admin.zrange(`${t.prefix}user:42`, '0', '-1', 'WITHSCORES'))).toEqual([
        id,
        String(old.session.absoluteExpiresAt),
      ]);
      await expectNoTrace(own.admin, t.prefix, [old.id]); // the forward names neither id in the clear

      // The same through SessionService: no persistent cookie asked for, the module's idle timeout.
      const other = await writePrevious(own.admin, t.prefix, { id: 'u-ben' });
      const rotated = await service.rotate(other.token);
      expect(rotated?.persistentCookie).toBeUndefined();
      expect(tokenIdleTtlMs(rotated!.token)).toBe(0);
      expect(rotated!.session.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(TTL * 1000);
      expect(await own.admin.get(`${t.prefix}${rotated!.session.id}`)).toBe(other.value);
    });
  });

  it('logout, revoke by id, revokeToken and logout-all end them and leave no key that mentions their ids', async () => {
    await withApp(async (t, service) => {
      const http = t.app.getHttpServer();
      const alice = { id: 1, username: 'alice', role: 'admin' };
      const [s1, s2, s3, s4, s5] = await Promise.all([1, 2, 3, 4, 5].map(() => writePrevious(own.admin, t.prefix, alice)));
      const fresh = await service.create({ id: 1, username: 'alice', role: 'admin' }); // this version's, same index

      const logout = await request(http).post('/auth/logout').set('Cookie', `sid=${s1.token}`);
      expect(logout.status).toBe(204);
      expect(setCookies(logout).find((c) => c.startsWith('sid='))).toMatch(/Max-Age=0/);
      expect((await request(http).get('/me').set('Cookie', `sid=${s1.token}`)).status).toBe(401);
      await expectNoTrace(own.admin, t.prefix, [s1.id]);

      expect((await request(http).delete(`/auth/sessions/${s2.id}`).set('Cookie', `sid=${s3.token}`)).status).toBe(204);
      expect((await request(http).get('/me').set('Cookie', `sid=${s2.token}`)).status).toBe(401);
      await expectNoTrace(own.admin, t.prefix, [s2.id]);

      expect(await service.revokeToken(s4.token)).toBe(true);
      await expectNoTrace(own.admin, t.prefix, [s4.id]);

      expect(await service.list(1)).toHaveLength(3); // s3, s5 and this version's
      expect((await request(http).post('/auth/logout-all').set('Cookie', `sid=${s3.token}`)).status).toBe(204);
      for (const token of [s3.token, s5.token, fresh.token]) {
        expect((await request(http).get('/me').set('Cookie', `sid=${token}`)).status).toBe(401);
      }
      expect(await own.admin.exists(`${t.prefix}user:1`)).toBe(0);
      await expectNoTrace(own.admin, t.prefix, [s1, s2, s3, s4, s5].map((s) => s.id).concat(fresh.session.id));
    });
  });

  it('what this version writes at login, the previous version reads (except a remember-me login, which it refuses with a 401)', async () => {
    await withApp(async (t) => {
      const http = t.app.getHttpServer();
      const plain = await request(http)
        .post('/auth/login')
        .set('User-Agent', UA)
        .send({ username: 'alice', password: USERS.alice.password });
      expect(plain.status).toBe(200);
      const { session } = plain.body as { session: { id: string; createdAt: string; absoluteExpiresAt: string; ip: string } };
      const token = tokenOf(sessionCookie(plain));
      const expected: PreviousSession = {
        userId: 1,
        username: 'alice',
        role: 'admin',
        createdAt: Date.parse(session.createdAt),
        absoluteExpiresAt: Date.parse(session.absoluteExpiresAt),
        ip: session.ip,
        userAgent: UA,
        data: { team: 'core' },
      };
      const value = await own.admin.get(`${t.prefix}${session.id}`);
      expect(value).toBe(previousValue(expected)); // byte for byte the previous layout
      expect(previousDecode(value!)).toEqual(expected);
      expect(token).toMatch(PREVIOUS_TOKEN_FORMAT);
      expect(parseInt(token.split('.')[1], 36)).toBe(expected.absoluteExpiresAt);

      // A remember-me login adds what the previous version cannot read: an older instance
      // answers 401 for it (it deletes nothing). Turn rememberMe on once every instance runs this version.
      const remembered = await request(http)
        .post('/auth/login')
        .set('User-Agent', UA)
        .send({ username: 'alice', password: USERS.alice.password, rememberMe: true });
      expect(remembered.status).toBe(200);
      const rs = remembered.body.session as { id: string; createdAt: string; absoluteExpiresAt: string };
      const rememberedToken = tokenOf(sessionCookie(remembered));
      const rememberedValue = await own.admin.get(`${t.prefix}${rs.id}`);
      const base = previousValue({
        ...expected,
        createdAt: Date.parse(rs.createdAt),
        absoluteExpiresAt: Date.parse(rs.absoluteExpiresAt),
      });
      expect(rememberedValue).toBe(`${base.slice(0, -1)},{"t":${REMEMBER_ME.ttl * 1000},"p":1}]`);
      expect(rememberedToken).toMatch(new RegExp(`^[A-Za-z0-9_-]{43}\\.[0-9a-z]+\\.${REMEMBER_ME.ttl.toString(36)}$`));
      expect(previousDecode(rememberedValue!)).toBeNull();
      expect(rememberedToken).not.toMatch(PREVIOUS_TOKEN_FORMAT);
    });
  });
});

describe('next to a newer version: a session value this version cannot read', () => {
  const own = usePrivateRedis();

  /**
   * What a later version could write that this one cannot read (docs/versioning.md, "Rolling
   * upgrades"): a value with an 11th field (this version's decoder and update script refuse more
   * than 10), or a value of another format version. Its key lives, with its TTL and its index entry.
   */
  const NEWER = {
    'an 11th field': (value: string) => `${value.slice(0, -1)},null,{"future":1}]`,
    'another format version': (value: string) => `[2,${value.slice(3)}`,
  } as const;
  type Newer = keyof typeof NEWER;
  const KINDS = Object.keys(NEWER) as Newer[];

  async function writeNewer(t: TestApp, kind: Newer): Promise<Written> {
    const w = await writePrevious(own.admin, t.prefix, { id: 42, username: 'ann', role: 'user', data: { team: 'core' } });
    const value = NEWER[kind](w.value);
    await own.admin.set(w.key, value, 'KEEPTTL');
    return { ...w, value };
  }

  async function withApp(
    test: (t: TestApp, service: SessionService) => Promise<void>,
    options: { maxSessionsPerUser?: number } = {},
  ): Promise<void> {
    const t = await createTestApp(
      { redis: { url: own.server.url }, keyPrefix: uniquePrefix('newer'), ttl: TTL, absoluteTtl: ABSOLUTE_TTL, ...options },
      [],
      { assertionClient: own.admin },
    );
    try {
      await test(t, t.app.get(SessionService));
    } finally {
      await t.close();
    }
  }

  it.each(KINDS)(
    '%s: is refused (401) without being changed, stays listed in the index, and revoke by id and logout-all still end it',
    async (kind) => {
      await withApp(async (t, service) => {
        const http = t.app.getHttpServer();
        const newer = await writeNewer(t, kind);
        const index = `${t.prefix}user:42`;
        expect((await request(http).get('/me').set('Cookie', `sid=${newer.token}`)).status).toBe(401);
        expect(await service.get(newer.token)).toBeNull();
        expect(await service.list(42)).toEqual([]); // not shown...
        expect(await own.admin.zscore(index, newer.id)).not.toBeNull(); // ...but still indexed
        expect(await own.admin.get(newer.key)).toBe(newer.value);
        expect(await service.revoke(42, newer.id)).toBe(true);
        expect(await own.admin.exists(newer.key)).toBe(0);

        const again = await writeNewer(t, kind);
        expect(await service.list(42)).toEqual([]);
        expect(await service.revokeAll(42)).toBe(1);
        expect(await own.admin.exists(again.key)).toBe(0);
        await expectNoTrace(own.admin, t.prefix, [newer.id, again.id]);
      });
    },
  );

  // Fixed with issue 21: updateUser took a value its update script could not read for a session
  // that is gone, and dropped its id from the index while the key lived on, so a later
  // logout-all missed it.
  it.each(KINDS)('%s: updateUser leaves it in its user index (else logout-all would miss it)', async (kind) => {
    await withApp(async (t, service) => {
      const newer = await writeNewer(t, kind);
      expect(await service.updateUser(42, { role: 'admin' })).toBe(0);
      expect(await own.admin.get(newer.key)).toBe(newer.value);
      expect(await own.admin.zscore(`${t.prefix}user:42`, newer.id)).not.toBeNull();
      expect(await service.revokeAll(42)).toBe(1);
      expect(await own.admin.exists(newer.key)).toBe(0);
    });
  });

  it.each(KINDS)(
    '%s: next to a session of this version, list shows only that one and updateUser changes only that one; update by its token changes nothing; logout-all ends both',
    async (kind) => {
      await withApp(async (t, service) => {
        const newer = await writeNewer(t, kind);
        const { token, session } = await service.create({ id: 42, username: 'ann', role: 'user' });
        const index = `${t.prefix}user:42`;
        expect((await service.list(42)).map((s) => s.id)).toEqual([session.id]);
        const page = await service.listPage(42, { limit: 1 });
        const rest = page.nextCursor === null ? [] : (await service.listPage(42, { cursor: page.nextCursor })).sessions;
        expect([...page.sessions, ...rest].map((s) => s.id)).toEqual([session.id]);
        expect(await service.updateUser(42, { role: 'admin' })).toBe(1);
        expect((await service.get(token))?.role).toBe('admin');
        expect(await service.update(newer.token, { role: 'admin' })).toBeNull();
        expect(await own.admin.get(newer.key)).toBe(newer.value);
        expect(await own.admin.zscore(index, newer.id)).not.toBeNull();
        expect(await service.revokeAll(42)).toBe(2);
        expect(await own.admin.exists(newer.key)).toBe(0);
        expect(await service.get(token)).toBeNull();
        await expectNoTrace(own.admin, t.prefix, [newer.id, session.id]);
      });
    },
  );

  it.each(KINDS)(
    '%s: past maxSessionsPerUser a login evicts it as the oldest live session (deleted, then unlisted)',
    async (kind) => {
      await withApp(
        async (t, service) => {
          const newer = await writeNewer(t, kind);
          const { session } = await service.create({ id: 42 });
          expect(await own.admin.exists(newer.key)).toBe(0);
          expect(flat(await own.admin.zrange(`${t.prefix}user:42`, '0', '-1'))).toEqual([session.id]);
        },
        { maxSessionsPerUser: 1 },
      );
    },
  );
});

describe('the session value and token formats, pinned (a change here is a change of the Redis layout: docs/versioning.md)', () => {
  const base: StoredSession = {
    userId: 42,
    username: 'ann',
    role: 'user',
    createdAt: 1795392215789,
    absoluteExpiresAt: 1795435415789,
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0',
    data: undefined,
  };
  const GOLDEN: Array<[string, StoredSession, string]> = [
    ['no data', base, '[1,42,"ann","user",1795392215789,1795435415789,"203.0.113.7","Mozilla/5.0"]'],
    [
      'string id, nulls',
      { ...base, userId: 'u-ann', username: null, role: null, ip: null, userAgent: null },
      '[1,"u-ann",null,null,1795392215789,1795435415789,null,null]',
    ],
    [
      'data',
      { ...base, data: { team: 'core', cart: [1, 2] } },
      '[1,42,"ann","user",1795392215789,1795435415789,"203.0.113.7","Mozilla/5.0",{"team":"core","cart":[1,2]}]',
    ],
    [
      'own idle timeout and persistent cookie, no data',
      { ...base, ttlMs: 1_209_600_000, persistentCookie: true },
      '[1,42,"ann","user",1795392215789,1795435415789,"203.0.113.7","Mozilla/5.0",null,{"t":1209600000,"p":1}]',
    ],
    [
      'data and a persistent cookie only',
      { ...base, data: { team: 'core' }, persistentCookie: true },
      '[1,42,"ann","user",1795392215789,1795435415789,"203.0.113.7","Mozilla/5.0",{"team":"core"},{"p":1}]',
    ],
  ];

  it.each(GOLDEN)('session value (%s): encoded exactly so, and read back', (_name, stored, golden) => {
    expect(encodeSession(stored)).toBe(golden);
    expect(decodeSession(golden)).toEqual(stored);
  });

  it('a value of the previous layout reads with the defaults of the missing 10th field: no own idle timeout, no persistent cookie', () => {
    const decoded = decodeSession('[1,42,"ann","user",1795392215789,1795435415789,"203.0.113.7","Mozilla/5.0",{"team":"core"}]');
    expect(decoded).toEqual({ ...base, data: { team: 'core' } });
    expect(decoded).not.toHaveProperty('ttlMs');
    expect(decoded).not.toHaveProperty('persistentCookie');
  });

  it('token: <43 base64url>.<deadline base 36>[.<idle seconds base 36>]; id: 22 base64url characters of SHA-256(token)', () => {
    const plain = generateToken(1795435415789);
    expect(plain).toMatch(/^[A-Za-z0-9_-]{43}\.mwt7w165$/);
    const remembered = generateToken(1795435415789, 1_209_600);
    expect(remembered).toMatch(/^[A-Za-z0-9_-]{43}\.mwt7w165\.pxc0$/);
    expect([tokenDeadline(plain), tokenIdleTtlMs(plain)]).toEqual([1795435415789, 0]);
    expect([tokenDeadline(remembered), tokenIdleTtlMs(remembered)]).toEqual([1795435415789, 1_209_600_000]);
    const secret = 'A'.repeat(43);
    expect(sessionIdOf(`${secret}.mwt7w165`)).toBe('taN-KQ33edET3QNuQuvSWU');
    expect(sessionIdOf(`${secret}.mwt7w165.pxc0`)).toBe('a7aJUGCn2JKeePbyCffWAx');
  });
});
