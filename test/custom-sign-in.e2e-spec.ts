import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpCode, HttpStatus, Module, Post, Query, Req, Res, UnauthorizedException } from '@nestjs/common';
import request from 'supertest';
import { Public, SessionAuth, type SessionModuleOptions, type SessionUser } from '../src/index.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { sessionCookie, setCookies, tokenOf } from './support/http.js';

/** What an identity provider's code exchange would vouch for (a stand-in for the OAuth round-trip). */
const IDENTITIES: Record<string, SessionUser> = {
  'code-for-dana': { id: 'google|1234', username: 'dana@example.com', role: 'user', provider: 'google' },
};

/**
 * The README's custom sign-in recipe: an OAuth callback that ends in SessionAuth.signIn. No
 * `@Header('Cache-Control', 'no-store')` of its own: SessionAuth sends it whenever it sets or
 * clears the cookies, as the built-in /auth routes do.
 */
@Controller('sso')
class SsoController {
  constructor(private readonly auth: SessionAuth) {}

  @Public()
  @Get('callback')
  async callback(@Query('code') code: unknown, @Req() req: never, @Res({ passthrough: true }) res: unknown) {
    const user = typeof code === 'string' && Object.hasOwn(IDENTITIES, code) ? IDENTITIES[code] : undefined;
    if (!user) throw new UnauthorizedException('Sign-in failed');
    return this.auth.signIn(req, res, user);
  }

  @Public()
  @Post('rotate')
  @HttpCode(HttpStatus.OK)
  async rotate(@Req() req: never, @Res({ passthrough: true }) res: unknown) {
    const issued = await this.auth.rotate(req, res);
    if (!issued) throw new UnauthorizedException('No session to rotate');
    return { sessionId: issued.session.id };
  }

  @Public()
  @Post('sign-out')
  @HttpCode(HttpStatus.NO_CONTENT)
  async signOut(@Req() req: never, @Res({ passthrough: true }) res: unknown) {
    await this.auth.signOut(req, res);
  }

  @Public()
  @Get('token')
  token(@Req() req: never) {
    return { token: this.auth.currentToken(req) };
  }
}

@Module({ controllers: [SsoController] })
class SsoModule {}

/** Set-Cookie attributes after the name=value part, in order. */
const attributesOf = (setCookie: string) => setCookie.split('; ').slice(1);

