import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { Redis } from 'ioredis';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { Roles, SessionGuard, SessionService } from '../src/index.js';
import { ADAPTERS, createTestApp, onEachAdapter, type TestApp } from './support/app.js';
import { listeningPort, rawRequest, sessionCookie, setCookies, tokenOf } from './support/http.js';
import { keysWithPrefix, sleep } from './support/redis.js';

/** A controller-level role list, and a handler that narrows it (the handler's list wins). */
@Controller('editorial')
@UseGuards(SessionGuard)
@Roles('editor', 'admin')
class EditorialController {
  @Get()
  read() {
    return { ok: true };
  }

  @Roles('admin')
  @Get('settings')
  settings() {
    return { ok: true };
  }
}

@Module({ controllers: [EditorialController] })
class EditorialModule {}

const alice = { username: 'alice', password: 'alice-password' };
const bob = { username: 'bob', password: 'bob-password' };

describe.each(ADAPTERS)('SessionGuard (%s)', (adapter) => {
  let t: TestApp;
  let server: ReturnType<TestApp['app']['getHttpServer']>;
  let redis: Redis;
  beforeAll(async () => {
    // isGlobal: EditorialModule, a feature module, uses SessionGuard without importing SessionModule.
    t = await createTestApp({ isGlobal: true }, [EditorialModule], { adapter });
    server = t.app.getHttpServer();
    redis = t.redis;
  });
  afterAll(() => t.close());

  it('401 without a session; 200 and @CurrentSession with one', async () => {
    expect((await request(server).get('/me')).status).toBe(401);
    const res = await request(server).post('/auth/login').send(alice);
    const me = await request(server).get('/me').set('Cookie', sessionCookie(res));
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ userId: 1, username: 'alice', sessionId: res.body.session.id });
  });

  it('finds the session cookie among other cookies', async () => {
    const cookie = sessionCookie(await request(server).post('/auth/login').send(alice));
    const me = await request(server).get('/me').set('Cookie', `theme=dark; ${cookie}; xsid=1; sid2=2`);
    expect(me.status).toBe(200);
  });

  it('@Roles: 403 for a role not listed, 200 for one that is, 401 without a session', async () => {
    const admin = sessionCookie(await request(server).post('/auth/login').send(alice));
    const user = sessionCookie(await request(server).post('/auth/login').send(bob));
    expect((await request(server).get('/admin').set('Cookie', admin)).status).toBe(200);
    const forbidden = await request(server).get('/admin').set('Cookie', user);
    expect(forbidden.status).toBe(403);
    expect((await request(server).get('/admin')).status).toBe(401);
  });

  it("@Roles with several roles: any listed role passes, a session without a role never does; a handler list overrides the controller's", async () => {
    const service = t.app.get(SessionService);
    const cookieFor = async (user: { id: string; role?: string }) => `sid=${(await service.create(user)).token}`;
    const editor = await cookieFor({ id: 'ed', role: 'editor' });
    const admin = await cookieFor({ id: 'ad', role: 'admin' });
    const noRole = await cookieFor({ id: 'nr' });
    const other = await cookieFor({ id: 'ot', role: 'user' });
    const status = async (path: string, cookie: string) => (await request(server).get(path).set('Cookie', cookie)).status;
    expect([await status('/editorial', editor), await status('/editorial', admin)]).toEqual([200, 200]);
    expect([await status('/editorial', noRole), await status('/editorial', other)]).toEqual([403, 403]);
    expect([await status('/editorial/settings', admin), await status('/editorial/settings', editor)]).toEqual([200, 403]);
    await Promise.all(['ed', 'ad', 'nr', 'ot'].map((id) => service.revokeAll(id)));
  });

  it('two session cookies are ambiguous (cookie tossing): 401 even if one is valid', async () => {
    const cookie = sessionCookie(await request(server).post('/auth/login').send(alice));
    const token = tokenOf(cookie);
    for (const header of [`${cookie}; sid=forged`, `sid=forged; ${cookie}`, `${cookie}; ${cookie}`]) {
      const res = await request(server).get('/me').set('Cookie', header);
      expect(res.status).toBe(401);
    }
    // Two Cookie headers are joined by Node: still ambiguous.
    const port = listeningPort(server);
    const status = await rawRequest(
      port,
      `GET /me HTTP/1.1\r\nHost: x\r\nCookie: sid=${token}\r\nCookie: sid=forged\r\nConnection: close\r\n\r\n`,
    );
    expect(status).toBe(401);
  });

  it('bad tokens of any shape are 4xx, never 5xx, and write nothing to Redis', async () => {
    const before = (await keysWithPrefix(redis, t.prefix)).length;
    const valid = tokenOf(sessionCookie(await request(server).post('/auth/login').send(alice)));
    const after = before + 1 + 1; // the session and alice's index (which may already exist)
    const port = listeningPort(server);
    const values = [
      '',
      '=',
      '""',
      '"unterminated',
      'a'.repeat(7000),
      `${valid}${'a'.repeat(100)}`,
      `${valid.slice(0, -1)}`,
      valid.replace('.', '..'),
      `${valid}x`,
      `%${valid}`,
      'sid',
      ';;;;',
      '\t',
      'null',
      '{"$ne":null}',
      `${valid.split('.')[0]}.zzzzzzzzzzz`,
      `${valid.split('.')[0]}.0`,
    ];
    for (const value of values) {
      const res = await request(server).get('/me').set('Cookie', `sid=${value}`);
      expect({ value: value.slice(0, 40), status: res.status }).toEqual({ value: value.slice(0, 40), status: 401 });
    }
    const rawValues = [
      Buffer.from('sid=\u00ff\u00fe\u0001\u007f', 'latin1'),
      Buffer.from('sid=🙂🙂🙂', 'utf8'),
      Buffer.from([0x73, 0x69, 0x64, 0x3d, 0xc3, 0x28, 0xa0, 0xa1]),
      Buffer.from(`sid=${valid}\u0000`, 'latin1'),
    ];
    for (const raw of rawValues) {
      const head = Buffer.concat([
        Buffer.from('GET /me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: '),
        raw,
        Buffer.from('\r\n\r\n'),
      ]);
      const status = await rawRequest(port, head);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
    }
    // A 20 KB cookie header: Node refuses oversized headers with 431, still not 5xx.
    const huge = await rawRequest(
      port,
      `GET /me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: sid=${'a'.repeat(20000)}\r\n\r\n`,
    );
    expect(huge).toBeGreaterThanOrEqual(400);
    expect(huge).toBeLessThan(500);
    expect((await keysWithPrefix(redis, t.prefix)).length).toBeLessThanOrEqual(after);
  });

  it('a bearer header is ignored with the default cookie transport', async () => {
    const token = tokenOf(sessionCookie(await request(server).post('/auth/login').send(alice)));
    expect((await request(server).get('/me').set('Authorization', `Bearer ${token}`)).status).toBe(401);
  });

  // 20 rounds on Express, 10 on Fastify: the race is in Redis (GETEX vs GETDEL), the platform only carries it.
  const rounds = adapter === 'express' ? 20 : 10;
  it(`a logout racing 200 concurrent guarded requests never brings the session back (${rounds} rounds)`, async () => {
    const base = `http://127.0.0.1:${listeningPort(server)}`;
    let ok = 0;
    let unauthorized = 0;
    for (let round = 0; round < rounds; round++) {
      const res = await request(server).post('/auth/login').send(bob);
      const cookie = sessionCookie(res);
      const id = res.body.session.id as string;
      // Requests spread over ~20 ms with the logout in the middle of them.
      const guarded = Array.from({ length: 200 }, (_, i) =>
        sleep(i % 20)
          .then(() => fetch(`${base}/me`, { headers: { cookie } }))
          .then((r) => r.status),
      );
      const logout = sleep(8).then(() => fetch(`${base}/auth/logout`, { method: 'POST', headers: { cookie } }));
      const [statuses, out] = await Promise.all([Promise.all(guarded), logout]);
      expect(out.status).toBe(204);
      for (const status of statuses) {
        expect([200, 401]).toContain(status);
        if (status === 200) ok++;
        else unauthorized++;
      }
      expect(await redis.exists(`${t.prefix}${id}`)).toBe(0);
      expect(await redis.zscore(`${t.prefix}user:u-bob`, id)).toBeNull();
      expect((await fetch(`${base}/me`, { headers: { cookie } })).status).toBe(401);
    }
    process.stdout.write(
      `logout race (${adapter}): ${ok} requests answered 200 before the logout, ${unauthorized} 401 after it\n`,
    );
    expect(ok + unauthorized).toBe(rounds * 200);
    // Both outcomes happened, so requests really raced the logout.
    expect(ok).toBeGreaterThan(0);
    expect(unauthorized).toBeGreaterThan(0);
  });
});

