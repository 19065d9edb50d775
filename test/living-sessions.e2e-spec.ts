import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, HttpCode, Module, Post, UseGuards } from '@nestjs/common';
import request from 'supertest';
import { Roles, SessionGuard, SessionService } from '../src/index.js';
import { CartController } from './readme-examples/cart.controller.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { sessionCookie, tokenOf } from './support/http.js';

/** The README's cart (test/readme-examples/cart.controller.ts) and role-change examples: the session changes after login. */
@Controller('shop')
@UseGuards(SessionGuard)
class ShopController {
  constructor(private readonly sessions: SessionService) {}

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

@Module({ controllers: [ShopController, CartController] })
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

  it('a guarded handler updates its own session (the README cart): the next request sees it, the token stays', async () => {
    const cookie = await login('bob');
    const http = request(t.app.getHttpServer());
    expect((await http.post('/cart').set('Cookie', cookie).send({ sku: 'a' })).body).toEqual({ cart: ['a'] });
    const second = await http.post('/cart').set('Cookie', cookie).send({ sku: 'b' });
    expect(second.body).toEqual({ cart: ['a', 'b'] });
    expect(second.headers['set-cookie']).toBeUndefined();
    expect((await http.delete('/cart/a').set('Cookie', cookie)).body).toEqual({ cart: ['b'] });
    expect((await http.get('/auth/session').set('Cookie', cookie)).body.data).toEqual({ cart: ['b'] });
    expect((await http.post('/cart').send({ sku: 'c' })).status).toBe(401);
  });

  it('the README cart: 100 concurrent POST /cart of one session lose no item', async () => {
    const cookie = await login('bob');
    const http = t.app.getHttpServer();
    const skus = Array.from({ length: 100 }, (_, i) => `sku-${i}`);
    const replies = await Promise.all(skus.map((sku) => request(http).post('/cart').set('Cookie', cookie).send({ sku })));
    expect(replies.map((r) => r.status)).toEqual(skus.map(() => 201));
    const cart = (await request(http).get('/auth/session').set('Cookie', cookie)).body.data.cart as string[];
    const lost = skus.filter((sku) => !cart.includes(sku));
    process.stdout.write(`README cart (${adapter}): 100 concurrent POST /cart, ${lost.length} items lost\n`);
    expect(lost).toEqual([]);
    expect([...cart].sort()).toEqual([...skus].sort());
  });

  it('a cart that is no array answers 409 (not 500), and is left as it was', async () => {
    const cookie = await login('bob');
    await t.app.get(SessionService).update(tokenOf(cookie), { cart: 'not-a-list' });
    const http = request(t.app.getHttpServer());
    const res = await http.post('/cart').set('Cookie', cookie).send({ sku: 'a' });
    expect(res.status).toBe(409);
    expect(res.body.message).toContain('"cart"');
    expect((await http.delete('/cart/a').set('Cookie', cookie)).status).toBe(409);
    expect((await http.get('/auth/session').set('Cookie', cookie)).body.data).toEqual({ cart: 'not-a-list' });
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
