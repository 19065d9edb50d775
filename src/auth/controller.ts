import {
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  NotFoundException,
  NotImplementedException,
  Param,
  Post,
  Req,
  Res,
  ServiceUnavailableException,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import {
  AuthControllerDocs,
  CurrentSessionDocs,
  ListSessionsDocs,
  LoginDocs,
  LogoutAllDocs,
  LogoutDocs,
  RevokeSessionDocs,
} from '../integrations/openapi/auth-docs.js';
import { CurrentSession } from '../http/decorators/current-session.js';
import { Public } from '../http/decorators/public.js';
import { readLoginBody, type LoginBodyRequest } from './dto/login-body.js';
import { LoginDto } from './dto/login.js';
import { SESSION_CONFIG } from '../http/metadata.js';
import { SessionCsrf } from '../http/csrf.js';
import { SessionLoginThrottle } from './login-throttle.js';
import { SessionMetrics, type LoginResult } from '../integrations/metrics/metrics.js';
import { SessionGuard } from '../http/guard.js';
import type { ResolvedSessionOptions } from '../options/options.js';
import { SessionService } from '../core/service.js';
import { DEFAULT_LIST_LIMIT, nextPageTarget, parseListQuery } from '../core/page.js';
import { SessionTransport, setResponseHeader, type HttpRequestLike } from '../http/transport.js';
import type { Session, SessionListItem, SessionUser } from '../core/types.js';
import { MAX_USER_AGENT_LENGTH, toPublicUser } from '../core/stored-user.js';

/** The body of a successful login. */
export interface LoginResponse {
  user: SessionUser;
  session: Session;
  /** Present when `transport` is `'bearer'` or `'both'`. */
  token?: string;
  /** With `csrf.doubleSubmit`: the value to echo in the CSRF header (also in the `<cookie.name>_csrf` cookie). */
  csrfToken?: string;
}

const INVALID_CREDENTIALS = 'Invalid username or password';

/** `/auth` routes: login, logout, the current session, the user's sessions, log out everywhere. */
@AuthControllerDocs()
@Controller('auth')
export class AuthController {
  constructor(
    private readonly sessions: SessionService,
    private readonly transport: SessionTransport,
    private readonly csrf: SessionCsrf,
    private readonly throttle: SessionLoginThrottle,
    private readonly metrics: SessionMetrics,
    @Inject(SESSION_CONFIG) private readonly config: ResolvedSessionOptions,
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
  async login(@Req() request: HttpRequestLike & LoginBodyRequest, @Res({ passthrough: true }) response: unknown): Promise<LoginResponse> {
    const startedAt = this.metrics.enabled ? performance.now() : 0;
    let body: LoginDto;
    try {
      body = await readLoginBody(request);
    } catch (err) {
      if (this.metrics.enabled) this.metrics.login('invalid', startedAt);
      throw err;
    }
    if (!this.metrics.enabled) return this.authenticate(body, request, response);
    try {
      const result = await this.authenticate(body, request, response);
      this.metrics.login('success', startedAt);
      return result;
    } catch (err) {
      this.metrics.login(loginResult(err), startedAt);
      throw err;
    }
  }

  private async authenticate(body: LoginDto, request: HttpRequestLike, response: unknown): Promise<LoginResponse> {
    const validate = this.config.validateCredentials;
    if (!validate) {
      throw new NotImplementedException('Login is not configured: set validateCredentials in SessionModule options');
    }
    const context = requestContext(request);
    const verdict = await this.throttle.attempt(body.username, context.ip);
    if (verdict.retryAfterSeconds !== null) {
      setResponseHeader(response, 'Retry-After', String(verdict.retryAfterSeconds));
      throw new HttpException('Too many failed logins, try again later', HttpStatus.TOO_MANY_REQUESTS);
    }
    if (verdict.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, verdict.delayMs));
    let user: SessionUser | null;
    try {
      user = await validate({ username: body.username, password: body.password }, context);
    } catch (err) {
      // A 4xx is the app's "no" (Nest apps throw UnauthorizedException for a wrong password):
      // it counts. Anything else (the user database is down, a bug) is not a guess: refunded.
      // Not awaited, so the error is not delayed by a Redis timeout; the refund is sent anyway.
      if (!isClientError(err)) void this.throttle.refund(body.username, context.ip);
      throw err;
    }
    if (!user) throw new UnauthorizedException(INVALID_CREDENTIALS);
    await this.throttle.succeeded(body.username, context.ip);
    // Session fixation: whatever token came with the login is ended, never reused.
    await Promise.all(this.transport.extractAll(request).map((token) => this.sessions.destroy(token)));
    const { token, session } = await this.sessions.create(user, context);
    if (this.transport.usesCookie) this.transport.setCookie(response, token, session.absoluteExpiresAt);
    const result: LoginResponse = { user: toPublicUser(session), session };
    if (this.transport.usesBearer) result.token = token;
    if (this.csrf.doubleSubmit) {
      result.csrfToken = this.csrf.tokenFor(token);
      this.transport.setCsrfCookie(response, result.csrfToken);
    }
    return result;
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
    if (!this.transport.hasBearer(request)) this.csrf.checkOrigin(request);
    await Promise.all(this.transport.extractAll(request).map((token) => this.sessions.destroy(token)));
    this.clearCookies(response);
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
    if (id === session.id) this.clearCookies(response);
  }

  /** 204 after revoking every session of the user, the current one included. */
  @LogoutAllDocs()
  @UseGuards(SessionGuard)
  @Post('logout-all')
  @Header('Cache-Control', 'no-store')
  @HttpCode(HttpStatus.NO_CONTENT)
  async logoutAll(@CurrentSession() session: Session, @Res({ passthrough: true }) response: unknown): Promise<void> {
    await this.sessions.revokeAll(session.userId);
    this.clearCookies(response);
  }

  /** The client's side of a logout: the browser drops the cookie and what it kept for the site. */
  private clearCookies(response: unknown): void {
    if (this.config.clearSiteData) setResponseHeader(response, 'Clear-Site-Data', this.config.clearSiteData);
    if (!this.transport.usesCookie) return;
    this.transport.clearCookie(response);
    if (this.csrf.doubleSubmit) this.transport.clearCsrfCookie(response);
  }
}

/** The metric label of a login that failed after its body was accepted. */
function loginResult(err: unknown): LoginResult {
  if (err instanceof ServiceUnavailableException) return 'unavailable';
  if (!(err instanceof HttpException)) return 'error';
  if (err.getStatus() === HttpStatus.TOO_MANY_REQUESTS) return 'throttled';
  // 401, or another 4xx the app's validateCredentials threw (e.g. 403 for a locked account).
  return isClientError(err) ? 'failure' : 'error';
}

function isClientError(err: unknown): err is HttpException {
  if (!(err instanceof HttpException)) return false;
  const status = err.getStatus();
  return status >= 400 && status < 500;
}

function requestContext(request: HttpRequestLike): { ip: string | undefined; userAgent: string | undefined } {
  const userAgent = request.headers['user-agent'];
  return {
    ip: request.ip ?? request.socket?.remoteAddress,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, MAX_USER_AGENT_LENGTH) : undefined,
  };
}
