import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  ForbiddenException,
  Get,
  Injectable,
  Module,
  UnauthorizedException,
  UseGuards,
  type ExecutionContext,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import request from 'supertest';
import { CurrentSession, Roles, SessionGuard, type GuardedRequest, type Session, type TokenLookup } from '../src/index.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { sessionCookie, tokenOf } from './support/http.js';

/** The README's "Customising the guard" example. */
@Injectable()
class AppSessionGuard extends SessionGuard {
  // A native app sends its token in X-Session-Token; browsers keep using the cookie.
  protected override extractToken(request: GuardedRequest, context: ExecutionContext): TokenLookup {
    const header = request.headers['x-session-token'];
    return typeof header === 'string' && header !== ''
      ? { token: header, fromCookie: false }
      : super.extractToken(request, context);
  }

  // An admin may use every route a lower role may.
  protected override hasRole(session: Session, roles: readonly string[]): boolean {
    return session.role === 'admin' || super.hasRole(session, roles);
  }

  // A 401 body the app's frontend understands; 403s as usual.
  protected override onUnauthenticated(
    context: ExecutionContext,
    exception: UnauthorizedException | ForbiddenException,
  ): boolean {
    if (exception instanceof UnauthorizedException) {
      return super.onUnauthenticated(context, new UnauthorizedException({ code: 'LOGIN_REQUIRED', login: '/auth/login' }));
    }
    return super.onUnauthenticated(context, exception);
  }
}

@Controller('app')
@UseGuards(AppSessionGuard)
class AppController {
  @Get('me')
  me(@CurrentSession('username') username: string | null) {
    return { username };
  }

  @Roles('editor')
  @Get('edit')
  edit() {
    return { edit: true };
  }
}

@Module({ controllers: [AppController], providers: [AppSessionGuard] })
class AppFeatureModule {}

const alice = { username: 'alice', password: 'alice-password' }; // role admin
const bob = { username: 'bob', password: 'bob-password' }; // role user

describe.each(ADAPTERS)('SessionGuard subclassed through its protected hooks (%s)', (adapter) => {
  let t: TestApp;
  let server: ReturnType<TestApp['app']['getHttpServer']>;
  beforeAll(async () => {
    t = await createTestApp({ isGlobal: true }, [AppFeatureModule], { adapter });
    server = t.app.getHttpServer();
  });
  afterAll(() => t.close());

  it('extractToken: a token in X-Session-Token is accepted; the cookie still works', async () => {
    const login = await request(server).post('/auth/login').send(bob);
    const token = tokenOf(sessionCookie(login));
    const byHeader = await request(server).get('/app/me').set('X-Session-Token', token);
    expect([byHeader.status, byHeader.body]).toEqual([200, { username: 'bob' }]);
    const byCookie = await request(server).get('/app/me').set('Cookie', sessionCookie(login));
    expect([byCookie.status, byCookie.body]).toEqual([200, { username: 'bob' }]);
    // The header is not a way around validation: a made-up token is a 401.
    expect(
      (
        await request(server)
          .get('/app/me')
          .set('X-Session-Token', `${token.slice(0, -3)}xyz`)
      ).status,
    ).toBe(401);
  });

  it("onUnauthenticated: the 401 carries the app's body, with Cache-Control: no-store", async () => {
    const res = await request(server).get('/app/me');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ code: 'LOGIN_REQUIRED', login: '/auth/login' });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('hasRole: an admin passes an editor route; a user gets the usual 403', async () => {
    const admin = sessionCookie(await request(server).post('/auth/login').send(alice));
    const user = sessionCookie(await request(server).post('/auth/login').send(bob));
    expect((await request(server).get('/app/edit').set('Cookie', admin)).status).toBe(200);
    const refused = await request(server).get('/app/edit').set('Cookie', user);
    expect([refused.status, refused.body.message]).toEqual([403, 'Insufficient role']);
  });
});

/** The README's other way: the same subclass for every route, instead of `globalGuard: true`. */
@Module({ providers: [{ provide: APP_GUARD, useClass: AppSessionGuard }] })
class GlobalAppGuardModule {}

describe.each(ADAPTERS)('the same subclass installed for every route with APP_GUARD, globalGuard off (%s)', (adapter) => {
  let t: TestApp;
  let server: ReturnType<TestApp['app']['getHttpServer']>;
  beforeAll(async () => {
    t = await createTestApp({ isGlobal: true }, [GlobalAppGuardModule], { adapter });
    server = t.app.getHttpServer();
  });
  afterAll(() => t.close());

  it("a route with no decorator needs a session, refused with the subclass's 401; its hooks apply", async () => {
    const refused = await request(server).get('/open');
    expect([refused.status, refused.body]).toEqual([401, { code: 'LOGIN_REQUIRED', login: '/auth/login' }]);
    expect(refused.headers['cache-control']).toBe('no-store');
    const login = await request(server).post('/auth/login').send(bob);
    expect((await request(server).get('/open').set('Cookie', sessionCookie(login))).status).toBe(200);
    const byHeader = await request(server)
      .get('/global-only')
      .set('X-Session-Token', tokenOf(sessionCookie(login)));
    expect([byHeader.status, byHeader.body]).toEqual([200, { userId: 'u-bob' }]);
  });

  it('a @Public() route needs none', async () => {
    const res = await request(server).get('/public');
    expect([res.status, res.body]).toEqual([200, { public: true }]);
  });

  it('POST /auth/login and /auth/logout stay reachable (@Public in AuthController); the session routes need a session', async () => {
    const login = await request(server).post('/auth/login').send(bob);
    expect(login.status).toBe(200);
    const cookie = sessionCookie(login);
    const anonymous = await request(server).get('/auth/session');
    expect([anonymous.status, anonymous.body]).toEqual([401, { code: 'LOGIN_REQUIRED', login: '/auth/login' }]);
    expect((await request(server).get('/auth/session').set('Cookie', cookie)).status).toBe(200);
    expect((await request(server).post('/auth/logout').set('Cookie', cookie)).status).toBe(204);
    expect((await request(server).post('/auth/logout')).status).toBe(204);
    expect((await request(server).get('/open').set('Cookie', cookie)).status).toBe(401);
  });
});
