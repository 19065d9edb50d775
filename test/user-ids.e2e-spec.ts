import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { SessionUser } from '../src/index.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { sessionCookie } from './support/http.js';
import { keysWithPrefix } from './support/redis.js';

/*
 * Issue 9, item 7: the number 1 and the string "1" are different users to the app (the
 * contract keeps a userId's type), so they must not share an index. Before, both were indexed
 * under `<prefix>user:1` and the list filter compared String(userId): the string "1" listed,
 * revoked and logged out the sessions of the number 1. Now the number keeps `user:1` and the
 * string is indexed under `user:"1"` (session-keys.ts).
 */

const ACCOUNTS: Record<string, SessionUser> = {
  'number-one': { id: 1, username: 'number-one', role: 'user' },
  'string-one': { id: '1', username: 'string-one', role: 'user' },
};

async function validateCredentials({ username, password }: { username: string; password: string }): Promise<SessionUser | null> {
  return Object.hasOwn(ACCOUNTS, username) && password === `${username}-password` ? ACCOUNTS[username] : null;
}

describe.each(ADAPTERS)('the number 1 and the string "1" are different users over HTTP (%s)', (adapter) => {
  let t: TestApp;
  let server: ReturnType<TestApp['app']['getHttpServer']>;
  beforeAll(async () => {
    t = await createTestApp({ validateCredentials }, [], { adapter });
    server = t.app.getHttpServer();
  });
  afterAll(() => t.close());

  /** A fresh login of `username`: its cookie and public session id. */
  async function login(username: string): Promise<{ cookie: string; id: string; userId: unknown }> {
    const res = await request(server)
      .post('/auth/login')
      .send({ username, password: `${username}-password` });
    expect(res.status).toBe(200);
    return { cookie: sessionCookie(res), id: res.body.session.id as string, userId: res.body.session.userId };
  }
  const listed = async (cookie: string) => {
    const res = await request(server).get('/auth/sessions').set('Cookie', cookie);
    expect(res.status).toBe(200);
    return res.body as Array<{ id: string; userId: unknown }>;
  };
  const me = async (cookie: string) => (await request(server).get('/me').set('Cookie', cookie)).status;
  const logoutAll = async (cookie: string) => (await request(server).post('/auth/logout-all').set('Cookie', cookie)).status;
  const indexKeys = async () =>
    (await keysWithPrefix(t.redis, t.prefix)).filter((key) => key.startsWith(`${t.prefix}user:`)).sort();

  it('each is indexed under its own key, <prefix>user:1 and <prefix>user:"1", and keeps its type', async () => {
    const numbers = [await login('number-one'), await login('number-one')];
    const strings = [await login('string-one')];
    expect(numbers.map((s) => s.userId)).toEqual([1, 1]);
    expect(strings.map((s) => s.userId)).toEqual(['1']);
    expect(await indexKeys()).toEqual([`${t.prefix}user:"1"`, `${t.prefix}user:1`]);
    expect((await t.redis.zrange(`${t.prefix}user:1`, 0, '-1')).sort()).toEqual(numbers.map((s) => s.id).sort());
    expect(await t.redis.zrange(`${t.prefix}user:"1"`, 0, '-1')).toEqual([strings[0].id]);
    for (const s of [...numbers, ...strings]) expect(await t.redis.pttl(`${t.prefix}${s.id}`)).toBeGreaterThan(0);
    expect(await logoutAll(numbers[0].cookie)).toBe(204);
    expect(await logoutAll(strings[0].cookie)).toBe(204);
    expect(await indexKeys()).toEqual([]);
  });

  it("GET /auth/sessions lists only the caller's own sessions", async () => {
    const numbers = [await login('number-one'), await login('number-one')];
    const strings = [await login('string-one'), await login('string-one'), await login('string-one')];
    const ofNumber = await listed(numbers[0].cookie);
    expect(ofNumber.map((s) => s.id).sort()).toEqual(numbers.map((s) => s.id).sort());
    expect(ofNumber.every((s) => s.userId === 1)).toBe(true);
    const ofString = await listed(strings[0].cookie);
    expect(ofString.map((s) => s.id).sort()).toEqual(strings.map((s) => s.id).sort());
    expect(ofString.every((s) => s.userId === '1')).toBe(true);
    await logoutAll(numbers[0].cookie);
    await logoutAll(strings[0].cookie);
  });

  it("DELETE /auth/sessions/:id of the other one's session is a 404, and that session still works", async () => {
    const number = await login('number-one');
    const string = await login('string-one');
    expect((await request(server).delete(`/auth/sessions/${number.id}`).set('Cookie', string.cookie)).status).toBe(404);
    expect((await request(server).delete(`/auth/sessions/${string.id}`).set('Cookie', number.cookie)).status).toBe(404);
    expect(await me(number.cookie)).toBe(200);
    expect(await me(string.cookie)).toBe(200);
    expect(await t.redis.zscore(`${t.prefix}user:1`, number.id)).not.toBeNull();
    expect(await t.redis.zscore(`${t.prefix}user:"1"`, string.id)).not.toBeNull();
    // Each can still revoke its own.
    const other = await login('string-one');
    expect((await request(server).delete(`/auth/sessions/${other.id}`).set('Cookie', string.cookie)).status).toBe(204);
    expect(await me(other.cookie)).toBe(401);
    await logoutAll(number.cookie);
    await logoutAll(string.cookie);
  });

  it("POST /auth/logout-all of one leaves the other's sessions alive", async () => {
    const numbers = [await login('number-one'), await login('number-one')];
    const strings = [await login('string-one'), await login('string-one')];
    expect(await logoutAll(strings[0].cookie)).toBe(204);
    for (const s of strings) expect(await me(s.cookie)).toBe(401);
    for (const s of numbers) expect(await me(s.cookie)).toBe(200);
    expect((await listed(numbers[1].cookie)).map((s) => s.id).sort()).toEqual(numbers.map((s) => s.id).sort());

    const later = await login('string-one');
    expect(await logoutAll(numbers[1].cookie)).toBe(204);
    for (const s of numbers) expect(await me(s.cookie)).toBe(401);
    expect(await me(later.cookie)).toBe(200);
    expect((await listed(later.cookie)).map((s) => s.id)).toEqual([later.id]);
    expect(await indexKeys()).toEqual([`${t.prefix}user:"1"`]);
    await logoutAll(later.cookie);
  });
});
