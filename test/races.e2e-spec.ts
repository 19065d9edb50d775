import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './support/app.js';
import { listeningPort } from './support/http.js';
import { dumpPrefix, sleep } from './support/redis.js';
import { SessionService } from '../src/index.js';

/*
 * Races, repeated many times over the real HTTP server (Express and Fastify), with the
 * counts printed (`race <name> (<platform>): ...`):
 *
 *   logout-vs-guarded    a logout in the middle of concurrent guarded requests: no request
 *                        sent after the logout answered gets 200, and the key and the index
 *                        entry are gone (guard.e2e-spec.ts runs the same race with 200
 *                        requests per round and no timing check);
 *   revokeAll-vs-login   POST /auth/logout-all in the middle of concurrent logins of the same
 *                        user: every session still alive afterwards is in GET /auth/sessions
 *                        (and in the index); none is alive and invisible;
 *   rotate-vs-requests   SessionService.rotate() in the middle of concurrent guarded requests
 *                        with the old token: after rotate() resolves the old token never
 *                        answers 200 again, exactly one key lives for the session, and the
 *                        new token works; also rotate vs a concurrent logout with the old
 *                        cookie (whichever wins, nothing of the session lives afterwards) and
 *                        vs a second rotate of the same token;
 *   max-sessions         concurrent logins of one user past maxSessionsPerUser: never more
 *                        than the cap alive, and the list and the index hold exactly the live ones.
 *
 * Login throttling is off in these apps: it counts every attempt before the password is
 * checked, so bursts of correct logins of one user would be slowed down and refused (429).
 * At the end every key under each app's prefix must still have a TTL.
 */

/** Rounds per platform; RACE_SCALE=4 multiplies them for a longer run. */
const SCALE = Math.max(1, Number(process.env.RACE_SCALE) || 1);
const ROUNDS = {
  logout: 25 * SCALE,
  revokeAll: 60 * SCALE,
  rotate: 40 * SCALE,
  rotateVsLogout: 40 * SCALE,
  rotateVsRotate: 40 * SCALE,
  maxSessions: 30 * SCALE,
};
const PASSWORD = 'race-password';
const CAP = 3;

/** Any username logs in with PASSWORD, as a user whose id is the username. */
async function validateCredentials({ username, password }: { username: string; password: string }) {
  return password === PASSWORD ? { id: username, username, role: 'user' } : null;
}

interface Login {
  status: number;
  cookie: string;
  id: string;
  /** performance.now() when the answer arrived. */
  at: number;
}

/** A small HTTP client on fetch (undici), measuring when each answer arrives. */
function client(port: number) {
  const base = `http://127.0.0.1:${port}`;
  return {
    async login(username: string): Promise<Login> {
      const res = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: PASSWORD }),
      });
      const at = performance.now();
      const body = (await res.json()) as { session?: { id: string } };
      const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
      return { status: res.status, cookie: setCookie ? setCookie.split(';')[0] : '', id: body.session?.id ?? '', at };
    },
    /** Status of a guarded GET, with when it was sent and when it was answered. */
    async get(path: string, cookie: string): Promise<{ status: number; sent: number; at: number }> {
      const sent = performance.now();
      const res = await fetch(`${base}${path}`, { headers: { cookie } });
      await res.arrayBuffer();
      return { status: res.status, sent, at: performance.now() };
    },
    async post(path: string, cookie: string): Promise<{ status: number; sent: number; at: number }> {
      const sent = performance.now();
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { cookie } });
      await res.arrayBuffer();
      return { status: res.status, sent, at: performance.now() };
    },
    async sessions(cookie: string): Promise<string[]> {
      const res = await fetch(`${base}/auth/sessions`, { headers: { cookie } });
      expect(res.status).toBe(200);
      return ((await res.json()) as Array<{ id: string }>).map((s) => s.id).sort();
    },
  };
}

const report = (line: string) => process.stdout.write(`${line}\n`);
const randomInt = (max: number) => Math.floor(Math.random() * (max + 1));

/** Every key under the prefix has a TTL (and there is at least one key to look at). */
async function everyKeyHasTtl(t: TestApp): Promise<number> {
  const dump = await dumpPrefix(t.redis, t.prefix);
  const without = dump.filter((e) => e.pttl < 0).map((e) => `${e.key} (${e.pttl})`);
  expect(without).toEqual([]);
  return dump.length;
}

