import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { ADAPTERS, createTestApp, onEachAdapter, type AdapterName, type TestApp } from './support/app.js';
import { sessionCookie } from './support/http.js';
import { sleep, spawnRedisServer, usePrivateRedis, type SpawnedRedis } from './support/redis.js';

const alice = { username: 'alice', password: 'alice-password' };

/** Calls per command since the last CONFIG RESETSTAT, leaving out our own INFO/CONFIG. */
async function commandCounts(admin: Redis): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const counts: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!/^(info|config)\b/.test(match[1])) counts[match[1]] = Number(match[2]);
  }
  return counts;
}

describe.each(ADAPTERS)('Redis commands per request (%s)', (adapter) => {
  const own = usePrivateRedis();

  it.each([
    ['@UseGuards(SessionGuard)', false],
    ['a global guard plus @UseGuards (the guard runs twice)', true],
  ])('a guarded request sends exactly one command, GETEX, with %s', async (_label, globalGuard) => {
    const t = await createTestApp({ redis: { url: own.server.url }, globalGuard }, [], { adapter });
    try {
      const http = t.app.getHttpServer();
      const cookie = sessionCookie(await request(http).post('/auth/login').send(alice));
      await own.admin.config('RESETSTAT');
      for (let i = 0; i < 50; i++) expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
      expect(await commandCounts(own.admin)).toEqual({ getex: 50 });
    } finally {
      await t.close();
    }
  });

  it('a remember-me session: still exactly one command, GETEX, with its own idle timeout', async () => {
    const t = await createTestApp({ redis: { url: own.server.url }, ttl: 60, rememberMe: { ttl: 3600, absoluteTtl: 7200 } }, [], {
      adapter,
    });
    try {
      const http = t.app.getHttpServer();
      const res = await request(http)
        .post('/auth/login')
        .send({ ...alice, rememberMe: true });
      const cookie = sessionCookie(res);
      await own.admin.config('RESETSTAT');
      for (let i = 0; i < 20; i++) expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
      expect(await commandCounts(own.admin)).toEqual({ getex: 20 });
      expect(await own.admin.pttl(`${t.prefix}${(res.body as { session: { id: string } }).session.id}`)).toBeGreaterThan(
        3_590_000,
      );
    } finally {
      await t.close();
    }
  });

  it('@NoSlide(): still one command (a script: GET and PTTL), and the idle timeout is not extended', async () => {
    const t = await createTestApp({ redis: { url: own.server.url }, ttl: 60 }, [], { adapter });
    try {
      const http = t.app.getHttpServer();
      const res = await request(http).post('/auth/login').send(alice);
      const cookie = sessionCookie(res);
      const key = `${t.prefix}${(res.body as { session: { id: string } }).session.id}`;
      await request(http).get('/poll').set('Cookie', cookie); // the script's first use loads it (EVAL after NOSCRIPT)
      await own.admin.pexpire(key, 20_000); // as if it had idled 40 s
      await own.admin.config('RESETSTAT');
      for (let i = 0; i < 20; i++) expect((await request(http).get('/poll').set('Cookie', cookie)).status).toBe(200);
      // One EVALSHA sent per request; Redis counts the GET and PTTL it runs inside too.
      expect(await commandCounts(own.admin)).toEqual({ evalsha: 20, get: 20, pttl: 20 });
      expect(await own.admin.pttl(key)).toBeLessThanOrEqual(20_000);
      const polled = await request(http).get('/poll').set('Cookie', cookie);
      expect(Date.parse(polled.body.expiresAt) - Date.now()).toBeLessThanOrEqual(20_000);
      // A normal guarded route slides it again.
      expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
      expect(await own.admin.pttl(key)).toBeGreaterThan(59_000);
      await request(http).post('/auth/logout').set('Cookie', cookie);
      expect((await request(http).get('/poll').set('Cookie', cookie)).status).toBe(401);
    } finally {
      await t.close();
    }
  });

  it('a bad or expired token costs no command at all', async () => {
    const t = await createTestApp({ redis: { url: own.server.url } }, [], { adapter });
    try {
      const http = t.app.getHttpServer();
      await request(http).get('/me'); // connect
      await own.admin.config('RESETSTAT');
      const expired = `${'a'.repeat(43)}.${(Date.now() - 1000).toString(36)}`;
      for (const cookie of ['sid=garbage', `sid=${expired}`, 'sid=a; sid=b']) {
        expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(401);
      }
      expect(await commandCounts(own.admin)).toEqual({});
    } finally {
      await t.close();
    }
  });

  it('no KEYS or SCAN, whatever the routes do', async () => {
    const t = await createTestApp({ redis: { url: own.server.url }, maxSessionsPerUser: 2 }, [], { adapter });
    try {
      const http = t.app.getHttpServer();
      await own.admin.config('RESETSTAT');
      const cookies = [];
      for (let i = 0; i < 4; i++) cookies.push(sessionCookie(await request(http).post('/auth/login').send(alice)));
      const current = cookies[3];
      const list = await request(http).get('/auth/sessions').set('Cookie', current);
      expect(list.body).toHaveLength(2);
      await request(http).delete(`/auth/sessions/${list.body[1].id}`).set('Cookie', current);
      await request(http).get('/auth/session').set('Cookie', current);
      await request(http).post('/auth/logout-all').set('Cookie', current);
      await request(http).post('/auth/logout').set('Cookie', current);
      const counts = await commandCounts(own.admin);
      expect(Object.keys(counts).length).toBeGreaterThan(3);
      expect(counts.keys).toBeUndefined();
      expect(counts.scan).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});

// Both platforms at once, on one server: these tests mostly wait (a 3 s stall, a restart),
// so the Express and the Fastify app go through the same outage side by side.
describe('Redis outages (express and fastify side by side)', () => {
  let server: SpawnedRedis;
  const apps = {} as Record<AdapterName, { t: TestApp; http: ReturnType<TestApp['app']['getHttpServer']>; cookie: string }>;
  beforeAll(async () => {
    // AOF with fsync on every write, so a killed and restarted server keeps its sessions.
    server = await spawnRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    for (const adapter of ADAPTERS) {
      const t = await createTestApp({ redis: { url: server.url } }, [], { adapter });
      const http = t.app.getHttpServer();
      apps[adapter] = { t, http, cookie: sessionCookie(await request(http).post('/auth/login').send(alice)) };
    }
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app.t.close();
    await server.stop();
  });

  const timed = async (req: request.Test) => {
    const started = Date.now();
    const res = await req;
    return { status: res.status, ms: Date.now() - started, body: res.body };
  };
  const onEach = (
    check: (adapter: AdapterName, http: ReturnType<TestApp['app']['getHttpServer']>, cookie: string) => Promise<void>,
  ) => onEachAdapter((adapter) => check(adapter, apps[adapter].http, apps[adapter].cookie));

  it('a stalled Redis (SIGSTOP) gives 503 within about a second on every route, then recovers', async () => {
    await onEach(async (_adapter, http, cookie) => {
      expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
    });
    server.signal('SIGSTOP');
    try {
      await onEach(async (adapter, http, cookie) => {
        const results = await Promise.all([
          timed(request(http).get('/me').set('Cookie', cookie)),
          timed(request(http).get('/auth/session').set('Cookie', cookie)),
          timed(request(http).get('/auth/sessions').set('Cookie', cookie)),
          timed(request(http).post('/auth/login').send(alice)),
          timed(
            request(http)
              .post('/auth/logout')
              .set('Cookie', 'sid=' + 'b'.repeat(43) + '.zzzzzzzz'),
          ),
        ]);
        process.stdout.write(`stalled Redis (${adapter}): ${JSON.stringify(results.map((r) => [r.status, r.ms]))}\n`);
        for (const result of results) {
          expect(result.status).toBe(503);
          expect(result.ms).toBeLessThan(1600);
          expect(result.body.message).toMatch(/unavailable/i);
        }
        // Sustained traffic through a 3 s stall: latency must not pile up batch after batch.
        const sustained = await Promise.all(
          Array.from({ length: 60 }, (_, i) => sleep(i * 50).then(() => timed(request(http).get('/me').set('Cookie', cookie)))),
        );
        expect(sustained.map((r) => r.status).filter((s) => s !== 503)).toEqual([]);
        expect(Math.max(...sustained.map((r) => r.ms))).toBeLessThan(1600);
      });
    } finally {
      server.signal('SIGCONT');
    }
    await onEach(async (_adapter, http, cookie) => {
      expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
    });
  });

  it('a dead Redis gives 503s (never 401, never a hang); after a restart the same session works', async () => {
    server.signal('SIGKILL');
    await sleep(50);
    await onEach(async (_adapter, http, cookie) => {
      const during = [];
      for (let i = 0; i < 4; i++) during.push(await timed(request(http).get('/me').set('Cookie', cookie)));
      for (const result of during) {
        expect(result.status).toBe(503);
        expect(result.ms).toBeLessThan(1600);
      }
    });
    await server.restart();
    await onEach(async (_adapter, http, cookie) => {
      const statuses: number[] = [];
      const deadline = Date.now() + 5000;
      let status = 0;
      while (Date.now() < deadline) {
        status = (await request(http).get('/me').set('Cookie', cookie)).status;
        statuses.push(status);
        if (status === 200) break;
        await sleep(100);
      }
      expect(status).toBe(200); // reconnected by itself, session intact (AOF)
      expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    });
  });
});

describe('a client the app owns, without commandTimeout (express and fastify side by side)', () => {
  let server: SpawnedRedis;
  let client: Redis;
  const apps = {} as Record<AdapterName, { t: TestApp; http: ReturnType<TestApp['app']['getHttpServer']>; cookie: string }>;
  beforeAll(async () => {
    server = await spawnRedisServer();
    // ioredis's defaults: no commandTimeout, so a paused Redis would hold every command.
    client = new Redis(server.url);
    for (const adapter of ADAPTERS) {
      const t = await createTestApp({ redis: { client } }, [], { adapter, assertionClient: false });
      const http = t.app.getHttpServer();
      apps[adapter] = { t, http, cookie: sessionCookie(await request(http).post('/auth/login').send(alice)) };
    }
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app.t.close();
    client.disconnect();
    await server.stop();
  });

  it('Redis paused for 4 s: every route answers 503 within about a second (redisTimeoutMs), then 200 again', async () => {
    server.signal('SIGSTOP');
    const pausedAt = Date.now();
    try {
      await onEachAdapter(async (adapter) => {
        const { http, cookie } = apps[adapter];
        const timed = async (req: request.Test) => {
          const started = Date.now();
          const res = await req;
          return { status: res.status, ms: Date.now() - started };
        };
        const results = await Promise.all([
          timed(request(http).get('/me').set('Cookie', cookie)),
          timed(request(http).get('/poll').set('Cookie', cookie)),
          timed(request(http).get('/auth/sessions').set('Cookie', cookie)),
          timed(request(http).post('/auth/login').send(alice)),
          timed(
            request(http)
              .post('/auth/logout')
              .set('Cookie', 'sid=' + 'b'.repeat(43) + '.zzzzzzzz'),
          ),
          ...Array.from({ length: 20 }, (_, i) =>
            sleep(i * 100).then(() => timed(request(http).get('/me').set('Cookie', cookie))),
          ),
        ]);
        process.stdout.write(
          `app-owned client, no commandTimeout, Redis paused (${adapter}): statuses ${[...new Set(results.map((r) => r.status))].join(',')}, slowest ${Math.max(...results.map((r) => r.ms))} ms\n`,
        );
        expect(results.map((r) => r.status).filter((s) => s !== 503)).toEqual([]);
        expect(Math.max(...results.map((r) => r.ms))).toBeLessThan(1300);
      });
      await sleep(Math.max(0, 4000 - (Date.now() - pausedAt)));
    } finally {
      server.signal('SIGCONT');
    }
    await onEachAdapter(async (adapter) => {
      const { http, cookie } = apps[adapter];
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = (await request(http).get('/me').set('Cookie', cookie)).status;
        if (status !== 200) await sleep(100);
      }
      expect(status).toBe(200);
    });
  });
});

describe("a client with its own keyPrefix (as the README's key layout says)", () => {
  const own = usePrivateRedis();

  it('every key lands under <client keyPrefix><keyPrefix>, liveRevocation publishes on the unprefixed channel', async () => {
    const client = new Redis(own.server.url, { keyPrefix: 'app1:' });
    const t = await createTestApp({ redis: { client }, keyPrefix: 'sess:' }, [], { assertionClient: false });
    const subscriber = new Redis(own.server.url);
    try {
      const messages: string[] = [];
      await subscriber.subscribe('sess:ended');
      subscriber.on('message', (_channel: string, message: string) => messages.push(message));
      const http = t.app.getHttpServer();
      const res = await request(http).post('/auth/login').send(alice);
      const id = (res.body as { session: { id: string } }).session.id;
      expect(await own.admin.exists(`app1:sess:${id}`, 'app1:sess:user:1')).toBe(2);
      expect((await request(http).get('/me').set('Cookie', sessionCookie(res))).status).toBe(200);
      expect((await request(http).get('/poll').set('Cookie', sessionCookie(res))).status).toBe(200);
      expect((await request(http).get('/auth/sessions').set('Cookie', sessionCookie(res))).body).toHaveLength(1);
      expect((await request(http).post('/auth/logout-all').set('Cookie', sessionCookie(res))).status).toBe(204);
      expect(await own.admin.keys('*')).toEqual([]);
      for (let i = 0; i < 20 && messages.length === 0; i++) await sleep(50);
      expect(messages).toEqual([id]);
    } finally {
      subscriber.disconnect();
      await t.close();
      client.disconnect();
    }
  });
});
