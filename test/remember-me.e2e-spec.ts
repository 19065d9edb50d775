import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { SessionService } from '../src/index.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { sessionCookie, setCookies, tokenOf } from './support/http.js';

const bob = { username: 'bob', password: 'bob-password' };
const DAY = 86_400;

describe.each(ADAPTERS)('remember me: per-login lifetimes (%s)', (adapter) => {
  let t: TestApp;
  let off: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ ttl: 60, absoluteTtl: 600, rememberMe: { ttl: 7 * DAY, absoluteTtl: 30 * DAY } }, [], { adapter });
    off = await createTestApp({ ttl: 60, absoluteTtl: 600 }, [], { adapter });
  });
  afterAll(async () => {
    await t.close();
    await off.close();
  });
  const keyOf = (app: TestApp, id: string) => `${app.prefix}${id}`;

  it('a normal login: a browser-session cookie and the module lifetimes', async () => {
    const res = await request(t.app.getHttpServer()).post('/auth/login').send(bob);
    expect(res.status).toBe(200);
    expect(setCookies(res).find((c) => c.startsWith('sid='))).not.toMatch(/Max-Age/);
    const { session } = res.body as { session: { id: string; createdAt: string; absoluteExpiresAt: string } };
    expect(Date.parse(session.absoluteExpiresAt) - Date.parse(session.createdAt)).toBe(600_000);
    expect(await t.redis.pttl(keyOf(t, session.id))).toBeLessThanOrEqual(60_000);
  });

  it('rememberMe: true: a persistent cookie until the own absolute deadline, the own idle timeout, slid by the guard', async () => {
    const http = t.app.getHttpServer();
    const res = await request(http)
      .post('/auth/login')
      .send({ ...bob, rememberMe: true });
    expect(res.status).toBe(200);
    const cookie = setCookies(res).find((c) => c.startsWith('sid='))!;
    const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)?.[1]);
    expect(maxAge).toBeGreaterThan(30 * DAY - 5);
    expect(maxAge).toBeLessThanOrEqual(30 * DAY);
    const { session } = res.body as { session: { id: string; createdAt: string; absoluteExpiresAt: string; expiresAt: string } };
    expect(Date.parse(session.absoluteExpiresAt) - Date.parse(session.createdAt)).toBe(30 * DAY * 1000);
    expect(Date.parse(session.expiresAt) - Date.parse(session.createdAt)).toBe(7 * DAY * 1000);
    const key = keyOf(t, session.id);
    expect(await t.redis.pttl(key)).toBeGreaterThan(7 * DAY * 1000 - 5000);

    await t.redis.pexpire(key, 10_000); // as if it had idled for almost a week
    const me = await request(http).get('/me').set('Cookie', sessionCookie(res));
    expect(me.status).toBe(200);
    expect(await t.redis.pttl(key)).toBeGreaterThan(7 * DAY * 1000 - 5000);
    const current = await request(http).get('/auth/session').set('Cookie', sessionCookie(res));
    // lastActivityAt is derived from the session's own idle timeout, not the module's.
    expect(Date.now() - Date.parse(current.body.lastActivityAt)).toBeLessThan(5000);
  });

  it('rememberMe is ignored when the option is off, and must be a boolean', async () => {
    const http = off.app.getHttpServer();
    const res = await request(http)
      .post('/auth/login')
      .send({ ...bob, rememberMe: true });
    expect(res.status).toBe(200);
    expect(setCookies(res).find((c) => c.startsWith('sid='))).not.toMatch(/Max-Age/);
    expect(await off.redis.pttl(keyOf(off, res.body.session.id as string))).toBeLessThanOrEqual(60_000);
    for (const rememberMe of ['yes', 1, null, {}]) {
      expect(
        (
          await request(t.app.getHttpServer())
            .post('/auth/login')
            .send({ ...bob, rememberMe })
        ).status,
      ).toBe(400);
    }
  });

  it('rotate keeps the lifetimes of a remembered session; a token issued without them still works', async () => {
    const service = t.app.get(SessionService);
    const remembered = await service.create({ id: 'u-r' }, undefined, { ttl: 3600, absoluteTtl: 7200, persistentCookie: true });
    expect(remembered.persistentCookie).toBe(true);
    const rotated = await service.rotate(remembered.token);
    expect(rotated?.persistentCookie).toBe(true);
    expect(rotated!.session.absoluteExpiresAt).toEqual(remembered.session.absoluteExpiresAt);
    expect(await t.redis.pttl(keyOf(t, rotated!.session.id))).toBeGreaterThan(3_595_000);
    expect((await service.touch(rotated!.token))?.expiresAt.getTime()).toBeGreaterThan(Date.now() + 3_595_000);
    const plain = await service.create({ id: 'u-r' });
    expect(tokenOf(`sid=${plain.token}`).split('.')).toHaveLength(2);
    expect(await service.touch(plain.token)).not.toBeNull();
    await expect(service.create({ id: 'u-r' }, undefined, { ttl: 0 })).rejects.toThrow(TypeError);
  });

  it('update keeps a remembered session remembered', async () => {
    const service = t.app.get(SessionService);
    const { token } = await service.create({ id: 'u-s' }, undefined, { ttl: 3600, absoluteTtl: 7200, persistentCookie: true });
    expect((await service.update(token, { theme: 'dark' }))?.data).toEqual({ theme: 'dark' });
    expect((await service.update(token, { theme: null }))?.data).toBeUndefined();
    const rotated = await service.rotate(token);
    expect(rotated?.persistentCookie).toBe(true);
    expect((await service.touch(rotated!.token))?.expiresAt.getTime()).toBeGreaterThan(Date.now() + 3_595_000);
  });
});