// Express and Fastify side by side: these tests mostly sleep, so both cost the time of one.
describe('SessionGuard expiry over HTTP (express and fastify side by side)', () => {
  it('an idle session expires after ttl', () =>
    onEachAdapter(async (adapter) => {
      const t = await createTestApp({ ttl: 1, absoluteTtl: 10 }, [], { adapter });
      try {
        const server = t.app.getHttpServer();
        const cookie = sessionCookie(await request(server).post('/auth/login').send(alice));
        expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(200);
        await sleep(1300);
        expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(401);
      } finally {
        await t.close();
      }
    }));

  it('requests slide the idle timeout, but never past absoluteTtl', () =>
    onEachAdapter(async (adapter) => {
      const t = await createTestApp({ ttl: 2, absoluteTtl: 4 }, [], { adapter });
      const redis = t.redis;
      try {
        const server = t.app.getHttpServer();
        const res = await request(server).post('/auth/login').send(alice);
        const cookie = sessionCookie(res);
        const key = `${t.prefix}${res.body.session.id}`;
        // 3.2 s of activity every 0.8 s: longer than ttl, alive thanks to sliding.
        for (let i = 0; i < 4; i++) {
          await sleep(800);
          expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(200);
        }
        const pttl = await redis.pttl(key);
        expect(pttl).toBeLessThanOrEqual(800); // capped by the absolute deadline, not reset to 2 s
        expect(pttl).toBeGreaterThan(0);
        await sleep(900);
        expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(401);
        expect(await redis.exists(key)).toBe(0);
      } finally {
        await t.close();
      }
    }));
});

