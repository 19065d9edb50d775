/**
 * Regressions of the holes found by attacking the demo (issue 9): each test failed on
 * the code before its fix. The pagination of GET /auth/sessions and the numeric/string
 * user ids have suites of their own (sessions-pagination, user-ids).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module, UnauthorizedException } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import request from 'supertest';
import { SessionEvent, SessionService, type SessionExpiredEvent } from '../src/index.js';
import { ADAPTERS, createTestApp, USERS, type AdapterName, type TestApp } from './support/app.js';
import { sessionCookie, setCookies } from './support/http.js';
import { keysWithPrefix, sleep, usePrivateRedis } from './support/redis.js';

type Http = ReturnType<TestApp['app']['getHttpServer']>;
const EVIL = 'https://evil.example';

async function withApp(
  adapter: AdapterName,
  options: Parameters<typeof createTestApp>[0],
  run: (t: TestApp, http: Http) => Promise<void>,
  setup: Parameters<typeof createTestApp>[2] = {},
): Promise<void> {
  const t = await createTestApp(options, [], { adapter, ...setup });
  try {
    await run(t, t.app.getHttpServer());
  } finally {
    await t.close();
  }
}

const login = (http: Http, username: string, password: string) => request(http).post('/auth/login').send({ username, password });

/** `{"username":[[[…"x"…]]],"password":"x"}`: `depth` arrays around the username. */
const nestedBody = (depth: number) => `{"username":${'['.repeat(depth)}"x"${']'.repeat(depth)},"password":"x"}`;

const metricValue = (text: string, line: string) => {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
};