describe.each(ADAPTERS)('custom sign-in routes with SessionAuth (%s)', (adapter) => {
  const setUp = (options: Partial<SessionModuleOptions> = {}) =>
    createTestApp({ isGlobal: true, ...options }, [SsoModule], { adapter });

  describe('cookie transport', () => {
    let t: TestApp;
    let server: ReturnType<TestApp['app']['getHttpServer']>;
    beforeAll(async () => {
      t = await setUp();
      server = t.app.getHttpServer();
    });
    afterAll(() => t.close());

    it('signIn issues a session the guard accepts, with the cookie POST /auth/login would set', async () => {
      const res = await request(server).get('/sso/callback?code=code-for-dana');
      expect(res.status).toBe(200);
      expect(res.body.user).toEqual({ id: 'google|1234', username: 'dana@example.com', role: 'user', provider: 'google' });
      expect(res.body.token).toBeUndefined(); // cookie transport: the token stays in the HttpOnly cookie
      expect(res.headers['cache-control']).toBe('no-store'); // as POST /auth/login sends
      const [cookie] = setCookies(res);
      const login = await request(server).post('/auth/login').send({ username: 'bob', password: 'bob-password' });
      expect(attributesOf(cookie)).toEqual(attributesOf(setCookies(login)[0]));
      const me = await request(server).get('/me').set('Cookie', sessionCookie(res));
      expect([me.status, me.body.username, me.body.sessionId]).toEqual([200, 'dana@example.com', res.body.session.id]);
      expect(await t.redis.zscore(`${t.prefix}user:google|1234`, res.body.session.id)).not.toBeNull();
    });

    it('signIn ends the session the request carried (fixation), as a login does', async () => {
      const before = sessionCookie(await request(server).post('/auth/login').send({ username: 'bob', password: 'bob-password' }));
      const res = await request(server).get('/sso/callback?code=code-for-dana').set('Cookie', before);
      expect(res.status).toBe(200);
      expect((await request(server).get('/me').set('Cookie', before)).status).toBe(401);
      expect((await request(server).get('/me').set('Cookie', sessionCookie(res))).status).toBe(200);
    });

    it('a refused sign-in sets no cookie and creates no session', async () => {
      const keysBefore = (await t.redis.keys(`${t.prefix}*`)).length;
      const res = await request(server).get('/sso/callback?code=forged');
      expect(res.status).toBe(401);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect((await t.redis.keys(`${t.prefix}*`)).length).toBe(keysBefore);
    });

    it("currentToken reads the request's token; rotate swaps it for a new one and the old one stops working", async () => {
      const signedIn = await request(server).get('/sso/callback?code=code-for-dana');
      const cookie = sessionCookie(signedIn);
      expect((await request(server).get('/sso/token').set('Cookie', cookie)).body).toEqual({ token: tokenOf(cookie) });
      expect((await request(server).get('/sso/token')).body).toEqual({ token: null });
      const rotated = await request(server).post('/sso/rotate').set('Cookie', cookie);
      expect(rotated.status).toBe(200);
      expect(rotated.headers['cache-control']).toBe('no-store');
      const next = sessionCookie(rotated);
      expect(next).not.toBe(cookie);
      expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(401);
      const me = await request(server).get('/me').set('Cookie', next);
      expect([me.status, me.body.username, me.body.sessionId]).toEqual([200, 'dana@example.com', rotated.body.sessionId]);
      expect((await request(server).post('/sso/rotate')).status).toBe(401);
    });

    it('signOut ends the session and clears the cookie; a cross-site sign-out is refused and ends nothing', async () => {
      const cookie = sessionCookie(await request(server).get('/sso/callback?code=code-for-dana'));
      const crossSite = await request(server)
        .post('/sso/sign-out')
        .set('Cookie', cookie)
        .set('Sec-Fetch-Site', 'cross-site')
        .set('Origin', 'https://evil.example');
      expect(crossSite.status).toBe(403);
      expect(crossSite.headers['set-cookie']).toBeUndefined();
      expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(200);
      const out = await request(server).post('/sso/sign-out').set('Cookie', cookie);
      expect(out.status).toBe(204);
      expect(out.headers['cache-control']).toBe('no-store'); // as POST /auth/logout sends
      expect(setCookies(out)[0]).toMatch(/^sid=; .*Max-Age=0/);
      expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(401);
    });
  });

  it('with the __Host- preset and double-submit CSRF: the same cookies as a login, and the CSRF token', async () => {
    const t = await setUp({ cookie: { hostPrefix: true }, csrf: { doubleSubmit: true } });
    try {
      const server = t.app.getHttpServer();
      const res = await request(server).get('/sso/callback?code=code-for-dana');
      expect(res.status).toBe(200);
      const cookies = setCookies(res);
      expect(cookies.map((c) => c.split('=')[0])).toEqual(['__Host-sid', '__Host-sid_csrf']);
      expect(cookies[1]).toContain(`=${res.body.csrfToken};`);
      expect(cookies[0]).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
      const me = await request(server).get('/me').set('Cookie', sessionCookie(res, '__Host-sid'));
      expect(me.status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it("with transport 'bearer': signIn returns the token, which the guard accepts, and sets no cookie", async () => {
    const t = await setUp({ transport: 'bearer' });
    try {
      const server = t.app.getHttpServer();
      const res = await request(server).get('/sso/callback?code=code-for-dana');
      expect(res.status).toBe(200);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(typeof res.body.token).toBe('string');
      expect(res.headers['cache-control']).toBe('no-store'); // the token is in the body
      const me = await request(server).get('/me').set('Authorization', `Bearer ${res.body.token}`);
      expect([me.status, me.body.username]).toEqual([200, 'dana@example.com']);
    } finally {
      await t.close();
    }
  });
});