describe('lastActivityAt reflects the last guarded request (express and fastify side by side)', () => {
  /** `at` lies within [from - slack, to + slack] (ms): the request happened between two client-side clocks. */
  const within = (at: string | Date, from: number, to: number, slack = 50) => {
    const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
    return { ms, inWindow: ms >= from - slack && ms <= to + slack };
  };
  /**
   * A time derived from the TTL Redis reported (`get`, the list) is late by up to the reading
   * call's own reply time, which a busy CI machine stretched past the slack: the window's end
   * moves on by the call's duration.
   */
  const timed = async <T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const started = Date.now();
    const value = await call();
    return { value, ms: Date.now() - started };
  };

  it('log in, wait, one guarded request: the session, the list, get and touch report its time, and expiresAt = lastActivityAt + ttl', () =>
    onEachAdapter(async (adapter) => {
      const ttlMs = 60_000;
      const t = await createTestApp({ ttl: ttlMs / 1000, absoluteTtl: 600 }, [], { adapter });
      try {
        const server = t.app.getHttpServer();
        const service = t.app.get(SessionService);
        const login = await request(server).post('/auth/login').send(alice);
        const cookie = sessionCookie(login);
        const token = tokenOf(cookie);
        const createdAt = Date.parse(login.body.session.createdAt);
        await sleep(1200);
        const before = Date.now();
        expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(200);
        const after = Date.now();
        await sleep(300);

        // Another session of the same user lists this one: its time is derived from the TTL the guard set.
        const other = sessionCookie(await request(server).post('/auth/login').send(alice));
        const list = await timed(() => request(server).get('/auth/sessions').set('Cookie', other));
        const listed = list.value.body.find((s: { id: string }) => s.id === login.body.session.id);
        expect(within(listed.lastActivityAt, before, after + list.ms)).toEqual({ ms: expect.any(Number), inWindow: true });
        expect(Date.parse(listed.lastActivityAt) - createdAt).toBeGreaterThan(1000);
        expect(Date.parse(listed.expiresAt) - Date.parse(listed.lastActivityAt)).toBe(ttlMs);

        // get (no sliding) reports the same time.
        const read = await timed(() => service.get(token));
        const got = read.value!;
        expect(within(got.lastActivityAt, before, after + read.ms)).toEqual({ ms: expect.any(Number), inWindow: true });
        expect(got.expiresAt.getTime() - got.lastActivityAt.getTime()).toBe(ttlMs);
        expect(got.createdAt.getTime()).toBe(createdAt);

        // GET /auth/session is a guarded request itself: it reports its own time.
        const b2 = Date.now();
        const current = await request(server).get('/auth/session').set('Cookie', cookie);
        const a2 = Date.now();
        expect(current.status).toBe(200);
        expect(within(current.body.lastActivityAt, b2, a2)).toEqual({ ms: expect.any(Number), inWindow: true });
        expect(Date.parse(current.body.expiresAt) - Date.parse(current.body.lastActivityAt)).toBe(ttlMs);
        expect(current.body.createdAt).toBe(login.body.session.createdAt);

        // touch slides and reports now; a get right after agrees with it.
        const b3 = Date.now();
        const touched = (await service.touch(token))!;
        const a3 = Date.now();
        expect(within(touched.lastActivityAt, b3, a3)).toEqual({ ms: expect.any(Number), inWindow: true });
        expect(touched.expiresAt.getTime() - touched.lastActivityAt.getTime()).toBe(ttlMs);
        const again = await timed(() => service.get(token));
        expect(within(again.value!.lastActivityAt, b3, a3 + again.ms)).toEqual({ ms: expect.any(Number), inWindow: true });
      } finally {
        await t.close();
      }
    }));
});

