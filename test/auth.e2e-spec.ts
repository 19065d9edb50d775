import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { tap, type Observable } from 'rxjs';
import request from 'supertest';
import type { Redis } from 'ioredis';
import type { SessionContext, SessionCredentials } from '../src/index.js';
import { ADAPTERS, createTestApp, validateCredentials, type TestApp } from './support/app.js';
import { sessionCookie, setCookies, tokenOf } from './support/http.js';
import { dumpPrefix, sleep } from './support/redis.js';

const alice = { username: 'alice', password: 'alice-password' };

/** Sets a cookie of the app's own the way each platform does (Express `append`, Fastify `reply.header`). */
function appendCookie(
  response: { append?: (n: string, v: string) => unknown; header?: (n: string, v: string) => unknown },
  value: string,
) {
  if (typeof response.append === 'function') response.append('Set-Cookie', value);
  else response.header!('set-cookie', value);
}

/** An app interceptor that sets a cookie before the handler runs and another one after it. */
@Injectable()
class OtherCookies implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const response = context.switchToHttp().getResponse();
    appendCookie(response, 'before=1; Path=/');
    return next.handle().pipe(tap(() => appendCookie(response, 'after=1; Path=/')));
  }
}

@Module({ providers: [{ provide: APP_INTERCEPTOR, useClass: OtherCookies }] })
class OtherCookiesModule {}
const bob = { username: 'bob', password: 'bob-password' };

/**
 * The keys under `prefix` whose name or content (every field, member and score) mentions
 * one of `ids`: a revoked session must leave no trace, the per-user index included.
 */
async function keysMentioning(redis: Redis, prefix: string, ids: string[]): Promise<string[]> {
  const dump = await dumpPrefix(redis, prefix);
  return dump.filter((entry) => ids.some((id) => entry.key.includes(id) || entry.content.includes(id))).map((entry) => entry.key);
}