describe.each(ADAPTERS)('races over HTTP (%s)', (adapter: AdapterName) => {
  let t: TestApp;
  let capped: TestApp;
  let http: ReturnType<typeof client>;
  let cappedHttp: ReturnType<typeof client>;
  let service: SessionService;
  beforeAll(async () => {
    [t, capped] = await Promise.all([
      createTestApp({ validateCredentials, loginThrottle: false }, [], { adapter }),
      createTestApp({ validateCredentials, loginThrottle: false, maxSessionsPerUser: CAP }, [], { adapter }),
    ]);
    http = client(listeningPort(t.app.getHttpServer()));
    cappedHttp = client(listeningPort(capped.app.getHttpServer()));
    service = t.app.get(SessionService);
  });
  afterAll(async () => {
    // The invariant that outlives every race: no key without a TTL.
    const keys = (await everyKeyHasTtl(t)) + (await everyKeyHasTtl(capped));
    report(`race keys (${adapter}): ${keys} keys left under the two prefixes, every one with a TTL`);
    await Promise.all([t.close(), capped.close()]);
  });

  it(`logout-vs-guarded: no request sent after the logout answered gets 200 (${ROUNDS.logout} rounds × 44 requests)`, async () => {
    let ok = 0;
    let unauthorized = 0;
    let okAfterLogout = 0;
    let sentAfterLogout = 0;
    for (let round = 0; round < ROUNDS.logout; round++) {
      const user = `logout-${round}`;
      const { cookie, id } = await http.login(user);
      // 40 requests spread over ~20 ms, the logout somewhere in the first half of them.
      const requests = Array.from({ length: 40 }, (_, i) => sleep(i % 20).then(() => http.get('/me', cookie)));
      const logout = sleep(2 + randomInt(8)).then(() => http.post('/auth/logout', cookie));
      const [answers, out] = await Promise.all([Promise.all(requests), logout]);
      expect(out.status).toBe(204);
      // And a few sent once the logout has answered, for sure.
      const late = await Promise.all(Array.from({ length: 4 }, () => http.get('/me', cookie)));
      for (const a of [...answers, ...late]) {
        expect([200, 401]).toContain(a.status);
        if (a.status === 200) ok++;
        else unauthorized++;
        if (a.sent > out.at) {
          sentAfterLogout++;
          if (a.status === 200) okAfterLogout++;
        }
      }
      expect(await t.redis.exists(`${t.prefix}${id}`)).toBe(0);
      expect(await t.redis.zscore(`${t.prefix}user:${user}`, id)).toBeNull();
      expect((await http.get('/me', cookie)).status).toBe(401);
    }
    report(
      `race logout-vs-guarded (${adapter}): ${ROUNDS.logout} rounds, ${ok + unauthorized} guarded requests, ${ok} answered 200, ` +
        `${unauthorized} 401, ${sentAfterLogout} sent after the logout answered of which ${okAfterLogout} got 200`,
    );
    expect(okAfterLogout).toBe(0);
    expect(ok).toBeGreaterThan(0);
    expect(unauthorized).toBeGreaterThan(0);
  });

  it(`revokeAll-vs-login: every live session is listed after logout-all raced 10 logins (${ROUNDS.revokeAll} rounds)`, async () => {
    let logins = 0;
    let revoked = 0;
    let listed = 0;
    let invisible = 0;
    let finishedAfter = 0;
    let finishedAfterListed = 0;
    for (let round = 0; round < ROUNDS.revokeAll; round++) {
      const user = `revoke-all-${round}`;
      const first = await http.login(user);
      let logoutAllStarted = Infinity;
      // Logins sent over ~10 ms; logout-all anywhere in that window.
      const racing = Array.from({ length: 10 }, (_, i) => sleep(i).then(() => http.login(user)));
      const logoutAll = sleep(randomInt(10)).then(() => {
        logoutAllStarted = performance.now();
        return http.post('/auth/logout-all', first.cookie);
      });
      const [issued, out] = await Promise.all([Promise.all(racing), logoutAll]);
      expect(out.status).toBe(204);
      expect((await http.get('/me', first.cookie)).status).toBe(401);
      // Who is alive now, as the server sees it and as Redis holds it.
      const alive = await Promise.all(issued.map(async (s) => (await http.get('/auth/session', s.cookie)).status));
      const exists = await Promise.all(issued.map((s) => t.redis.exists(`${t.prefix}${s.id}`)));
      const viewer = await http.login(user); // a fresh session to look at the list with
      const list = new Set(await http.sessions(viewer.cookie));
      const index = new Set(await t.redis.zrange(`${t.prefix}user:${user}`, 0, '-1'));
      const viaService = new Set((await service.list(user)).map((s) => s.id));
      issued.forEach((s, i) => {
        expect(s.status).toBe(200);
        logins++;
        expect([200, 401]).toContain(alive[i]);
        expect(exists[i]).toBe(alive[i] === 200 ? 1 : 0);
        const after = s.at > logoutAllStarted;
        if (after) finishedAfter++;
        if (alive[i] === 401) {
          revoked++;
          expect(index.has(s.id)).toBe(false); // no key mentions a revoked id
          return;
        }
        if (list.has(s.id) && index.has(s.id) && viaService.has(s.id)) {
          listed++;
          if (after) finishedAfterListed++;
        } else {
          invisible++;
        }
      });
      // The list holds exactly the live sessions (and the viewer's own).
      const live = issued.filter((_, i) => alive[i] === 200).map((s) => s.id);
      expect([...list].sort()).toEqual([...live, viewer.id].sort());
      expect([...index].sort()).toEqual([...live, viewer.id].sort());
    }
    report(
      `race revokeAll-vs-login (${adapter}): ${ROUNDS.revokeAll} rounds, ${logins} logins, ${revoked} revoked, ${listed} listed, ` +
        `${invisible} invisible (${finishedAfter} logins answered after logout-all began, ${finishedAfterListed} of them listed)`,
    );
    expect(invisible).toBe(0);
    expect(revoked).toBeGreaterThan(0);
    expect(listed).toBeGreaterThan(0);
  });

  it(`rotate-vs-requests: after rotate() resolves the old token never works again (${ROUNDS.rotate} rounds × 30 requests)`, async () => {
    let ok = 0;
    let unauthorized = 0;
    let sentAfterRotate = 0;
    let okAfterRotate = 0;
    for (let round = 0; round < ROUNDS.rotate; round++) {
      const user = `rotreq-${round}`;
      const { cookie, id } = await http.login(user);
      const token = cookie.slice('sid='.length);
      const requests = Array.from({ length: 30 }, (_, i) => sleep(i % 10).then(() => http.get('/me', cookie)));
      const rotation = sleep(1 + randomInt(6)).then(async () => {
        const next = await service.rotate(token);
        return { next, at: performance.now() };
      });
      const [answers, { next, at }] = await Promise.all([Promise.all(requests), rotation]);
      expect(next).not.toBeNull();
      // Requests sent once rotate() has resolved, for sure.
      const late = await Promise.all(Array.from({ length: 5 }, () => http.get('/me', cookie)));
      for (const a of [...answers, ...late]) {
        expect([200, 401]).toContain(a.status);
        if (a.status === 200) ok++;
        else unauthorized++;
        if (a.sent > at) {
          sentAfterRotate++;
          if (a.status === 200) okAfterRotate++;
        }
      }
      // Exactly one live key for the session: the new one; the index names it and not the old id.
      expect(await t.redis.exists(`${t.prefix}${id}`)).toBe(0);
      expect(await t.redis.exists(`${t.prefix}${next!.session.id}`)).toBe(1);
      expect((await t.redis.zrange(`${t.prefix}user:${user}`, 0, '-1')).sort()).toEqual([next!.session.id]);
      expect((await http.get('/me', `sid=${next!.token}`)).status).toBe(200);
    }
    // One live session key per round, no more: nothing was left behind under the old ids.
    const sessionKeys = (await dumpPrefix(t.redis, t.prefix)).filter(
      (e) => e.type === 'string' && e.content.includes('"rotreq-'),
    );
    expect(sessionKeys).toHaveLength(ROUNDS.rotate);
    report(
      `race rotate-vs-requests (${adapter}): ${ROUNDS.rotate} rounds, ${ok + unauthorized} requests with the old token, ${ok} answered 200, ` +
        `${unauthorized} 401, ${sentAfterRotate} sent after rotate() resolved of which ${okAfterRotate} got 200; ` +
        `${sessionKeys.length} session keys for ${ROUNDS.rotate} rotated sessions`,
    );
    expect(okAfterRotate).toBe(0);
    expect(sentAfterRotate).toBeGreaterThanOrEqual(5 * ROUNDS.rotate);
    expect(ok).toBeGreaterThan(0);
  });

  it(`rotate-vs-logout and rotate-vs-rotate: a logout with the old cookie ends the session whichever wins, one rotate wins (${ROUNDS.rotateVsLogout} + ${ROUNDS.rotateVsRotate} rounds)`, async () => {
    let logoutFirst = 0;
    let rotateFirst = 0;
    for (let round = 0; round < ROUNDS.rotateVsLogout; round++) {
      const user = `rotate-logout-${round}`;
      const { cookie, id } = await http.login(user);
      const token = cookie.slice('sid='.length);
      // rotate() runs in-process and the logout over HTTP: on even rounds the logout gets a head
      // start of 0-4 ms (it mostly wins), on odd rounds the rotate does (it mostly commits first).
      const [next, out] = await Promise.all([
        round % 2 === 0 ? sleep(randomInt(4)).then(() => service.rotate(token)) : service.rotate(token),
        round % 2 === 0 ? http.post('/auth/logout', cookie) : sleep(randomInt(4)).then(() => http.post('/auth/logout', cookie)),
      ]);
      expect(out.status).toBe(204);
      // Whichever won, nothing of the session lives: the logout ended it before or during the
      // rotation (which then resolved null), or followed the rotation's forward to the new key.
      if (next === null) logoutFirst++;
      else rotateFirst++;
      expect({ round, old: await t.redis.exists(`${t.prefix}${id}`) }).toEqual({ round, old: 0 });
      expect({ round, index: await t.redis.zrange(`${t.prefix}user:${user}`, 0, '-1') }).toEqual({ round, index: [] });
      if (next !== null) {
        expect({ round, rotated: await t.redis.exists(`${t.prefix}${next.session.id}`) }).toEqual({ round, rotated: 0 });
        expect({ round, status: (await http.get('/me', `sid=${next.token}`)).status }).toEqual({ round, status: 401 });
      }
      expect((await http.get('/me', cookie)).status).toBe(401);
    }
    let oneWinner = 0;
    for (let round = 0; round < ROUNDS.rotateVsRotate; round++) {
      const user = `rotate-twice-${round}`;
      const { cookie, id } = await http.login(user);
      const token = cookie.slice('sid='.length);
      const results = await Promise.all([service.rotate(token), service.rotate(token)]);
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      oneWinner++;
      const live = await Promise.all(
        [id, ...results.map((r) => r?.session.id ?? '')].map((k) => (k ? t.redis.exists(`${t.prefix}${k}`) : Promise.resolve(0))),
      );
      expect(live.reduce((a, b) => a + b, 0)).toBe(1);
      expect(await t.redis.zrange(`${t.prefix}user:${user}`, 0, '-1')).toEqual([winners[0]!.session.id]);
    }
    report(
      `race rotate-vs-logout (${adapter}): ${ROUNDS.rotateVsLogout} rounds, ${logoutFirst} logout first (the rotation lost), ` +
        `${rotateFirst} rotate first (the logout ended the rotated session), nothing of the session left in any\n` +
        `race rotate-vs-rotate (${adapter}): ${ROUNDS.rotateVsRotate} rounds, ${oneWinner} with exactly one winner and one live key`,
    );
  });

  it(`max-sessions: 20 concurrent logins past maxSessionsPerUser=${CAP} never leave more than ${CAP} alive (${ROUNDS.maxSessions} rounds)`, async () => {
    let logins = 0;
    let evicted = 0;
    let alive = 0;
    const aliveCounts: Record<number, number> = {};
    for (let round = 0; round < ROUNDS.maxSessions; round++) {
      const user = `capped-${round}`;
      // Now and then the user already has sessions when the burst starts.
      const before = await Promise.all(Array.from({ length: round % 3 }, () => cappedHttp.login(user)));
      const issued = await Promise.all(Array.from({ length: 20 }, (_, i) => sleep(i % 4).then(() => cappedHttp.login(user))));
      const all = [...before, ...issued];
      const statuses = await Promise.all(all.map(async (s) => (await cappedHttp.get('/auth/session', s.cookie)).status));
      const live = all
        .filter((_, i) => statuses[i] === 200)
        .map((s) => s.id)
        .sort();
      for (const s of issued) expect(s.status).toBe(200);
      logins += issued.length;
      alive += live.length;
      evicted += all.length - live.length;
      aliveCounts[live.length] = (aliveCounts[live.length] ?? 0) + 1;
      expect(live.length).toBeLessThanOrEqual(CAP);
      expect(live.length).toBeGreaterThanOrEqual(1);
      const liveCookie = all[statuses.indexOf(200)].cookie;
      expect(await cappedHttp.sessions(liveCookie)).toEqual(live);
      expect((await capped.redis.zrange(`${capped.prefix}user:${user}`, 0, '-1')).sort()).toEqual(live);
      const keys = await Promise.all(all.map((s) => capped.redis.exists(`${capped.prefix}${s.id}`)));
      expect(keys.reduce((a, b) => a + b, 0)).toBe(live.length);
    }
    report(
      `race max-sessions (${adapter}): ${ROUNDS.maxSessions} rounds, ${logins} concurrent logins (cap ${CAP}), ${alive} sessions alive after, ` +
        `${evicted} evicted, alive per round ${JSON.stringify(aliveCounts)}, 0 rounds over the cap, list = index = live every round`,
    );
  });
});
