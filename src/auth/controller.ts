import {
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Post,
  Req,
  Res,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { SessionCounters } from '../core/counters.js';
import { DEFAULT_LIST_LIMIT } from '../core/page.js';
import { SessionService } from '../core/service.js';
import type { Session, SessionListItem } from '../core/types.js';
import { CurrentSession } from '../http/decorators/current-session.js';
import { Public } from '../http/decorators/public.js';
import { SessionGuard } from '../http/guard.js';
import { setResponseHeader, type HttpRequestLike } from '../http/request.js';
import { SessionUnavailableInterceptor } from '../http/unavailable-interceptor.js';
import {
  AuthControllerDocs,
  CurrentSessionDocs,
  ListSessionsDocs,
  LoginDocs,
  LogoutAllDocs,
  LogoutDocs,
  RevokeSessionDocs,
} from './openapi/auth-docs.js';
import { LOGIN_BODY_CHECK, readLoginBody, type LoginBodyRequest } from './dto/login-body.js';
import { nextPageTarget, parseListQuery } from './list-query.js';
import { LoginService } from './login-service.js';
import { SessionAuth } from './session-auth.js';
import { SessionIssuer } from './session-issuer.js';
import type { LoginResponse } from './types.js';

/**
 * `/auth` routes: login, logout, the current session, the user's sessions, log out
 * everywhere. Routes only: the login itself is `LoginService`'s.
 */
@AuthControllerDocs()
@Controller('auth')
// A 503 (Redis unavailable) carries Retry-After.
@UseInterceptors(SessionUnavailableInterceptor)
export class AuthController {
  constructor(
    private readonly sessions: SessionService,
    private readonly logins: LoginService,
    private readonly auth: SessionAuth,
    private readonly issuer: SessionIssuer,
    private readonly counters: SessionCounters,
  ) {}

  /**
   * 200 with `{ user, session }` (+ `token` for bearer transport) and the cookie; 400 for a
   * bad body (over 8 KB, not an object of two strings, failing LoginDto); 415 for a body
   * that is not JSON; 429 with `Retry-After` after too many failed logins for the username
   * or from the IP (slowed down before that); 401 for bad credentials (the same answer for
   * an unknown user and a wrong password). Always a fresh session: any session the request
   * carried is destroyed.
   */
  @LoginDocs()
  @Public()
  @Post('login')
  @Header('Cache-Control', 'no-store')
  @HttpCode(HttpStatus.OK)
  async login(
    @Req() request: HttpRequestLike & LoginBodyRequest,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<LoginResponse> {
    const body = await this.counters.measure(LOGIN_BODY_CHECK, () => readLoginBody(request));
    return this.logins.login(body, request, response);
  }

  /** 204, always: ends the session the request carries (if any) and clears the cookie. */
  @LogoutDocs()
  @Public()
  @Post('logout')
  @Header('Cache-Control', 'no-store')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logout(@Req() request: HttpRequestLike, @Res({ passthrough: true }) response: unknown): Promise<void> {
    // A cross-site page must not be able to log the user out (a nuisance, and a step in
    // login-CSRF chains), whether or not the cookie came: with SameSite=Lax a cross-site form
    // POST carries none, yet the answer would clear it and the site's storage
    // (Clear-Site-Data). A bearer token is never sent by a browser on its own: no CSRF there.
    await this.auth.signOut(request, response);
  }

  /** 200 with the current session; 401 without one. */
  @CurrentSessionDocs()
  @UseGuards(SessionGuard)
  @Get('session')
  @Header('Cache-Control', 'no-store')
  current(@CurrentSession() session: Session): Session {
    return session;
  }

  /**
   * 200 with a page of the user's live sessions, newest first, each flagged `current`:
   * `?limit=` (1 to 1000, default 100) and `?cursor=` (from the previous page). While more
   * remain: `Link: <path?limit=N&cursor=C>; rel="next"` and `X-Next-Cursor: C`. 400 for a bad
   * limit or cursor. The body stays a plain array.
   */
  @ListSessionsDocs()
  @UseGuards(SessionGuard)
  @Get('sessions')
  @Header('Cache-Control', 'no-store')
  async list(
    @CurrentSession() session: Session,
    @Req() request: HttpRequestLike & { query?: unknown; originalUrl?: unknown; url?: unknown },
    @Res({ passthrough: true }) response: unknown,
  ): Promise<SessionListItem[]> {
    const options = parseListQuery(request.query);
    const page = await this.sessions.listPage(session.userId, options);
    if (page.nextCursor !== null) {
      const target = nextPageTarget(request, options.limit ?? DEFAULT_LIST_LIMIT, page.nextCursor);
      setResponseHeader(response, 'Link', `<${target}>; rel="next"`);
      setResponseHeader(response, 'X-Next-Cursor', page.nextCursor);
    }
    return page.sessions.map((item) => ({ ...item, current: item.id === session.id }));
  }

  /** 204 after revoking one of the user's own sessions; 404 for any other id. */
  @RevokeSessionDocs()
  @UseGuards(SessionGuard)
  @Delete('sessions/:id')
  @Header('Cache-Control', 'no-store')
  @HttpCode(HttpStatus.NO_CONTENT)
  async revoke(
    @CurrentSession() session: Session,
    @Param('id') id: string,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<void> {
    const revoked = await this.sessions.revoke(session.userId, id);
    if (!revoked) throw new NotFoundException('No such session');
    if (id === session.id) this.issuer.endClientSide(response);
  }

  /** 204 after revoking every session of the user, the current one included. */
  @LogoutAllDocs()
  @UseGuards(SessionGuard)
  @Post('logout-all')
  @Header('Cache-Control', 'no-store')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logoutAll(@CurrentSession() session: Session, @Res({ passthrough: true }) response: unknown): Promise<void> {
    await this.sessions.revokeAll(session.userId);
    this.issuer.endClientSide(response);
  }
}