describe.each(ADAPTERS)('attacks on the demo, closed (%s)', (adapter) => {
  describe('1. a deeply nested or oversized login body', () => {
    it('a username nested 49,000 arrays deep (98 KB) is a 400 at once, never a 500, and does not stall the app', async () => {
      await withApp(adapter, { loginThrottle: false }, async (_t, http) => {
        const body = nestedBody(49_000);
        expect(body.length).toBeGreaterThan(98_000);
        const cookie = sessionCookie(await login(http, 'alice', USERS.alice.password));
        const delay = monitorEventLoopDelay({ resolution: 10 });
        delay.enable();
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        const attacks = Array.from({ length: 10 }, () =>
          request(http).post('/auth/login').set('Content-Type', 'application/json').send(body),
        );
        // A logged-in user's request while the attack runs.
        await sleep(5);
        const me = request(http)
          .get('/me')
          .set('Cookie', cookie)
          .then((res) => ({ status: res.status, ms: performance.now() - started }));
        const [answers, mine] = await Promise.all([Promise.all(attacks), me]);
        const cpu = process.cpuUsage(cpuBefore);
        delay.disable();
        expect(answers.map((res) => res.status)).toEqual(Array(10).fill(400));
        expect(answers[0]!.body.message).toEqual(expect.stringMatching(/too large|must be a string/));
        expect(mine.status).toBe(200);
        expect(mine.ms).toBeLessThan(1500);
        // The attack costs next to no CPU (a stack overflow took 130–750 ms each, 1.3 s or more
        // for these ten): CPU time, not wall time, so a busy machine cannot make this fail.
        expect((cpu.user + cpu.system) / 1000).toBeLessThan(500);
        // And no single stall of the event loop as long as one overflow was.
        expect(delay.max / 1e6).toBeLessThan(1000);
      });
    });

    it('non-string usernames and passwords are refused before any recursive work, arrays and objects alike', async () => {
      await withApp(adapter, { loginThrottle: false }, async (_t, http) => {
        const bodies = [
          nestedBody(3000), // 6 KB: under the size cap, refused by type
          `{"username":"alice","password":${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}}`,
          '{"username":["alice"],"password":"alice-password"}',
          '{"username":{"toString":"alice"},"password":"alice-password"}',
          '{"username":"alice","password":12345678}',
          '{"username":null,"password":"x"}',
        ];
        for (const body of bodies) {
          const res = await request(http).post('/auth/login').set('Content-Type', 'application/json').send(body);
          expect({ body: body.slice(0, 40), status: res.status }).toEqual({ body: body.slice(0, 40), status: 400 });
          expect(JSON.stringify(res.body.message)).toMatch(/must be a string/);
        }
      });
    });

    it('a login body over 8 KB is a 400 (the module reads no more than that), even when it holds good credentials', async () => {
      await withApp(adapter, { loginThrottle: false }, async (_t, http) => {
        const padded = `{"username":"alice",${' '.repeat(9000)}"password":${JSON.stringify(USERS.alice.password)}}`;
        const res = await request(http).post('/auth/login').set('Content-Type', 'application/json').send(padded);
        expect(res.status).toBe(400);
        expect(res.body.message).toMatch(/too large/i);
        expect(setCookies(res)).toEqual([]);
        // Just under the cap is still a login.
        const fits = `{"username":"alice",${' '.repeat(8000)}"password":${JSON.stringify(USERS.alice.password)}}`;
        expect((await request(http).post('/auth/login').set('Content-Type', 'application/json').send(fits)).status).toBe(200);
      });
    });

    it('refused bodies are counted in the login metrics (result "invalid")', async () => {
      const registry = new Registry();
      await withApp(adapter, { loginThrottle: false, metrics: { registry, prefix: 'atk_' } }, async (_t, http) => {
        await request(http).post('/auth/login').set('Content-Type', 'application/json').send(nestedBody(49_000));
        await request(http).post('/auth/login').set('Content-Type', 'application/json').send('{"username":"a"}');
        await request(http).post('/auth/login').set('Content-Type', 'text/plain').send('username=a&password=b');
        await login(http, 'alice', 'wrong');
        const text = await registry.metrics();
        expect(metricValue(text, 'atk_logins_total{result="invalid"}')).toBe(3);
        expect(metricValue(text, 'atk_logins_total{result="failure"}')).toBe(1);
        expect(metricValue(text, 'atk_login_duration_seconds_count{result="invalid"}')).toBe(3);
      });
    });
  });

  describe('2. cross-site logout', () => {
    it('a cross-site POST /auth/logout without the cookie (SameSite=Lax) is refused: no clearing Set-Cookie, no Clear-Site-Data', async () => {
      await withApp(adapter, {}, async (_t, http) => {
        const cookie = sessionCookie(await login(http, 'alice', USERS.alice.password));
        const attempts = [
          { 'Sec-Fetch-Site': 'cross-site', Origin: EVIL },
          { 'Sec-Fetch-Site': 'same-site', Origin: 'https://other.example.test' },
          { Origin: EVIL }, // an older browser: Origin only
          { Origin: 'null' }, // a sandboxed frame
        ];
        for (const headers of attempts) {
          const res = await request(http).post('/auth/logout').set(headers);
          expect({ headers, status: res.status }).toEqual({ headers, status: 403 });
          expect(res.headers['clear-site-data']).toBeUndefined();
          expect(setCookies(res)).toEqual([]);
        }
        expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
      });
    });

    it('a same-origin or non-browser logout without a cookie is still 204 and clears the cookie; a bearer logout is never a CSRF', async () => {
      await withApp(adapter, { transport: 'both' }, async (_t, http) => {
        for (const headers of [{ 'Sec-Fetch-Site': 'same-origin' }, {}]) {
          const res = await request(http).post('/auth/logout').set(headers);
          expect(res.status).toBe(204);
          expect(setCookies(res).some((c) => c.startsWith('sid=;'))).toBe(true);
        }
        // A cross-site page cannot set Authorization (that takes a CORS preflight the app allowed).
        const { token } = (await login(http, 'bob', USERS.bob.password)).body as { token: string };
        const res = await request(http)
          .post('/auth/logout')
          .set('Authorization', `Bearer ${token}`)
          .set('Sec-Fetch-Site', 'cross-site')
          .set('Origin', EVIL);
        expect(res.status).toBe(204);
        expect((await request(http).get('/me').set('Authorization', `Bearer ${token}`)).status).toBe(401);
      });
    });
  });

  describe('3. a validateCredentials that throws for a wrong password', () => {
    it('a thrown 4xx HttpException counts as a failed attempt: delayed, then 429', async () => {
      const throwing = async ({ username, password }: { username: string; password: string }) => {
        if (USERS[username]?.password !== password) throw new UnauthorizedException('Wrong password');
        return USERS[username]!.user;
      };
      const registry = new Registry();
      await withApp(
        adapter,
        {
          validateCredentials: throwing,
          loginThrottle: { perUsername: { limit: 3, windowSeconds: 60 }, delayAfter: 100 },
          metrics: { registry, prefix: 'thr_' },
        },
        async (_t, http) => {
          const statuses: number[] = [];
          for (let i = 0; i < 5; i++) statuses.push((await login(http, 'alice', `guess-${i}`)).status);
          expect(statuses).toEqual([401, 401, 401, 429, 429]);
          expect((await login(http, 'alice', USERS.alice.password)).status).toBe(429);
          expect(metricValue(await registry.metrics(), 'thr_logins_total{result="failure"}')).toBe(3);
        },
      );
    });

    it('an unexpected error (a 500 of the app, not a wrong password) is not counted', async () => {
      const broken = async () => {
        throw new Error('user database down');
      };
      await withApp(
        adapter,
        { validateCredentials: broken, loginThrottle: { perUsername: { limit: 2, windowSeconds: 60 }, delayAfter: 100 } },
        async (t, http) => {
          for (let i = 0; i < 4; i++) expect((await login(http, 'alice', 'x')).status).toBe(500);
          await sleep(50); // refunds are not awaited by the request
          expect(await keysWithPrefix(t.redis, `${t.prefix}throttle:`)).toEqual([]);
        },
      );
    });
  });

  describe('4. throttle counters', () => {
    it('an IP over its limit writes no new counter, whatever username it tries', async () => {
      await withApp(adapter, { loginThrottle: { perIp: { limit: 3, windowSeconds: 60 }, delayAfter: 100 } }, async (t, http) => {
        for (let i = 0; i < 3; i++) expect((await login(http, `user-${i}`, 'x')).status).toBe(401);
        const before = (await keysWithPrefix(t.redis, `${t.prefix}throttle:`)).sort();
        expect(before).toHaveLength(4); // three usernames and the IP
        for (let i = 3; i < 60; i++) expect((await login(http, `user-${i}`, 'x')).status).toBe(429);
        expect((await keysWithPrefix(t.redis, `${t.prefix}throttle:`)).sort()).toEqual(before);
      });
    });

    it('IPv6 addresses are counted per /64, IPv4-mapped IPv6 as IPv4', async () => {
      await withApp(
        adapter,
        { loginThrottle: { perIp: { limit: 2, windowSeconds: 60 }, delayAfter: 100 } },
        async (_t, http) => {
          const from = (ip: string, username: string) =>
            request(http).post('/auth/login').set('X-Forwarded-For', ip).send({ username, password: 'x' });
          expect((await from('2001:db8:1:2::a', 'a')).status).toBe(401);
          expect((await from('2001:db8:1:2:ffff:ffff:ffff:ffff', 'b')).status).toBe(401);
          expect((await from('2001:0db8:0001:0002:0:0:0:c', 'c')).status).toBe(429); // same /64
          expect((await from('2001:db8:1:3::a', 'd')).status).toBe(401); // the next /64
          expect((await from('203.0.113.7', 'e')).status).toBe(401);
          expect((await from('::ffff:203.0.113.7', 'f')).status).toBe(401);
          expect((await from('203.0.113.7', 'g')).status).toBe(429);
          expect((await from('::ffff:cb00:7107', 'h')).status).toBe(429); // 203.0.113.7 in hex
        },
        { trustProxy: true },
      );
    });

    it('usernames are counted after trimming, Unicode NFKC and case folding', async () => {
      await withApp(
        adapter,
        { loginThrottle: { perUsername: { limit: 4, windowSeconds: 60 }, delayAfter: 100 } },
        async (_t, http) => {
          const variants = ['alice', ' ALICE ', 'ａｌｉｃｅ', 'Alice\t'];
          for (const name of variants) expect((await login(http, name, 'wrong')).status).toBe(401);
          expect((await login(http, 'alice', USERS.alice.password)).status).toBe(429);
          // Full case folding: ß and SS are one name.
          for (const name of ['straße', 'STRASSE', 'Strasse', 'STRAẞE']) expect((await login(http, name, 'x')).status).toBe(401);
          expect((await login(http, 'strasse', 'x')).status).toBe(429);
        },
      );
    });
  });

  describe('8. small ones', () => {
    it("the guard's 401 and 403 answers carry Cache-Control: no-store", async () => {
      await withApp(adapter, {}, async (_t, http) => {
        const anonymous = await request(http).get('/me');
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers['cache-control']).toBe('no-store');
        const bob = sessionCookie(await login(http, 'bob', USERS.bob.password));
        const forbidden = await request(http).get('/admin').set('Cookie', bob);
        expect(forbidden.status).toBe(403);
        expect(forbidden.headers['cache-control']).toBe('no-store');
        const crossSite = await request(http).post('/auth/logout-all').set('Cookie', bob).set('Origin', EVIL);
        expect(crossSite.status).toBe(403);
        expect(crossSite.headers['cache-control']).toBe('no-store');
      });
    });

    it('session data over maxDataBytes fails the login with a clear error and writes nothing; nesting in arrays is capped too', async () => {
      const big = { id: 'big', username: 'big', notes: 'x'.repeat(5000) };
      let deep: unknown = 'leaf';
      for (let i = 0; i < 50_000; i++) deep = [deep];
      const users: Record<string, unknown> = {
        big,
        deep: { id: 'deep', nested: deep },
        small: { id: 'small', notes: 'x'.repeat(3000) },
      };
      await withApp(
        adapter,
        { validateCredentials: async ({ username }) => (users[username] as never) ?? null, loginThrottle: false },
        async (t, http) => {
          expect((await login(http, 'big', 'x')).status).toBe(500);
          expect((await login(http, 'deep', 'x')).status).toBe(500);
          expect(await keysWithPrefix(t.redis, t.prefix)).toEqual([]);
          expect((await login(http, 'small', 'x')).status).toBe(200);
          const service = t.app.get(SessionService);
          await expect(service.create(big)).rejects.toThrow(/session data is \d+ bytes .*over maxDataBytes \(4096\)/);
          await expect(service.create({ id: 'deep', nested: deep })).rejects.toThrow(/more than 16 levels/);
        },
      );
      await withApp(adapter, { maxDataBytes: 8192 }, async (t) => {
        expect((await t.app.get(SessionService).create(big)).session.data).toEqual({ notes: big.notes });
      });
    });
  });
});

