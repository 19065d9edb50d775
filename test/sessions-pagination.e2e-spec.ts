import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { performance } from 'node:perf_hooks';
import { SessionModule, SessionService, type Session } from '../src/index.js';
import { SessionStore } from '../src/core/store.js';
import { ADAPTERS, createTestApp, validateCredentials, type AdapterName, type TestApp } from './support/app.js';
import { listeningPort, sessionCookie } from './support/http.js';
import { testRedisUrl, uniquePrefix } from './support/redis.js';

/*
 * Issue 9, item 5: `GET /auth/sessions` of a user with 50,000 sessions answered 503 after
 * 4.8 s, and other users' requests queued behind it 503'd too. Now the list is paginated
 * (`?limit=`, default 100, newest first, `?cursor=`; `Link: <...>; rel="next"` and
 * `X-Next-Cursor` while more remain), `revokeAll` works through the index in bounded chunks,
 * and `maxSessionsPerUser` defaults to 100 (`null`/`Infinity` opt out).
 */

const BOB = { id: 'u-bob', username: 'bob', role: 'user' };
const bobLogin = { username: 'bob', password: 'bob-password' };
const aliceLogin = { username: 'alice', password: 'alice-password' };

interface Listed {
  id: string;
  current: boolean;
  createdAt: string;
  absoluteExpiresAt: string;
}
interface Entry {
  id: string;
  deadline: number;
}

/** The index order: absolute deadline descending, then id descending (byte order; ids are ASCII). */
const newestFirst = (a: Entry, b: Entry) => b.deadline - a.deadline || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
const entryOf = (session: Pick<Session, 'id'> & { absoluteExpiresAt: Date | string }): Entry => ({
  id: session.id,
  deadline: new Date(session.absoluteExpiresAt).getTime(),
});
const cursorOf = (deadline: number, id: string) => Buffer.from(`${deadline}:${id}`).toString('base64url');

const NEXT_LINK = /^<([^>]+)>; rel="next"$/;

/** The next page's path from the Link header (and the cursor it carries), or null on the last page. */
function nextOf(res: request.Response): { path: string; cursor: string } | null {
  const link = res.headers.link as string | undefined;
  const header = res.headers['x-next-cursor'] as string | undefined;
  if (link === undefined) {
    expect(header).toBeUndefined();
    return null;
  }
  const match = NEXT_LINK.exec(link);
  expect(match).not.toBeNull();
  const path = match![1];
  const cursor = new URL(path, 'http://x').searchParams.get('cursor');
  expect(cursor).toBe(header);
  return { path, cursor: cursor! };
}

/** Follows the Link headers from `first` to the last page; returns every page's ids. */
async function walk(
  http: Parameters<typeof request>[0],
  first: string,
  cookie: string,
): Promise<{ pages: Listed[][]; links: string[] }> {
  const pages: Listed[][] = [];
  const links: string[] = [];
  let path: string | null = first;
  while (path !== null) {
    const res: request.Response = await request(http).get(path).set('Cookie', cookie);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(Array.isArray(res.body)).toBe(true);
    pages.push(res.body as Listed[]);
    const next = nextOf(res);
    path = next?.path ?? null;
    if (path !== null) links.push(path);
    expect(pages.length).toBeLessThan(1000); // a cursor that does not move would loop for ever
  }
  return { pages, links };
}

/** `count` sessions of bob created through SessionService, `batch` at a time. */
async function createMany(service: SessionService, count: number, batch = 500): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (let done = 0; done < count; done += batch) {
    const issued = await Promise.all(
      Array.from({ length: Math.min(batch, count - done) }, () => service.create(BOB, { ip: '203.0.113.5', userAgent: 'bulk' })),
    );
    for (const { session } of issued) entries.push(entryOf(session));
  }
  return entries;
}

