import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Module, Post, Req, UseGuards } from '@nestjs/common';
import request from 'supertest';
import { CurrentSession, Roles, SessionAuth, SessionGuard, SessionService, type Session } from '../src/index.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { sessionCookie } from './support/http.js';

/** The README's cart and role-change examples: the session changes after login. */
@Controller('shop')
@UseGuards(SessionGuard)
class ShopController {
  constructor(
    private readonly auth: SessionAuth,
    private readonly sessions: SessionService,
  ) {}

  @Post('cart')
  @HttpCode(200)
  async add(@Req() req: Parameters<SessionAuth['update']>[0], @CurrentSession() session: Session, @Body() body: { sku: string }) {
    const cart = Array.isArray(session.data?.cart) ? (session.data.cart as string[]) : [];
    const updated = await this.auth.update(req, { cart: [...cart, body.sku] });
    return { cart: updated?.data?.cart };
  }

  @Get('cart')
  cart(@CurrentSession('data') data: Record<string, unknown> | undefined) {
    return { cart: data?.cart ?? [] };
  }

  @Roles('admin')
  @Post('demote')
  @HttpCode(200)
  async demote(@Body() body: { userId: string | number }) {
    return { changed: await this.sessions.updateUser(body.userId, { role: 'user' }) };
  }

  @Roles('admin')
  @Get('admin')
  admin() {
    return { admin: true };
  }
}

@Module({ controllers: [ShopController] })
class ShopModule {}

describe.each(ADAPTERS)('sessions that change after login (%s)', (adapter) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ isGlobal: true }, [ShopModule], { adapter });
  });
  afterAll(() => t.close());
  const login = async (username: string) =>
    sessionCookie(
      await request(t.app.getHttpServer())
        .post('/auth/login')
        .send({ username, password: `${username}-password` }),
    );

  it('a guarded handler updates its own session (a cart): the next request sees it, the token stays', async () => {
    const cookie = await login('bob');
    const http = request(t.app.getHttpServer());
    expect((await http.post('/shop/cart').set('Cookie', cookie).send({ sku: 'a' })).body).toEqual({ cart: ['a'] });
    const second = await http.post('/shop/cart').set('Cookie', cookie).send({ sku: 'b' });
    expect(second.body).toEqual({ cart: ['a', 'b'] });
    expect(second.headers['set-cookie']).toBeUndefined();
    expect((await http.get('/shop/cart').set('Cookie', cookie)).body).toEqual({ cart: ['a', 'b'] });
    expect((await http.get('/auth/session').set('Cookie', cookie)).body.data).toEqual({ cart: ['a', 'b'] });
  });

  it('a demotion reaches every device of the user on its very next request', async () => {
    const devices = [await login('alice'), await login('alice'), await login('alice')];
    const http = request(t.app.getHttpServer());
    for (const cookie of devices) expect((await http.get('/shop/admin').set('Cookie', cookie)).status).toBe(200);
    const demoted = await http.post('/shop/demote').set('Cookie', devices[0]).send({ userId: 1 });
    expect(demoted.body.changed).toBeGreaterThanOrEqual(3);
    for (const cookie of devices) {
      expect((await http.get('/shop/admin').set('Cookie', cookie)).status).toBe(403);
      expect((await http.get('/auth/session').set('Cookie', cookie)).body.role).toBe('user');
    }
  });
});