describe.each(ADAPTERS)('globalGuard (%s)', (adapter) => {
  let t: TestApp;
  let server: ReturnType<TestApp['app']['getHttpServer']>;
  beforeAll(async () => {
    t = await createTestApp({ globalGuard: true }, [], { adapter });
    server = t.app.getHttpServer();
  });
  afterAll(() => t.close());

  it('guards every route; @Public() and the login/logout routes stay open', async () => {
    expect((await request(server).get('/open')).status).toBe(401);
    expect((await request(server).get('/global-only')).status).toBe(401);
    expect((await request(server).get('/public')).status).toBe(200);
    expect((await request(server).post('/auth/logout')).status).toBe(204);
    const res = await request(server).post('/auth/login').send(alice);
    expect(res.status).toBe(200);
    const cookie = sessionCookie(res);
    expect((await request(server).get('/open').set('Cookie', cookie)).status).toBe(200);
    expect((await request(server).get('/global-only').set('Cookie', cookie)).body).toEqual({ userId: 1 });
    expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(200);
    const bobCookie = sessionCookie(await request(server).post('/auth/login').send(bob));
    expect((await request(server).get('/admin').set('Cookie', bobCookie)).status).toBe(403);
  });
});

describe.each(ADAPTERS)('transport (%s)', (adapter) => {
  it("'bearer': the token comes in the body, no cookie is set, Authorization carries it", async () => {
    const t = await createTestApp({ transport: 'bearer' }, [], { adapter });
    try {
      const server = t.app.getHttpServer();
      const res = await request(server).post('/auth/login').send(alice);
      expect(res.status).toBe(200);
      expect(res.body.token).toMatch(/^[A-Za-z0-9_-]{43}\.[0-9a-z]+$/);
      expect(setCookies(res)).toEqual([]);
      const token = res.body.token as string;
      expect((await request(server).get('/me').set('Authorization', `Bearer ${token}`)).status).toBe(200);
      expect((await request(server).get('/me').set('Authorization', `bearer ${token}`)).status).toBe(200);
      expect((await request(server).get('/me').set('Cookie', `sid=${token}`)).status).toBe(401);
      expect((await request(server).get('/me').set('Authorization', `Basic ${token}`)).status).toBe(401);
      expect((await request(server).get('/me').set('Authorization', 'Bearer ')).status).toBe(401);
      expect(
        (
          await request(server)
            .get('/me')
            .set('Authorization', `Bearer ${'x'.repeat(5000)}`)
        ).status,
      ).toBe(401);
      const out = await request(server).post('/auth/logout').set('Authorization', `Bearer ${token}`);
      expect(out.status).toBe(204);
      expect(setCookies(out)).toEqual([]);
      expect((await request(server).get('/me').set('Authorization', `Bearer ${token}`)).status).toBe(401);
    } finally {
      await t.close();
    }
  });

  it("'both': cookie or bearer; the login sets the cookie and returns the token", async () => {
    const t = await createTestApp({ transport: 'both' }, [], { adapter });
    try {
      const server = t.app.getHttpServer();
      const res = await request(server).post('/auth/login').send(alice);
      const cookie = sessionCookie(res);
      expect(tokenOf(cookie)).toBe(res.body.token);
      expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(200);
      expect((await request(server).get('/me').set('Authorization', `Bearer ${res.body.token}`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it.each(['bearer', 'both'] as const)(
    "'%s': a login presenting an already-held token as Authorization: Bearer destroys that session and issues a fresh token",
    async (transport) => {
      const t = await createTestApp({ transport }, [], { adapter });
      try {
        const server = t.app.getHttpServer();
        const first = await request(server).post('/auth/login').send(alice);
        const oldToken = first.body.token as string;
        const oldId = first.body.session.id as string;
        expect((await request(server).get('/me').set('Authorization', `Bearer ${oldToken}`)).status).toBe(200);
        const second = await request(server).post('/auth/login').set('Authorization', `Bearer ${oldToken}`).send(alice);
        expect(second.status).toBe(200);
        const newToken = second.body.token as string;
        expect(newToken).toMatch(/^[A-Za-z0-9_-]{43}\.[0-9a-z]+$/);
        expect(newToken).not.toBe(oldToken);
        expect(second.body.session.id).not.toBe(oldId);
        if (transport === 'both') expect(tokenOf(sessionCookie(second))).toBe(newToken);
        else expect(setCookies(second)).toEqual([]);
        expect((await request(server).get('/me').set('Authorization', `Bearer ${oldToken}`)).status).toBe(401);
        expect(await t.redis.exists(`${t.prefix}${oldId}`)).toBe(0);
        expect(await t.redis.zscore(`${t.prefix}user:1`, oldId)).toBeNull();
        const me = await request(server).get('/me').set('Authorization', `Bearer ${newToken}`);
        expect(me.status).toBe(200);
        expect(me.body.sessionId).toBe(second.body.session.id);
      } finally {
        await t.close();
      }
    },
  );

  it('cookie options shape the Set-Cookie header', async () => {
    const t = await createTestApp(
      {
        cookie: { name: 'app_session', sameSite: 'strict', path: '/app', domain: 'example.com', persistent: true },
        absoluteTtl: 7200,
      },
      [],
      { adapter },
    );
    try {
      const server = t.app.getHttpServer();
      const res = await request(server).post('/auth/login').send(alice);
      const [cookie] = setCookies(res);
      expect(cookie).toMatch(/^app_session=/);
      expect(cookie).toContain('; Path=/app');
      expect(cookie).toContain('; Domain=example.com');
      expect(cookie).toContain('; SameSite=Strict');
      expect(cookie).toMatch(/; Max-Age=(7200|7199)/);
      expect((await request(server).get('/me').set('Cookie', sessionCookie(res, 'app_session'))).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