describe.each(ADAPTERS)('AuthController over HTTP (%s)', (adapter) => {
  let t: TestApp;
  let redis: Redis;
  let server: ReturnType<TestApp['app']['getHttpServer']>;
  beforeAll(async () => {
    t = await createTestApp({}, [], { adapter });
    server = t.app.getHttpServer();
    redis = t.redis;
  });
  afterAll(() => t.close());

  const login = (body: object = alice) => request(server).post('/auth/login').send(body);

  describe('POST /auth/login', () => {
    it('200 with user and session, and a hardened session cookie', async () => {
      const res = await login().set('User-Agent', 'jest-e2e/1.0');
      expect(res.status).toBe(200);
      expect(res.body.user).toEqual({ id: 1, username: 'alice', role: 'admin', team: 'core' });
      expect(res.body.session).toMatchObject({
        userId: 1,
        username: 'alice',
        role: 'admin',
        userAgent: 'jest-e2e/1.0',
        data: { team: 'core' },
      });
      for (const field of ['createdAt', 'lastActivityAt', 'expiresAt', 'absoluteExpiresAt']) {
        expect(new Date(res.body.session[field]).toISOString()).toBe(res.body.session[field]);
      }
      expect(res.body.session.ip).toMatch(/127\.0\.0\.1/);
      expect(res.body.token).toBeUndefined();
      const [cookie] = setCookies(res);
      expect(cookie).toMatch(/^sid=[A-Za-z0-9_-]{43}\.[0-9a-z]+; /);
      expect(cookie).toContain('; Path=/');
      expect(cookie).toContain('; HttpOnly');
      expect(cookie).toContain('; Secure');
      expect(cookie).toContain('; SameSite=Lax');
      expect(cookie).not.toMatch(/Max-Age|Expires|Domain/i);
    });

    it('never returns or stores a password key from validateCredentials', async () => {
      const res = await login({ username: 'carol', password: 'carol-password' });
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.body).toLowerCase()).not.toContain('password');
      const dump = await dumpPrefix(redis, t.prefix);
      for (const entry of dump) expect(entry.content.toLowerCase()).not.toContain('password');
    });

    it('401 with the same body for an unknown user and a wrong password', async () => {
      const wrong = await login({ username: 'alice', password: 'nope' });
      const unknown = await login({ username: 'mallory', password: 'nope' });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(unknown.body).toEqual(wrong.body);
      expect(setCookies(wrong)).toEqual([]);
    });

    it.each([
      ['a missing body', undefined],
      ['an empty object', {}],
      ['a missing password', { username: 'alice' }],
      ['an empty username', { username: '', password: 'x' }],
      ['an empty password', { username: 'alice', password: '' }],
      ['a numeric username', { username: 42, password: 'x' }],
      ['an array password', { username: 'alice', password: ['x'] }],
      ['an object username', { username: { $ne: null }, password: 'x' }],
      ['an unknown field', { username: 'alice', password: 'alice-password', admin: true }],
      ['a prototype-pollution key', JSON.parse('{"username":"alice","password":"alice-password","__proto__":{"admin":true}}')],
      ['a username over 256 characters', { username: 'a'.repeat(257), password: 'x' }],
      ['a password over 1024 characters', { username: 'alice', password: 'p'.repeat(1025) }],
      ['an array body', [{ username: 'alice', password: 'alice-password' }]],
      ['null', null],
    ])('400 for %s', async (_label, body) => {
      const req = request(server).post('/auth/login');
      const res = body === undefined ? await req : await req.set('Content-Type', 'application/json').send(JSON.stringify(body));
      expect(res.status).toBe(400);
      expect(res.body.statusCode).toBe(400);
      expect(setCookies(res)).toEqual([]);
    });

    it('400 for malformed JSON', async () => {
      const malformed = await request(server)
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .send('{"username": "alice",');
      expect(malformed.status).toBe(400);
    });

    it('415 for a non-JSON body, even with good credentials: no login CSRF through an HTML form', async () => {
      const form = await request(server).post('/auth/login').type('form').send(alice);
      expect(form.status).toBe(415);
      expect(setCookies(form)).toEqual([]);
      const text = await request(server).post('/auth/login').set('Content-Type', 'text/plain').send(JSON.stringify(alice));
      expect(text.status).toBe(415);
      const multipart = await request(server).post('/auth/login').field('username', 'alice').field('password', 'alice-password');
      expect(multipart.status).toBe(415);
      // Neither platform parses +json types by default: a clear 415 rather than a confusing 400.
      const vendor = await request(server)
        .post('/auth/login')
        .set('Content-Type', 'application/vnd.api+json')
        .send(JSON.stringify(alice));
      expect(vendor.status).toBe(415);
      const charset = await request(server)
        .post('/auth/login')
        .set('Content-Type', 'application/json; charset=utf-8')
        .send(JSON.stringify(alice));
      expect(charset.status).toBe(200);
    });

    it('accepts the longest allowed username and password (only the credentials decide)', async () => {
      const res = await login({ username: 'a'.repeat(256), password: 'p'.repeat(1024) });
      expect(res.status).toBe(401);
    });

    it('session fixation: a fresh token on every login, and the presented session is destroyed', async () => {
      const first = await login();
      const firstCookie = sessionCookie(first);
      const second = await login().set('Cookie', firstCookie);
      const secondCookie = sessionCookie(second);
      expect(secondCookie).not.toBe(firstCookie);
      expect(second.body.session.id).not.toBe(first.body.session.id);
      expect((await request(server).get('/me').set('Cookie', firstCookie)).status).toBe(401);
      expect(await redis.exists(`${t.prefix}${first.body.session.id}`)).toBe(0);
      expect(await redis.zscore(`${t.prefix}user:1`, first.body.session.id)).toBeNull();
      expect((await request(server).get('/me').set('Cookie', secondCookie)).status).toBe(200);
    });

    it('a failed login leaves the current session alone', async () => {
      const cookie = sessionCookie(await login());
      const failed = await login({ username: 'alice', password: 'wrong' }).set('Cookie', cookie);
      expect(failed.status).toBe(401);
      expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(200);
    });
  });

  describe('GET /auth/session', () => {
    it('200 with the current session; 401 without one', async () => {
      const res = await login();
      const cookie = sessionCookie(res);
      const current = await request(server).get('/auth/session').set('Cookie', cookie);
      expect(current.status).toBe(200);
      expect(current.body).toMatchObject({ id: res.body.session.id, userId: 1, username: 'alice', role: 'admin' });
      expect(Object.keys(current.body).sort()).toEqual(
        [
          'absoluteExpiresAt',
          'createdAt',
          'data',
          'expiresAt',
          'id',
          'ip',
          'lastActivityAt',
          'role',
          'userAgent',
          'userId',
          'username',
        ].sort(),
      );
      const expires = Date.parse(current.body.expiresAt) - Date.parse(current.body.lastActivityAt);
      expect(expires).toBe(1800 * 1000);
      expect((await request(server).get('/auth/session')).status).toBe(401);
    });

    it('the public session id cannot be used as a token', async () => {
      const res = await login();
      const byId = await request(server).get('/auth/session').set('Cookie', `sid=${res.body.session.id}`);
      expect(byId.status).toBe(401);
    });
  });

  describe('POST /auth/logout', () => {
    it('204, deletes the session and its index entry, clears the cookie', async () => {
      const res = await login();
      const cookie = sessionCookie(res);
      const out = await request(server).post('/auth/logout').set('Cookie', cookie);
      expect(out.status).toBe(204);
      const [cleared] = setCookies(out);
      expect(cleared).toMatch(/^sid=;/);
      expect(cleared).toContain('Max-Age=0');
      expect(cleared).toContain('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
      expect(await redis.exists(`${t.prefix}${res.body.session.id}`)).toBe(0);
      expect(await keysMentioning(redis, t.prefix, [res.body.session.id])).toEqual([]);
      expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(401);
    });

    it('is idempotent: 204 and a cleared cookie without a session, or with a bad one', async () => {
      for (const cookie of [undefined, 'sid=garbage', 'sid=a; sid=b']) {
        const req = request(server).post('/auth/logout');
        const out = cookie ? await req.set('Cookie', cookie) : await req;
        expect(out.status).toBe(204);
        expect(setCookies(out)[0]).toContain('Max-Age=0');
      }
    });
  });

  describe('GET /auth/sessions, DELETE /auth/sessions/:id, POST /auth/logout-all', () => {
    it("lists the user's live sessions with `current`, and nobody else's", async () => {
      const bobLogin = await login(bob);
      const b1 = sessionCookie(bobLogin);
      const b2 = sessionCookie(await login(bob).set('User-Agent', 'phone'));
      await login(); // alice's sessions must not show up
      const list = await request(server).get('/auth/sessions').set('Cookie', b1);
      expect(list.status).toBe(200);
      expect(list.body.every((s: { userId: unknown }) => s.userId === 'u-bob')).toBe(true);
      const current = list.body.filter((s: { current: boolean }) => s.current);
      expect(current).toHaveLength(1);
      expect(current[0].id).toBe(bobLogin.body.session.id);
      expect(list.body.some((s: { userAgent: string }) => s.userAgent === 'phone')).toBe(true);
      expect((await request(server).get('/auth/sessions')).status).toBe(401);
      await request(server).post('/auth/logout-all').set('Cookie', b2);
    });

    it("DELETE revokes one of the user's own sessions (204) and 404s for any other id", async () => {
      const laptop = await login(bob);
      const phone = await login(bob);
      const intruder = await login();
      const laptopCookie = sessionCookie(laptop);
      const phoneCookie = sessionCookie(phone);
      const del = await request(server).delete(`/auth/sessions/${phone.body.session.id}`).set('Cookie', laptopCookie);
      expect(del.status).toBe(204);
      expect((await request(server).get('/me').set('Cookie', phoneCookie)).status).toBe(401);
      expect((await request(server).get('/me').set('Cookie', laptopCookie)).status).toBe(200);
      // Already revoked, someone else's, malformed, huge: all 404, never 5xx.
      for (const id of [phone.body.session.id, intruder.body.session.id, 'nope', 'x'.repeat(90), '%E2%9C%93']) {
        const res = await request(server).delete(`/auth/sessions/${id}`).set('Cookie', laptopCookie);
        expect(res.status).toBe(404);
      }
      expect((await request(server).get('/me').set('Cookie', sessionCookie(intruder))).status).toBe(200);
      expect((await request(server).delete(`/auth/sessions/${laptop.body.session.id}`)).status).toBe(401);
    });

    it('DELETE of the current session clears the cookie', async () => {
      const res = await login(bob);
      const cookie = sessionCookie(res);
      const del = await request(server).delete(`/auth/sessions/${res.body.session.id}`).set('Cookie', cookie);
      expect(del.status).toBe(204);
      expect(setCookies(del)[0]).toContain('Max-Age=0');
    });

    it('logout-all revokes every session of the user, the current one included', async () => {
      const cookies = [];
      for (let i = 0; i < 3; i++) cookies.push(sessionCookie(await login(bob)));
      const aliceCookie = sessionCookie(await login());
      const out = await request(server).post('/auth/logout-all').set('Cookie', cookies[0]);
      expect(out.status).toBe(204);
      expect(setCookies(out)[0]).toContain('Max-Age=0');
      for (const cookie of cookies) expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(401);
      expect(await redis.exists(`${t.prefix}user:u-bob`)).toBe(0);
      expect((await request(server).get('/me').set('Cookie', aliceCookie)).status).toBe(200);
      expect((await request(server).post('/auth/logout-all')).status).toBe(401);
    });

    it('after DELETE /auth/sessions/:id no key under the prefix mentions the revoked id; the other session stays', async () => {
      const laptop = await login(bob);
      const phone = await login(bob);
      const [laptopId, phoneId] = [laptop.body.session.id as string, phone.body.session.id as string];
      // Both are there before: the session key and the index member.
      expect((await keysMentioning(redis, t.prefix, [phoneId])).sort()).toEqual(
        [`${t.prefix}${phoneId}`, `${t.prefix}user:u-bob`].sort(),
      );
      const del = await request(server).delete(`/auth/sessions/${phoneId}`).set('Cookie', sessionCookie(laptop));
      expect(del.status).toBe(204);
      expect(await keysMentioning(redis, t.prefix, [phoneId])).toEqual([]);
      expect((await keysMentioning(redis, t.prefix, [laptopId])).sort()).toEqual(
        [`${t.prefix}${laptopId}`, `${t.prefix}user:u-bob`].sort(),
      );
      await request(server).post('/auth/logout-all').set('Cookie', sessionCookie(laptop));
    });

    it("after POST /auth/logout-all no key under the prefix mentions any of the user's sessions", async () => {
      const logins = [await login(bob), await login(bob), await login(bob)];
      const ids = logins.map((res) => res.body.session.id as string);
      const aliceLogin = await login();
      expect(await keysMentioning(redis, t.prefix, ids)).toHaveLength(ids.length + 1); // 3 sessions + bob's index
      expect((await request(server).post('/auth/logout-all').set('Cookie', sessionCookie(logins[1]))).status).toBe(204);
      expect(await keysMentioning(redis, t.prefix, ids)).toEqual([]);
      expect(await keysMentioning(redis, t.prefix, [aliceLogin.body.session.id])).toHaveLength(2); // alice's session and index untouched
    });
  });

  describe('maxSessionsPerUser: eviction', () => {
    let capped: TestApp;
    beforeAll(async () => {
      capped = await createTestApp({ maxSessionsPerUser: 2 }, [], { adapter });
    });
    afterAll(() => capped.close());

    it('a login past the cap evicts the oldest session, and no key under the prefix mentions it afterwards', async () => {
      const http = capped.app.getHttpServer();
      const logins = [];
      for (let i = 0; i < 3; i++) {
        logins.push(await request(http).post('/auth/login').send(bob));
        await sleep(3); // "oldest" is by login time in ms
      }
      const [oldest, ...kept] = logins;
      expect((await request(http).get('/me').set('Cookie', sessionCookie(oldest))).status).toBe(401);
      expect(await keysMentioning(capped.redis, capped.prefix, [oldest.body.session.id])).toEqual([]);
      for (const res of kept) {
        expect((await request(http).get('/me').set('Cookie', sessionCookie(res))).status).toBe(200);
        expect(await keysMentioning(capped.redis, capped.prefix, [res.body.session.id])).toHaveLength(2);
      }
    });
  });

  describe("validateCredentials receives the login request's context", () => {
    const calls: Array<{ credentials: SessionCredentials; context: SessionContext }> = [];
    let recording: TestApp;
    beforeAll(async () => {
      recording = await createTestApp(
        {
          validateCredentials: (credentials, context) => {
            calls.push({ credentials, context });
            return validateCredentials(credentials);
          },
        },
        [],
        { adapter },
      );
    });
    afterAll(() => recording.close());

    it('{ ip, userAgent } of the request, for a good login and a failed one', async () => {
      const http = recording.app.getHttpServer();
      const ok = await request(http).post('/auth/login').set('User-Agent', 'context-probe/1.0 (good)').send(alice);
      expect(ok.status).toBe(200);
      const failed = await request(http)
        .post('/auth/login')
        .set('User-Agent', 'context-probe/1.0 (bad)')
        .send({ ...alice, password: 'wrong' });
      expect(failed.status).toBe(401);
      expect(calls).toEqual([
        { credentials: alice, context: { ip: expect.any(String), userAgent: 'context-probe/1.0 (good)' } },
        {
          credentials: { ...alice, password: 'wrong' },
          context: { ip: expect.any(String), userAgent: 'context-probe/1.0 (bad)' },
        },
      ]);
      for (const { context } of calls) expect(context.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
      // The same address the session records.
      expect(calls[0].context.ip).toBe(ok.body.session.ip);
    });
  });

  describe('where Express and Fastify differ (the platform answers before the module)', () => {
    const post = (type: string, body: string) => request(server).post('/auth/login').set('Content-Type', type).send(body);
    const MODULE_415 = 'This route takes an application/json body';

    it("a __proto__ or constructor.prototype key: 400 on both, from the module on Express and from Fastify's JSON parser", async () => {
      const cases = [
        ['__proto__', '{"admin":true}', true],
        ['constructor', '{"prototype":{"admin":true}}', true],
        ['constructor', '{"admin":true}', false], // Fastify lets a constructor without prototype through
      ] as const;
      for (const [key, value, fastifyRefuses] of cases) {
        const res = await post('application/json', `{"username":"alice","password":"alice-password","${key}":${value}}`);
        expect(res.status).toBe(400);
        expect(setCookies(res)).toEqual([]);
        // Fastify's secure-json-parse refuses prototype poisoning itself (onProtoPoisoning and
        // onConstructorPoisoning: 'error'), with a message of its own.
        if (adapter === 'fastify' && fastifyRefuses) expect(res.body.message).toMatch(/not valid JSON/);
        else expect(res.body.message).toEqual([`property ${key} should not exist`]);
      }
    });

    it('multipart or XML: 415 from the module on both (on Fastify its middleware answers before the parser would)', async () => {
      const multipart = await request(server).post('/auth/login').field('username', 'alice').field('password', 'alice-password');
      const xml = await post('application/xml', '<login/>');
      for (const res of [multipart, xml]) {
        expect(res.status).toBe(415);
        expect(setCookies(res)).toEqual([]);
        expect(res.body.message).toBe(MODULE_415);
      }
    });

    it('urlencoded or text/plain: 415 from the module on both (both platforms parse these bodies)', async () => {
      const form = await request(server).post('/auth/login').type('form').send(alice);
      const text = await post('text/plain', JSON.stringify(alice));
      for (const res of [form, text]) {
        expect(res.status).toBe(415);
        expect(res.body.message).toBe(MODULE_415);
      }
    });

    it("a JSON content type with no body: 400 on both, from validation on Express and from Fastify's parser", async () => {
      const res = await request(server).post('/auth/login').set('Content-Type', 'application/json');
      expect(res.status).toBe(400);
      if (adapter === 'express') expect(res.body.message).toEqual(expect.arrayContaining(['username must be a string']));
      else expect(res.body.message).toMatch(/Body cannot be empty/);
    });

    it("DELETE /auth/sessions/:id with an id over 100 characters: 404 on Express, 414 from Fastify's router (maxParamLength)", async () => {
      const cookie = sessionCookie(await login(bob));
      // Up to 100 characters both reach the module: 404 for an id that is not the user's.
      expect(
        (
          await request(server)
            .delete(`/auth/sessions/${'x'.repeat(100)}`)
            .set('Cookie', cookie)
        ).status,
      ).toBe(404);
      // Past it, Fastify's router (find-my-way, maxParamLength 100) answers before the guard runs.
      // Public session ids are 22 characters, so no real id is affected.
      const long = await request(server)
        .delete(`/auth/sessions/${'x'.repeat(101)}`)
        .set('Cookie', cookie);
      expect(long.status).toBe(adapter === 'express' ? 404 : 414);
      const anonymous = await request(server).delete(`/auth/sessions/${'x'.repeat(101)}`);
      expect(anonymous.status).toBe(adapter === 'express' ? 401 : 414);
    });

    it('the same client address and user agent on both; X-Forwarded-For is ignored without trust proxy', async () => {
      const res = await login()
        .set('X-Forwarded-For', '203.0.113.9')
        .set('User-Agent', `ua-${'u'.repeat(600)}`);
      expect(res.status).toBe(200);
      expect(res.body.session.ip).toBe('127.0.0.1');
      expect(res.body.session.userAgent).toBe(`ua-${'u'.repeat(600)}`.slice(0, 512));
    });
  });

  describe("Set-Cookie next to the app's own cookies (@Res({ passthrough: true }))", () => {
    let other: TestApp;
    beforeAll(async () => {
      other = await createTestApp({}, [OtherCookiesModule], { adapter });
    });
    afterAll(() => other.close());

    const names = (res: request.Response) => setCookies(res).map((c) => c.slice(0, c.indexOf('=')));

    it('login and logout add their cookie to those set before and after the handler, replacing none', async () => {
      const http = other.app.getHttpServer();
      const res = await request(http).post('/auth/login').send(alice);
      expect(res.status).toBe(200);
      expect(res.body.user.username).toBe('alice'); // passthrough: the handler's return value is still the body
      expect(names(res).filter((n) => ['before', 'sid', 'after'].includes(n))).toEqual(['before', 'sid', 'after']);
      const out = await request(http).post('/auth/logout').set('Cookie', sessionCookie(res));
      expect(out.status).toBe(204);
      expect(names(out).filter((n) => ['before', 'sid', 'after'].includes(n))).toEqual(['before', 'sid', 'after']);
      expect(setCookies(out).find((c) => c.startsWith('sid='))).toContain('Max-Age=0');
      expect((await request(http).get('/me').set('Cookie', sessionCookie(res))).status).toBe(401);
    });
  });

  it('Redis invariants after all of the above: every key has a TTL, no raw token anywhere', async () => {
    const issued = [await login(), await login(bob)].map((r) => tokenOf(sessionCookie(r)));
    const dump = await dumpPrefix(redis, t.prefix);
    expect(dump.length).toBeGreaterThan(0);
    for (const entry of dump) {
      expect(entry.pttl).toBeGreaterThan(0);
      for (const token of issued) {
        expect(entry.key).not.toContain(token.split('.')[0]);
        expect(entry.content).not.toContain(token.split('.')[0]);
      }
    }
  });
});
