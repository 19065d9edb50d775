import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ADAPTERS, createTestApp, onEachAdapter, type TestApp } from './support/app.js';
import { dumpPrefix } from './support/redis.js';

type Http = ReturnType<TestApp['app']['getHttpServer']>;
const attempt = (http: Http, username: string, password: string) =>
  request(http).post('/auth/login').send({ username, password });

async function timedAttempt(http: Http, username: string, password: string) {
  const started = Date.now();
  const res = await attempt(http, username, password);
  return { status: res.status, ms: Date.now() - started, retryAfter: res.headers['retry-after'] as string | undefined };
}

describe.each(ADAPTERS)('login throttling (%s)', (adapter) => {
  it('slows, then refuses with 429 and Retry-After; even the right password waits out the window', async () => {
    const t = await createTestApp(
      { loginThrottle: { perUsername: { limit: 3, windowSeconds: 60 }, delayAfter: 1, maxDelayMs: 400 } },
      [],
      { adapter },
    );
    try {
      const http = t.app.getHttpServer();
      const first = await timedAttempt(http, 'alice', 'wrong');
      const second = await timedAttempt(http, 'alice', 'wrong');
      const third = await timedAttempt(http, 'alice', 'wrong');
      expect([first.status, second.status, third.status]).toEqual([401, 401, 401]);
      // No delay before the first failure (the delays below are lower bounds); a busy CI machine
      // once took 773 ms to answer it, so the bound is loose.
      expect(first.ms).toBeLessThan(1000);
      expect(second.ms).toBeGreaterThanOrEqual(245); // 250 ms after the first failure
      expect(third.ms).toBeGreaterThanOrEqual(395); // 500 ms, capped at 400
      const fourth = await timedAttempt(http, 'alice', 'wrong');
      expect(fourth.status).toBe(429);
      expect(Number(fourth.retryAfter)).toBeGreaterThan(55);
      expect(Number(fourth.retryAfter)).toBeLessThanOrEqual(60);
      expect((await attempt(http, 'alice', 'alice-password')).status).toBe(429);
      // Case does not dodge the count; another user is not affected.
      expect((await attempt(http, 'ALICE', 'alice-password')).status).toBe(429);
      expect((await attempt(http, 'bob', 'bob-password')).status).toBe(200);
      // Counters expire, and the username is not stored in clear.
      const dump = await dumpPrefix(t.redis, `${t.prefix}throttle:`);
      expect(dump.length).toBeGreaterThan(0);
      for (const entry of dump) {
        expect(entry.pttl).toBeGreaterThan(0);
        expect(entry.key.toLowerCase()).not.toContain('alice');
      }
    } finally {
      await t.close();
    }
  });

  it('a successful login resets the username count', async () => {
    const t = await createTestApp({ loginThrottle: { perUsername: { limit: 3, windowSeconds: 60 }, delayAfter: 10 } }, [], {
      adapter,
    });
    try {
      const http = t.app.getHttpServer();
      for (let i = 0; i < 2; i++) expect((await attempt(http, 'bob', 'nope')).status).toBe(401);
      expect((await attempt(http, 'bob', 'bob-password')).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await attempt(http, 'bob', 'nope')).status).toBe(401);
      expect((await attempt(http, 'bob', 'nope')).status).toBe(429);
    } finally {
      await t.close();
    }
  });

  it('counts failures per IP across usernames; successes do not count', async () => {
    const t = await createTestApp({ loginThrottle: { perIp: { limit: 4, windowSeconds: 60 }, delayAfter: 10 } }, [], { adapter });
    try {
      const http = t.app.getHttpServer();
      for (let i = 0; i < 10; i++) expect((await attempt(http, 'alice', 'alice-password')).status).toBe(200);
      for (let i = 0; i < 4; i++) expect((await attempt(http, `nobody-${i}`, 'x')).status).toBe(401);
      const refused = await attempt(http, 'nobody-else', 'x');
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBeDefined();
    } finally {
      await t.close();
    }
  });

  it('is atomic: of 20 parallel guesses, exactly the limit reach the password check', async () => {
    const t = await createTestApp({ loginThrottle: { perUsername: { limit: 3, windowSeconds: 60 }, delayAfter: 100 } }, [], {
      adapter,
    });
    try {
      const http = t.app.getHttpServer();
      const statuses = (await Promise.all(Array.from({ length: 20 }, () => attempt(http, 'carol', 'guess')))).map(
        (r) => r.status,
      );
      expect(statuses.filter((s) => s === 401)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(17);
    } finally {
      await t.close();
    }
  });

  it('works across two app instances on the same Redis', async () => {
    const throttle = { perUsername: { limit: 4, windowSeconds: 60 }, delayAfter: 100 };
    const a = await createTestApp({ loginThrottle: throttle }, [], { adapter });
    const b = await createTestApp({ loginThrottle: throttle, keyPrefix: a.prefix }, [], { adapter });
    try {
      for (let i = 0; i < 2; i++) expect((await attempt(a.app.getHttpServer(), 'alice', 'x')).status).toBe(401);
      for (let i = 0; i < 2; i++) expect((await attempt(b.app.getHttpServer(), 'alice', 'x')).status).toBe(401);
      expect((await attempt(a.app.getHttpServer(), 'alice', 'x')).status).toBe(429);
      expect((await attempt(b.app.getHttpServer(), 'alice', 'alice-password')).status).toBe(429);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

// The default delays make this one slow (~6 s of waiting): both platforms run side by side.
describe('login throttling defaults (Express and Fastify side by side)', () => {
  it(
    'is on by default (10 failures per username), and loginThrottle: false turns it off',
    () =>
      onEachAdapter(async (adapter) => {
        const on = await createTestApp({}, [], { adapter });
        const off = await createTestApp({ loginThrottle: false }, [], { adapter });
        try {
          const statuses = [];
          for (let i = 0; i < 11; i++) statuses.push((await attempt(on.app.getHttpServer(), 'mallory', 'x')).status);
          expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
          expect(statuses[10]).toBe(429);
          for (let i = 0; i < 12; i++) expect((await attempt(off.app.getHttpServer(), 'mallory', 'x')).status).toBe(401);
        } finally {
          await on.close();
          await off.close();
        }
      }),
    60_000,
  );
});

describe.each(ADAPTERS)('login throttling leaves no keys behind successful logins (%s)', (adapter) => {
  it('the IP counter a success refunds is deleted once it is back at zero', async () => {
    const t = await createTestApp({}, [], { adapter });
    try {
      const http = t.app.getHttpServer();
      for (let i = 0; i < 3; i++) expect((await attempt(http, 'alice', 'alice-password')).status).toBe(200);
      expect(await dumpPrefix(t.redis, `${t.prefix}throttle:`)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
