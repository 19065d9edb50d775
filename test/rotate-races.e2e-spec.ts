import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, HttpCode, HttpStatus, Module, Param, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import { SessionAuth, SessionService } from '../src/index.js';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './support/app.js';
import { listeningPort } from './support/http.js';

/*
 * Changes and ends racing a rotation over HTTP (issue 19 item 3), on Express and Fastify: a
 * rotate route (SessionAuth.rotate, as an app's own re-authentication route would call it)
 * sent together with DELETE /auth/sessions/:id of the same session from another device, with
 * POST /auth/logout of the same cookie, or with a demotion (updateUser). Before, the session
 * survived the revocation (the DELETE answered 404) or the logout, and kept its old role. A
 * logout with the old cookie sent after the rotate route (0-2 ms after it, or once it answered)
 * ends the rotated session too: before, 7 (Express) and 6 (Fastify) of 50 sent 0-2 ms after,
 * and all sent after the answer, left it alive.
 */

const ROUNDS = 50;
const PASSWORD = 'rotate-race-password';
const report = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const randomInt = (max: number) => Math.floor(Math.random() * (max + 1));

/**
 * Sends `a` and `b` together, or one of them 0-2 ms after the other (by round, `patterns` of
 * them: 1 together only, 2 also `a` late, 3 also `b` late), so that across rounds `b` reaches
 * Redis before, inside and after the rotation's steps.
 */
function stagger<A, B>(round: number, patterns: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  const pattern = round % patterns;
  const late = <T>(send: () => Promise<T>) => sleep(randomInt(2)).then(send);
  return Promise.all([pattern === 1 ? late(a) : a(), pattern === 2 ? late(b) : b()]);
}

/** Any username logs in with PASSWORD, as an admin whose id is the username. */
async function validateCredentials({ username, password }: { username: string; password: string }) {
  return password === PASSWORD ? { id: username, username, role: 'admin' } : null;
}

@Controller('rr')
class RotateController {
  constructor(
    private readonly auth: SessionAuth,
    private readonly sessions: SessionService,
  ) {}

  /** An app's own route that moves the request's session to a new token. */
  @Post('rotate')
  @HttpCode(HttpStatus.OK)
  async rotate(@Req() req: never, @Res({ passthrough: true }) res: unknown) {
    const issued = await this.auth.rotate(req, res);
    if (!issued) throw new UnauthorizedException('No session to rotate');
    return { id: issued.session.id };
  }

  /** What an admin panel's "make this user a plain user" would do. */
  @Post('demote/:user')
  @HttpCode(HttpStatus.OK)
  async demote(@Param('user') user: string) {
    return { changed: await this.sessions.updateUser(user, { role: 'user' }) };
  }
}

@Module({ controllers: [RotateController] })
class RotateModule {}

interface Answer {
  status: number;
  /** The `sid=...` pair the answer set, or ''. */
  cookie: string;
  body: unknown;
}

function client(port: number) {
  const base = `http://127.0.0.1:${port}`;
  const send = async (method: string, path: string, cookie?: string, body?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const set = res.headers.getSetCookie().find((c) => c.startsWith('sid=') && !c.startsWith('sid=;'));
    return { status: res.status, cookie: set ? set.split(';')[0] : '', body: text ? (JSON.parse(text) as unknown) : null };
  };
  return {
    send,
    async login(username: string): Promise<{ cookie: string; id: string }> {
      const res = await send('POST', '/auth/login', undefined, { username, password: PASSWORD });
      expect(res.status).toBe(200);
      return { cookie: res.cookie, id: (res.body as { session: { id: string } }).session.id };
    },
    async sessions(cookie: string): Promise<string[]> {
      const res = await send('GET', '/auth/sessions', cookie);
      expect(res.status).toBe(200);
      return (res.body as Array<{ id: string }>).map((s) => s.id).sort();
    },
  };
}

