import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, HttpCode, Module, Post, Req, UseGuards } from '@nestjs/common';
import request from 'supertest';
import { CurrentSession, SessionAuth, SessionGuard, SessionOps, SessionService, type Session } from '../src/index.js';
import type { HttpRequestLike } from '../src/http/request.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { sessionCookie, tokenOf } from './support/http.js';

/*
 * Issue 19 item 7: identity changes are apart from data. `SessionAuth.update` (and
 * `SessionService.updateData`) is data only, so a request body passed to it, whatever keys it
 * has, can never change the session's role or name; `SessionAuth.setIdentity` and
 * `SessionService.update` (the public contract) are the calls that may.
 */

@Controller('profile')
@UseGuards(SessionGuard)
class ProfileController {
  constructor(private readonly auth: SessionAuth) {}

  /** What an app does with a settings form: the whole body into the data-only call. */
  @Post('prefs')
  @HttpCode(200)
  async prefs(@Req() req: HttpRequestLike, @Body() body: Record<string, unknown>, @CurrentSession() before: Session) {
    const updated = await this.auth.update(req, { ...body });
    return { before: before.role, role: updated?.role, username: updated?.username, data: updated?.data };
  }

  /** A promotion the server decided (after its own check): the identity call. */
  @Post('promote')
  @HttpCode(200)
  async promote(@Req() req: HttpRequestLike) {
    const updated = await this.auth.setIdentity(req, { role: 'admin' });
    return { role: updated?.role };
  }
}

/** Reads what `@CurrentSession()` holds after `setIdentity`, in the same request. */
@Controller('whoami')
@UseGuards(SessionGuard)
class WhoAmIController {
  constructor(private readonly auth: SessionAuth) {}

  @Post()
  @HttpCode(200)
  async rename(@Req() req: HttpRequestLike, @CurrentSession() session: Session) {
    const updated = await this.auth.setIdentity(req, { username: 'robert' });
    return { before: session.username, after: updated?.username };
  }
}

@Module({ controllers: [ProfileController, WhoAmIController] })
class ProfileModule {}

describe.each(ADAPTERS)('identity changes are apart from data (%s)', (adapter) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ isGlobal: true }, [ProfileModule], { adapter });
  });
  afterAll(() => t.close());

  const loginBob = async () =>
    sessionCookie(await request(t.app.getHttpServer()).post('/auth/login').send({ username: 'bob', password: 'bob-password' }));
  const status = async (cookie: string, path = '/admin') =>
    (await request(t.app.getHttpServer()).get(path).set('Cookie', cookie)).status;

  it("a request body { role: 'admin', cart } spread into SessionAuth.update cannot change the role: /admin stays 403", async () => {
    const cookie = await loginBob();
    expect(await status(cookie)).toBe(403);
    const body = { role: 'admin', cart: ['sku-1', 'sku-2'] };
    const res = await request(t.app.getHttpServer()).post('/profile/prefs').set('Cookie', cookie).send(body);
    expect(res.status).toBe(200);
    expect(await status(cookie)).toBe(403);
    expect(res.body).toEqual({ before: 'user', role: 'user', username: 'bob', data: body });
    const session = (await request(t.app.getHttpServer()).get('/auth/session').set('Cookie', cookie)).body;
    expect(session).toMatchObject({ userId: 'u-bob', username: 'bob', role: 'user', data: body });
  });

  it('every key of a body is a data key there: username, id and userId too (no identity change, no error)', async () => {
    const cookie = await loginBob();
    const body = { username: 'alice', id: 1, userId: 1, password: 'dropped' };
    const res = await request(t.app.getHttpServer()).post('/profile/prefs').set('Cookie', cookie).send(body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ before: 'user', role: 'user', username: 'bob', data: { username: 'alice', id: 1, userId: 1 } });
    expect((await request(t.app.getHttpServer()).get('/me').set('Cookie', cookie)).body).toMatchObject({
      userId: 'u-bob',
      username: 'bob',
    });
  });

  it('SessionAuth.setIdentity changes the role (a server decision): /admin 403 → 200, the data is left as it was', async () => {
    const cookie = await loginBob();
    await request(t.app.getHttpServer()).post('/profile/prefs').set('Cookie', cookie).send({ theme: 'dark' });
    expect(await status(cookie)).toBe(403);
    const res = await request(t.app.getHttpServer()).post('/profile/promote').set('Cookie', cookie);
    expect(res.body).toEqual({ role: 'admin' });
    expect(await status(cookie)).toBe(200);
    const session = (await request(t.app.getHttpServer()).get('/auth/session').set('Cookie', cookie)).body;
    expect(session).toMatchObject({ username: 'bob', role: 'admin', data: { theme: 'dark' } });
  });

  it('SessionAuth.setIdentity: @CurrentSession() reads the renamed session for the rest of the request; a key left out is kept', async () => {
    const cookie = await loginBob();
    const res = await request(t.app.getHttpServer()).post('/whoami').set('Cookie', cookie);
    expect(res.body).toEqual({ before: 'bob', after: 'robert' });
    const session = (await request(t.app.getHttpServer()).get('/auth/session').set('Cookie', cookie)).body;
    expect(session).toMatchObject({ username: 'robert', role: 'user' });
  });

  it('SessionService.update(token, { role }) still changes the role (the public contract); updateData(token, { role }) does not', async () => {
    const cookie = await loginBob();
    const service = t.app.get(SessionService);
    const asData = await service.updateData(tokenOf(cookie), { role: 'admin', username: 'mallory' });
    expect(asData).toMatchObject({ role: 'user', username: 'bob', data: { role: 'admin', username: 'mallory' } });
    expect(await status(cookie)).toBe(403);
    const updated = await service.update(tokenOf(cookie), { role: 'admin', username: 'bobby', plan: 'pro' });
    expect(updated).toMatchObject({
      role: 'admin',
      username: 'bobby',
      data: { role: 'admin', username: 'mallory', plan: 'pro' },
    });
    expect(await status(cookie)).toBe(200);
    await service.update(tokenOf(cookie), { role: null });
    expect(await status(cookie)).toBe(403);
  });

  it('SessionOps cannot target the identity through the data-only call: they change data keys of those names', async () => {
    const cookie = await loginBob();
    const service = t.app.get(SessionService);
    const updated = await service.updateData(tokenOf(cookie), {
      role: SessionOps.append('admin'),
      username: SessionOps.increment(),
    });
    expect(updated).toMatchObject({ role: 'user', username: 'bob', data: { role: ['admin'], username: 1 } });
    expect(await status(cookie)).toBe(403);
  });

  it('setIdentity takes username and role only, as strings: data, ops and other kinds are a TypeError, nothing written', async () => {
    const cookie = await loginBob();
    const auth = t.app.get(SessionAuth);
    const req = { headers: { cookie } } as unknown as HttpRequestLike;
    const bad: unknown[] = [
      { role: 'admin', cart: ['x'] },
      { userId: 1 },
      { role: SessionOps.append('admin') },
      { role: ['admin'] },
      { role: 'a'.repeat(257) },
      null,
      ['admin'],
    ];
    for (const identity of bad) {
      await expect(auth.setIdentity(req, identity as { role?: string })).rejects.toThrow(TypeError);
    }
    const session = await t.app.get(SessionService).get(tokenOf(cookie));
    expect(session).toMatchObject({ username: 'bob', role: 'user' });
    expect(session?.data).toBeUndefined();
    expect(await auth.setIdentity(req, { role: 'admin', username: undefined })).toMatchObject({ role: 'admin', username: 'bob' });
  });
});