describe('8. /health does not leak Redis error text', () => {
  it('a refused connection or an ACL refusal reports down with a generic message', async () => {
    const { SessionHealthIndicator } = await import('../src/health/index.js');
    const { HealthIndicatorService } = await import('@nestjs/terminus');
    const { SessionStoreUnavailableException } = await import('../src/index.js');
    const store = {
      ping: async () => {
        throw new SessionStoreUnavailableException(
          new Error('NOPERM User health-user has no permissions to run the ping command on 10.0.0.5:6380'),
        );
      },
    };
    const indicator = new SessionHealthIndicator(new HealthIndicatorService(), store as never);
    const result = await indicator.isHealthy('redis');
    expect(result.redis.status).toBe('down');
    expect(JSON.stringify(result)).not.toMatch(/NOPERM|health-user|10\.0\.0\.5|6380/);
  });
});

describe('6. expiredEvents reports only session keys of its own database', () => {
  const own = usePrivateRedis({ args: ['--notify-keyspace-events', 'Ex'] });
  const expired: SessionExpiredEvent[] = [];

  @Injectable()
  class ExpiryRecorder {
    @OnEvent(SessionEvent.Expired) expired(event: SessionExpiredEvent) {
      expired.push(event);
    }
  }
  @Module({ imports: [EventEmitterModule.forRoot()], providers: [ExpiryRecorder] })
  class RecorderModule {}

  let t: TestApp;
  let otherDb: Redis;
  beforeAll(async () => {
    t = await createTestApp(
      {
        redis: { url: `${own.server.url}/2` },
        ttl: 1,
        absoluteTtl: 60,
        expiredEvents: true,
        loginThrottle: { perIp: { limit: 100, windowSeconds: 1 }, perUsername: { limit: 10, windowSeconds: 1 } },
      },
      [RecorderModule],
    );
    otherDb = new Redis(`${own.server.url}/5`);
  });
  afterAll(async () => {
    otherDb?.disconnect();
    await t?.close();
  });

  it('throttle counters, user indexes and keys of another database never come out as session.expired', async () => {
    const http = t.app.getHttpServer();
    expect((await login(http, 'alice', 'wrong')).status).toBe(401); // two counters living 1 s
    const { session } = await t.app.get(SessionService).create({ id: 'exp' }); // idle TTL 1 s
    // The same key name in another database, and odd keys under the prefix here.
    await otherDb.set(`${t.prefix}${'A'.repeat(22)}`, '1', 'PX', 200);
    await t.redis.set(`${t.prefix}not-a-session-id`, '1', 'PX', 200); // t.redis is on db 2, as the module
    const deadline = Date.now() + 6000;
    while (Date.now() < deadline && expired.length === 0) await sleep(50);
    await sleep(2500); // the counters (1 s) and the stray keys have expired too by now
    expect(expired).toEqual([{ sessionId: session.id }]);
  });
});