describe.each(ADAPTERS)('changes and ends racing a rotate route (%s)', (adapter: AdapterName) => {
  let t: TestApp;
  let http: ReturnType<typeof client>;
  beforeAll(async () => {
    t = await createTestApp({ validateCredentials, loginThrottle: false, isGlobal: true }, [RotateModule], { adapter });
    http = client(listeningPort(t.app.getHttpServer()));
  });
  afterAll(() => t.close());

  /** The cookies of a session before and after a rotate answer that are still let in. */
  async function alive(cookies: string[]): Promise<number> {
    const statuses = await Promise.all(
      cookies.filter(Boolean).map(async (cookie) => (await http.send('GET', '/me', cookie)).status),
    );
    return statuses.filter((status) => status === 200).length;
  }

  it(`DELETE /auth/sessions/:id racing the session's rotation: 204, and it ends (${ROUNDS} rounds)`, async () => {
    let survivors = 0;
    let rotated = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const user = `rr-del-${adapter}-${round}`;
      const victim = await http.login(user);
      const admin = await http.login(user);
      // The id as the other device's session list shows it.
      expect(await http.sessions(admin.cookie)).toContain(victim.id);
      const [rotation, revocation] = await stagger(
        round,
        3,
        () => http.send('POST', '/rr/rotate', victim.cookie),
        () => http.send('DELETE', `/auth/sessions/${victim.id}`, admin.cookie),
      );
      expect({ round, revocation: revocation.status }).toEqual({ round, revocation: 204 });
      expect([200, 401]).toContain(rotation.status);
      if (rotation.status === 200) rotated++;
      survivors += await alive([victim.cookie, rotation.cookie]);
      expect(await http.sessions(admin.cookie)).toEqual([admin.id]);
    }
    report(
      `rotate race over HTTP, DELETE (${adapter}): ${ROUNDS} rounds, 204 every time, ${rotated} rotate routes answered 200 ` +
        `(the revocation then ended the new token), ${ROUNDS - rotated} answered 401, ${survivors} sessions survived`,
    );
    expect(survivors).toBe(0);
  });

  it(`POST /auth/logout racing the session's rotation: it ends (${ROUNDS} rounds)`, async () => {
    let survivors = 0;
    let rotated = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const user = `rr-out-${adapter}-${round}`;
      const victim = await http.login(user);
      // The logout is sent with the rotate route or before it (the rotate 0-2 ms late); the
      // tests below send it after.
      const [rotation, logout] = await stagger(
        round,
        2,
        () => http.send('POST', '/rr/rotate', victim.cookie),
        () => http.send('POST', '/auth/logout', victim.cookie),
      );
      expect(logout.status).toBe(204);
      if (rotation.status === 200) rotated++;
      survivors += await alive([victim.cookie, rotation.cookie]);
      const viewer = await http.login(user);
      expect(await http.sessions(viewer.cookie)).toEqual([viewer.id]);
    }
    report(
      `rotate race over HTTP, logout (${adapter}): ${ROUNDS} rounds, ${rotated} rotate routes answered 200, ${survivors} sessions survived`,
    );
    expect(survivors).toBe(0);
  });

  /**
   * Logs in, sends the rotate route, then (`send`) a logout with the cookie the rotate replaces:
   * whatever each answered, nothing of the session may live afterwards (no token let in, no key,
   * no index entry). Returns the rounds where something did.
   */
  async function logoutAfterRotate(
    name: string,
    send: (rotate: () => Promise<Answer>, logout: () => Promise<Answer>) => Promise<[Answer, Answer]>,
  ): Promise<{ survivors: string[]; rotated: number }> {
    const survivors: string[] = [];
    let rotated = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const user = `rr-${name}-${adapter}-${round}`;
      const victim = await http.login(user);
      const [rotation, logout] = await send(
        () => http.send('POST', '/rr/rotate', victim.cookie),
        () => http.send('POST', '/auth/logout', victim.cookie),
      );
      expect({ round, logout: logout.status }).toEqual({ round, logout: 204 });
      expect([200, 401]).toContain(rotation.status);
      if (rotation.status === 200) rotated++;
      const ids = [victim.id, ...(rotation.status === 200 ? [(rotation.body as { id: string }).id] : [])];
      const keys = (await Promise.all(ids.map((id) => t.redis.exists(`${t.prefix}${id}`)))).reduce((a, b) => a + b, 0);
      const indexed = await t.redis.zcard(`${t.prefix}user:${user}`);
      const live = await alive([victim.cookie, rotation.cookie]);
      if (live + keys + indexed > 0) survivors.push(`round ${round}: ${live} token let in, ${keys} key, ${indexed} index entry`);
    }
    return { survivors, rotated };
  }

  it(`POST /auth/logout with the old cookie sent 0-2 ms after the rotate route: the rotated session ends (${ROUNDS} rounds)`, async () => {
    const { survivors, rotated } = await logoutAfterRotate('late-out', async (rotate, logout) => {
      const rotation = rotate();
      return Promise.all([rotation, sleep(randomInt(2)).then(logout)]);
    });
    report(
      `rotate race over HTTP, logout 0-2 ms after (${adapter}): ${ROUNDS} rounds, ${rotated} rotate routes answered 200, ` +
        `${survivors.length} sessions survived`,
    );
    expect(survivors).toEqual([]);
  });

  it(`POST /auth/logout with the old cookie sent right after the rotate route answered: the rotated session ends (${ROUNDS} rounds)`, async () => {
    const { survivors, rotated } = await logoutAfterRotate('after-out', async (rotate, logout) => {
      const rotation = await rotate();
      return [rotation, await logout()];
    });
    report(
      `rotate race over HTTP, logout after the answer (${adapter}): ${ROUNDS} rounds, ${rotated} rotate routes answered 200, ` +
        `${survivors.length} sessions survived`,
    );
    expect(rotated).toBe(ROUNDS);
    expect(survivors).toEqual([]);
  });

  it(`a demotion (updateUser) racing the session's rotation: the next request has the new role (${ROUNDS} rounds)`, async () => {
    let demoted = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const user = `rr-demote-${adapter}-${round}`;
      const victim = await http.login(user);
      expect((await http.send('GET', '/admin', victim.cookie)).status).toBe(200);
      const [rotation, demotion] = await stagger(
        round,
        3,
        () => http.send('POST', '/rr/rotate', victim.cookie),
        () => http.send('POST', `/rr/demote/${user}`),
      );
      expect({ round, rotation: rotation.status, demotion: demotion.body }).toEqual({
        round,
        rotation: 200,
        demotion: { changed: 1 },
      });
      expect({ round, admin: (await http.send('GET', '/admin', rotation.cookie)).status }).toEqual({ round, admin: 403 });
      const current = await http.send('GET', '/auth/session', rotation.cookie);
      expect({ round, role: (current.body as { role: string }).role }).toEqual({ round, role: 'user' });
      demoted++;
    }
    report(
      `rotate race over HTTP, demotion (${adapter}): ${ROUNDS} rounds, ${demoted} demotions counted and seen on the next request`,
    );
  });
});
