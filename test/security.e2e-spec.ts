import { describe, expect, it } from '@jest/globals';
import { Controller, Module, Post, UseGuards } from '@nestjs/common';
import request from 'supertest';
import { RequireFreshSession, SessionGuard } from '../src/index.js';
import { ADAPTERS, createTestApp, onEachAdapter } from './support/app.js';
import { sessionCookie } from './support/http.js';
import { sleep } from './support/redis.js';

@Controller('account')
@UseGuards(SessionGuard)
class AccountController {
  @RequireFreshSession(1)
  @Post('email')
  changeEmail() {
    return { changed: true };
  }

  @Post('theme')
  changeTheme() {
    return { changed: true };
  }
}

@Module({ controllers: [AccountController] })
class AccountModule {}

const alice = { username: 'alice', password: 'alice-password' };

describe('@RequireFreshSession (ASVS 3.7.1: re-authentication before sensitive actions)', () => {
  // Mostly a wait for the login to age: both platforms run side by side.
  it('403 once the login is older than maxAgeSeconds; a new login makes it fresh again (Express and Fastify)', () =>
    onEachAdapter(async (adapter) => {
      const t = await createTestApp({ isGlobal: true }, [AccountModule], { adapter });
      try {
        const http = t.app.getHttpServer();
        const cookie = sessionCookie(await request(http).post('/auth/login').send(alice));
        expect((await request(http).post('/account/email').set('Cookie', cookie)).status).toBe(201);
        await sleep(1200);
        const stale = await request(http).post('/account/email').set('Cookie', cookie);
        expect(stale.status).toBe(403);
        expect(stale.body.message).toBe('Recent login required');
        // The session itself is fine for everything else.
        expect((await request(http).post('/account/theme').set('Cookie', cookie)).status).toBe(201);
        const fresh = sessionCookie(await request(http).post('/auth/login').send(alice).set('Cookie', cookie));
        expect((await request(http).post('/account/email').set('Cookie', fresh)).status).toBe(201);
      } finally {
        await t.close();
      }
    }));

  it('refuses a bad maxAgeSeconds when the decorator is applied', () => {
    expect(() => RequireFreshSession(0)).toThrow(TypeError);
    expect(() => RequireFreshSession(1.5)).toThrow(TypeError);
  });
});

describe.each(ADAPTERS)('logout tells the browser to forget the site (Clear-Site-Data) (%s)', (adapter) => {
  it('logout, logout-all and revoking the current session send it; routes are never cached', async () => {
    const t = await createTestApp({}, [], { adapter });
    try {
      const http = t.app.getHttpServer();
      const login = await request(http).post('/auth/login').send(alice);
      expect(login.headers['cache-control']).toBe('no-store');
      const cookie = sessionCookie(login);
      expect((await request(http).get('/auth/session').set('Cookie', cookie)).headers['cache-control']).toBe('no-store');
      expect((await request(http).get('/auth/sessions').set('Cookie', cookie)).headers['cache-control']).toBe('no-store');
      const out = await request(http).post('/auth/logout').set('Cookie', cookie);
      expect(out.headers['clear-site-data']).toBe('"cache", "cookies", "storage"');
      const second = sessionCookie(await request(http).post('/auth/login').send(alice));
      const all = await request(http).post('/auth/logout-all').set('Cookie', second);
      expect(all.headers['clear-site-data']).toBe('"cache", "cookies", "storage"');
      const third = await request(http).post('/auth/login').send(alice);
      const revokeSelf = await request(http)
        .delete(`/auth/sessions/${third.body.session.id}`)
        .set('Cookie', sessionCookie(third));
      expect(revokeSelf.status).toBe(204);
      expect(revokeSelf.headers['clear-site-data']).toBe('"cache", "cookies", "storage"');
    } finally {
      await t.close();
    }
  });

  it('clearSiteData: false sends none; a custom value is sent as given', async () => {
    const off = await createTestApp({ clearSiteData: false }, [], { adapter });
    const custom = await createTestApp({ clearSiteData: '"cookies"' }, [], { adapter });
    try {
      expect((await request(off.app.getHttpServer()).post('/auth/logout')).headers['clear-site-data']).toBeUndefined();
      expect((await request(custom.app.getHttpServer()).post('/auth/logout')).headers['clear-site-data']).toBe('"cookies"');
    } finally {
      await off.close();
      await custom.close();
    }
  });
});