/** An app with a global prefix (`app.setGlobalPrefix('api/v1')`) on either platform. */
async function prefixedApp(adapter: AdapterName): Promise<INestApplication> {
  const keyPrefix = uniquePrefix('pages-prefixed');
  @Module({
    imports: [
      SessionModule.forRoot({
        redis: { url: testRedisUrl() },
        keyPrefix,
        validateCredentials,
        maxSessionsPerUser: null,
        loginThrottle: false,
      }),
    ],
  })
  class PrefixedModule {}
  const moduleRef = await Test.createTestingModule({ imports: [PrefixedModule] }).compile();
  let app: INestApplication;
  if (adapter === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
  } else {
    app = moduleRef.createNestApplication({ logger: false });
  }
  app.setGlobalPrefix('api/v1');
  await app.listen(0, '127.0.0.1');
  if (adapter === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  return app;
}

describe.each(ADAPTERS)('GET /auth/sessions pagination (%s)', (adapter: AdapterName) => {
  let t: TestApp;
  let http: ReturnType<INestApplication['getHttpServer']>;
  let viewer: { cookie: string; id: string };
  /** Every session of bob, newest first, the viewer's included. */
  let expected: Entry[];

  beforeAll(async () => {
    t = await createTestApp({ maxSessionsPerUser: null, loginThrottle: false }, [], { adapter });
    http = t.app.getHttpServer();
    const service = t.app.get(SessionService);
    const created = await createMany(service, 250, 50);
    const res = await request(http).post('/auth/login').send(bobLogin);
    expect(res.status).toBe(200);
    viewer = { cookie: sessionCookie(res), id: res.body.session.id };
    expected = [...created, entryOf(res.body.session)].sort(newestFirst);
  }, 60_000);
  afterAll(() => t?.close());

  it('answers the 100 newest first with `current` flags and a next link; following it lists every session once, in order, and the last page has no link', async () => {
    const first = await request(http).get('/auth/sessions').set('Cookie', viewer.cookie);
    expect(first.status).toBe(200);
    const body = first.body as Listed[];
    expect(body).toHaveLength(100);
    expect(body.map((s) => s.id)).toEqual(expected.slice(0, 100).map((e) => e.id));
    for (const s of body) {
      expect(s.current).toBe(s.id === viewer.id);
      expect(s.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    expect(body.filter((s) => s.current)).toHaveLength(1); // the viewer logged in last: it is on the first page
    const next = nextOf(first);
    expect(next?.path).toMatch(/^\/auth\/sessions\?limit=100&cursor=[A-Za-z0-9_-]+$/);

    const { pages, links } = await walk(http, '/auth/sessions', viewer.cookie);
    expect(pages.map((p) => p.length)).toEqual([100, 100, 51]);
    const ids = pages.flat().map((s) => s.id);
    expect(ids).toEqual(expected.map((e) => e.id));
    expect(new Set(ids).size).toBe(251);
    expect(links).toHaveLength(2);
    expect(
      pages
        .flat()
        .filter((s) => s.current)
        .map((s) => s.id),
    ).toEqual([viewer.id]);
  });

  it('?limit=7 pages seven at a time and the link keeps the limit; ?limit=1000 gets all 251 in one page without a link', async () => {
    const { pages, links } = await walk(http, '/auth/sessions?limit=7', viewer.cookie);
    expect(pages).toHaveLength(Math.ceil(251 / 7));
    expect(pages.slice(0, -1).every((p) => p.length === 7)).toBe(true);
    expect(pages.at(-1)).toHaveLength(251 % 7);
    expect(pages.flat().map((s) => s.id)).toEqual(expected.map((e) => e.id));
    for (const link of links) expect(link).toMatch(/^\/auth\/sessions\?limit=7&cursor=/);

    const all = await request(http).get('/auth/sessions?limit=1000').set('Cookie', viewer.cookie);
    expect(all.status).toBe(200);
    expect((all.body as Listed[]).map((s) => s.id)).toEqual(expected.map((e) => e.id));
    expect(nextOf(all)).toBeNull();
  });

  it("a cursor continues strictly after its position, even when that session was revoked in between, and a well-formed cursor never reaches past the user's own index", async () => {
    const first = await request(http).get('/auth/sessions?limit=5').set('Cookie', viewer.cookie);
    const last = (first.body as Listed[]).at(-1)!;
    const next = nextOf(first)!;
    // The page's last session ends before the next page is asked for.
    expect(last.id).not.toBe(viewer.id);
    expect((await request(http).delete(`/auth/sessions/${last.id}`).set('Cookie', viewer.cookie)).status).toBe(204);
    const remaining = expected.filter((e) => e.id !== last.id);
    const second = await request(http).get(next.path).set('Cookie', viewer.cookie);
    expect(second.status).toBe(200);
    expect((second.body as Listed[]).map((s) => s.id)).toEqual(expected.slice(5, 10).map((e) => e.id));

    // A position made up by the client (a valid shape, an id that is nobody's): the page after it.
    const pivot = remaining[20];
    // 'zzz…' sorts after every real id, so in id-descending order it comes first among that deadline's sessions.
    const made = cursorOf(pivot.deadline, 'z'.repeat(22));
    const after = await request(http).get(`/auth/sessions?limit=10&cursor=${made}`).set('Cookie', viewer.cookie);
    expect(after.status).toBe(200);
    const position = { id: 'z'.repeat(22), deadline: pivot.deadline };
    const expectedAfter = remaining.filter((e) => newestFirst(position, e) < 0).slice(0, 10);
    expect((after.body as Listed[]).map((s) => s.id)).toEqual(expectedAfter.map((e) => e.id));
    // Another user's session in the app: alice's list never shows bob's, whatever the cursor.
    const alice = await request(http).post('/auth/login').send(aliceLogin);
    const aliceList = await request(http).get(`/auth/sessions?cursor=${made}`).set('Cookie', sessionCookie(alice));
    expect(aliceList.status).toBe(200);
    expect(aliceList.body).toEqual([]);
    expected = remaining;
  });

  it('a bad limit or cursor is a 400 with a message naming it, never a 5xx', async () => {
    const valid = nextOf(await request(http).get('/auth/sessions?limit=3').set('Cookie', viewer.cookie))!.cursor;
    const badLimits = ['0', '1001', '-1', 'abc', '1.5', '', '1e2', '+5', '0x10', '99999', '%20'];
    const badCursors = [
      'abc', // decodes to bytes that are no position
      cursorOf(1, 'short'), // not a session id
      cursorOf(123, 'A'.repeat(23)),
      Buffer.from(`99999999999999999:${'A'.repeat(22)}`).toString('base64url'), // 17 digits
      Buffer.from(`-5:${'A'.repeat(22)}`).toString('base64url'),
      Buffer.from(`1.5:${'A'.repeat(22)}`).toString('base64url'),
      `${valid}=`, // padding: not the canonical encoding
      'AB', // stray bits in the last character: not the canonical encoding of any bytes
      'A'.repeat(5000),
      '',
      '%00',
    ];
    const cases: Array<[string, RegExp]> = [
      ...badLimits.map((limit): [string, RegExp] => [`/auth/sessions?limit=${limit}`, /`limit`/]),
      ['/auth/sessions?limit=1&limit=2', /`limit`/],
      ...badCursors.map((cursor): [string, RegExp] => [`/auth/sessions?cursor=${cursor}`, /`cursor`/]),
      [`/auth/sessions?cursor=${valid}&cursor=${valid}`, /`cursor`/],
      [`/auth/sessions?limit=5&cursor=nope`, /`cursor`/],
    ];
    for (const [path, message] of cases) {
      const res = await request(http).get(path).set('Cookie', viewer.cookie);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect({ path, message: String(res.body.message) }).toEqual({ path, message: expect.stringMatching(message) });
      expect(res.headers.link).toBeUndefined();
    }
    // Shapes a platform may parse differently (Express's extended parser makes an object): never a 5xx.
    for (const path of ['/auth/sessions?limit[a]=1', '/auth/sessions?cursor[a]=1', '/auth/sessions?limit=%E2%82%AC']) {
      const res = await request(http).get(path).set('Cookie', viewer.cookie);
      expect({ path, ok: [200, 400].includes(res.status) }).toEqual({ path, ok: true });
    }
    // Without a session it is a 401 before the query is looked at.
    expect((await request(http).get('/auth/sessions?limit=0')).status).toBe(401);
  });

  it('the link carries a global prefix (app.setGlobalPrefix)', async () => {
    const app = await prefixedApp(adapter);
    try {
      const server = app.getHttpServer();
      const service = app.get(SessionService);
      const created = await createMany(service, 5);
      const res = await request(server).post('/api/v1/auth/login').send(bobLogin);
      expect(res.status).toBe(200);
      const cookie = sessionCookie(res);
      const all = [...created, entryOf(res.body.session)].sort(newestFirst);
      const first = await request(server).get('/api/v1/auth/sessions?limit=2').set('Cookie', cookie);
      expect(nextOf(first)?.path).toMatch(/^\/api\/v1\/auth\/sessions\?limit=2&cursor=/);
      const { pages } = await walk(server, '/api/v1/auth/sessions?limit=2', cookie);
      expect(pages.map((p) => p.length)).toEqual([2, 2, 2]);
      expect(pages.flat().map((s) => s.id)).toEqual(all.map((e) => e.id));
      await service.revokeAll(BOB.id);
    } finally {
      await app.close();
    }
  });

  it('SessionService.listPage and list page the same way; a bad cursor throws SessionListOptionsException', async () => {
    const service = t.app.get(SessionService);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<SessionService['listPage']>> = await service.listPage(
        BOB.id,
        cursor === null ? { limit: 60 } : { limit: 60, cursor },
      );
      expect(page.sessions.length).toBeLessThanOrEqual(60);
      for (const s of page.sessions) seen.push(s.id);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(expected.map((e) => e.id));
    expect((await service.list(BOB.id)).map((s) => s.id)).toEqual(expected.slice(0, 100).map((e) => e.id));
    expect((await service.list(BOB.id, { limit: 3 })).map((s) => s.id)).toEqual(expected.slice(0, 3).map((e) => e.id));
    const { SessionListOptionsException } = await import('../src/index.js');
    await expect(service.listPage(BOB.id, { cursor: 'nope' })).rejects.toBeInstanceOf(SessionListOptionsException);
    await expect(service.list(BOB.id, { limit: 0 })).rejects.toThrow(/`limit` must be a whole number from 1 to 1000/);
    await expect(service.list(BOB.id, { limit: 1001 })).rejects.toBeInstanceOf(SessionListOptionsException);
  });
});

describe.each(ADAPTERS)('maxSessionsPerUser: 100 by default, null or Infinity for no limit (%s)', (adapter: AdapterName) => {
  /** 100 sessions through the service (the first one strictly the oldest), then the 101st login over HTTP. */
  async function hundredAndOne(t: TestApp) {
    const service = t.app.get(SessionService);
    const oldest = await service.create(BOB);
    await new Promise((resolve) => setTimeout(resolve, 3));
    const rest = await Promise.all(Array.from({ length: 99 }, () => service.create(BOB)));
    const login = await request(t.app.getHttpServer()).post('/auth/login').send(bobLogin);
    expect(login.status).toBe(200);
    const store = t.app.get(SessionStore);
    return { oldest, rest, cookie: sessionCookie(login), id: login.body.session.id as string, indexKey: store.indexKey(BOB.id) };
  }

  it('the 101st login of a user evicts the oldest session: 100 remain', async () => {
    const t = await createTestApp({ loginThrottle: false }, [], { adapter });
    try {
      const { oldest, rest, cookie, id, indexKey } = await hundredAndOne(t);
      const http = t.app.getHttpServer();
      expect((await request(http).get('/me').set('Cookie', `sid=${oldest.token}`)).status).toBe(401);
      expect(await t.redis.exists(`${t.prefix}${oldest.session.id}`)).toBe(0);
      expect(await t.redis.zscore(indexKey, oldest.session.id)).toBeNull();
      expect(await t.redis.zcard(indexKey)).toBe(100);
      const list = await request(http).get('/auth/sessions').set('Cookie', cookie);
      expect(list.status).toBe(200);
      expect((list.body as Listed[]).map((s) => s.id).sort()).toEqual([id, ...rest.map((r) => r.session.id)].sort());
      expect(nextOf(list)).toBeNull();
    } finally {
      await t.close();
    }
  });

  it.each([
    ['null', null],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('maxSessionsPerUser: %s keeps all 101', async (_label, maxSessionsPerUser) => {
    const t = await createTestApp({ loginThrottle: false, maxSessionsPerUser }, [], { adapter });
    try {
      const { oldest, cookie, indexKey } = await hundredAndOne(t);
      const http = t.app.getHttpServer();
      expect((await request(http).get('/me').set('Cookie', `sid=${oldest.token}`)).status).toBe(200);
      expect(await t.redis.zcard(indexKey)).toBe(101);
      const first = await request(http).get('/auth/sessions').set('Cookie', cookie);
      expect(first.body).toHaveLength(100);
      const { pages } = await walk(http, '/auth/sessions', cookie);
      expect(pages.flat()).toHaveLength(101);
    } finally {
      await t.close();
    }
  });
});

describe.each(ADAPTERS)('a user with 20,000 sessions (%s)', (adapter: AdapterName) => {
  const COUNT = 20_000;
  let t: TestApp;
  let base: string;
  let bob: { cookie: string; id: string };
  let alice: string;
  let created: Entry[];

  beforeAll(async () => {
    t = await createTestApp({ maxSessionsPerUser: null, loginThrottle: false, redisTimeoutMs: 5000 }, [], { adapter });
    base = `http://127.0.0.1:${listeningPort(t.app.getHttpServer())}`;
    created = await createMany(t.app.get(SessionService), COUNT, 1000);
    const http = t.app.getHttpServer();
    const res = await request(http).post('/auth/login').send(bobLogin);
    bob = { cookie: sessionCookie(res), id: res.body.session.id };
    alice = sessionCookie(await request(http).post('/auth/login').send(aliceLogin));
  }, 120_000);
  afterAll(() => t?.close());

  it('GET /auth/sessions answers 200 with the newest 100 fast, and a link to the next page', async () => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const res = await fetch(`${base}/auth/sessions`, { headers: { cookie: bob.cookie } });
      const body = (await res.json()) as Listed[];
      times.push(performance.now() - started);
      expect(res.status).toBe(200);
      expect(body).toHaveLength(100);
      expect(body[0]).toMatchObject({ id: bob.id, current: true });
      expect(res.headers.get('link')).toMatch(/^<\/auth\/sessions\?limit=100&cursor=[A-Za-z0-9_-]+>; rel="next"$/);
    }
    process.stdout.write(
      `pagination (${adapter}): GET /auth/sessions of a user with ${COUNT + 1} sessions: ${times.map((ms) => ms.toFixed(0)).join(', ')} ms\n`,
    );
    expect(Math.min(...times)).toBeLessThan(500);
  });

  it("POST /auth/logout-all works through the index a bounded chunk at a time; another user's guarded request answers 200 meanwhile; nothing of the user is left", async () => {
    const store = t.app.get(SessionStore);
    const indexKey = store.indexKey(BOB.id);
    // What the module sends for this app's keys, in the order Redis runs it.
    const sent: string[][] = [];
    const monitor = await t.redis.monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (typeof args[1] === 'string' && args[1].startsWith(t.prefix)) sent.push(args);
    });
    const meTimes: number[] = [];
    const statuses: number[] = [];
    let done = false;
    const started = performance.now();
    const logoutAll = fetch(`${base}/auth/logout-all`, { method: 'POST', headers: { cookie: bob.cookie } }).then(async (res) => {
      await res.arrayBuffer();
      done = true;
      return { status: res.status, ms: performance.now() - started };
    });
    const others = (async () => {
      while (!done) {
        const sent = performance.now();
        const res = await fetch(`${base}/me`, { headers: { cookie: alice } });
        await res.arrayBuffer();
        statuses.push(res.status);
        meTimes.push(performance.now() - sent);
      }
    })();
    const [out] = await Promise.all([logoutAll, others]);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the last commands reach MONITOR
    monitor.disconnect();
    process.stdout.write(
      `pagination (${adapter}): POST /auth/logout-all of ${COUNT + 1} sessions: ${out.ms.toFixed(0)} ms; ` +
        `${statuses.length} GET /me of another user meanwhile, slowest ${Math.max(...meTimes).toFixed(0)} ms\n`,
    );
    expect(out.status).toBe(204);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect((await fetch(`${base}/me`, { headers: { cookie: bob.cookie } })).status).toBe(401);

    // Bounded work per step: every read of the index asks for at most 1,001 ids (never the
    // whole ZSET), and at most 1,000 sessions are deleted and unindexed before the index is
    // read again, so other users' commands on the same connection never queue behind more.
    const reads = sent.filter((args) => args[0].toLowerCase() === 'zrange' && args[1] === indexKey);
    expect(reads.length).toBeGreaterThan(COUNT / 1000);
    for (const args of reads) {
      const upper = args.map((arg) => arg.toUpperCase());
      const limit = upper.indexOf('LIMIT');
      const size = limit === -1 ? Number(args[3]) - Number(args[2]) + 1 : Number(args[limit + 2]);
      expect({ read: args.join(' '), bounded: Number.isFinite(size) && size >= 1 && size <= 1001 }).toEqual({
        read: args.join(' '),
        bounded: true,
      });
    }
    let deletedSinceRead = 0;
    let mostDeletedBetweenReads = 0;
    for (const args of sent) {
      const command = args[0].toLowerCase();
      if (command === 'zrange' && args[1] === indexKey) deletedSinceRead = 0;
      if (command === 'del') deletedSinceRead += args.length - 1;
      if (command === 'zrem' && args[1] === indexKey) expect(args.length - 2).toBeLessThanOrEqual(1000);
      mostDeletedBetweenReads = Math.max(mostDeletedBetweenReads, deletedSinceRead);
    }
    expect(mostDeletedBetweenReads).toBeLessThanOrEqual(1000);

    // Nothing of bob's is left: no session key, no index.
    expect(await t.redis.exists(store.indexKey(BOB.id))).toBe(0);
    const ids = [...created.map((e) => e.id), bob.id];
    let left = 0;
    for (let i = 0; i < ids.length; i += 1000)
      left += await t.redis.exists(...ids.slice(i, i + 1000).map((id) => store.sessionKey(id)));
    expect(left).toBe(0);
    expect((await fetch(`${base}/me`, { headers: { cookie: alice } })).status).toBe(200);
  }, 60_000);
});
