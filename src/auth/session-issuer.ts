import { Inject, Injectable } from '@nestjs/common';
import { SessionService } from '../core/service.js';
import { toPublicUser } from '../core/stored-user.js';
import type { IssuedSession, SessionCreateOptions, SessionUser } from '../core/types.js';
import { SessionCookies } from '../http/cookies.js';
import { SessionCsrf } from '../http/csrf.js';
import { requestContext, setResponseHeader, type HttpRequestLike } from '../http/request.js';
import { SessionTransport } from '../http/transport.js';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import type { LoginResponse } from './types.js';

/**
 * Internal (not exported from the package): the steps a sign-in and a sign-out are made of,
 * shared by `SessionAuth` (the public API), `LoginService` (`POST /auth/login`) and
 * `AuthController` (logout, revoke, log out everywhere). Counts nothing: each caller decides
 * what is a login attempt.
 */
@Injectable()
export class SessionIssuer {
  constructor(
    private readonly sessions: SessionService,
    private readonly transport: SessionTransport,
    private readonly cookies: SessionCookies,
    private readonly csrf: SessionCsrf,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly config: ResolvedSessionOptions,
  ) {}

  /**
   * Ends every session the request carries (fixation), creates one for `user` with the
   * request's IP and user agent, sets the cookies, and returns the login response.
   */
  async issue(
    request: HttpRequestLike,
    response: unknown,
    user: SessionUser,
    options?: SessionCreateOptions,
  ): Promise<LoginResponse> {
    // Session fixation: whatever token came with the request is ended, never reused.
    await this.endSessions(request);
    const issued = await this.sessions.create(user, requestContext(request), options);
    const csrfToken = this.setCookies(response, issued);
    const result: LoginResponse = { user: toPublicUser(issued.session), session: issued.session };
    if (this.transport.usesBearer) result.token = issued.token;
    if (csrfToken !== undefined) result.csrfToken = csrfToken;
    return result;
  }

  /** Ends every session the request carries (every copy of the cookie too). True if one was live. */
  async endSessions(request: HttpRequestLike): Promise<boolean> {
    const ended = await Promise.all(this.transport.extractAll(request).map((token) => this.sessions.destroy(token)));
    return ended.includes(true);
  }

  /**
   * The client's side of a logout: the browser drops the cookies and what it kept for the site;
   * `Cache-Control: no-store`, as on every `/auth` answer.
   */
  endClientSide(response: unknown): void {
    noStore(response);
    if (this.config.clearSiteData) setResponseHeader(response, 'Clear-Site-Data', this.config.clearSiteData);
    if (!this.transport.usesCookie) return;
    this.cookies.clearCookie(response);
    if (this.csrf.doubleSubmit) this.csrf.clearCookie(response);
  }

  /**
   * Sets the session cookie (and the CSRF cookie) for an issued session; returns the CSRF token
   * if any. `Cache-Control: no-store` whatever the transport: the answer carries a new token (a
   * cookie, or a bearer token in its body), which no cache may keep and hand to someone else.
   */
  setCookies(response: unknown, issued: IssuedSession): string | undefined {
    noStore(response);
    if (!this.transport.usesCookie) return undefined;
    this.cookies.setCookie(response, issued.token, issued.session.absoluteExpiresAt, issued.persistentCookie);
    if (!this.csrf.doubleSubmit) return undefined;
    const csrfToken = this.csrf.tokenFor(issued.token);
    this.csrf.setCookie(response, csrfToken);
    return csrfToken;
  }
}

/** What the built-in `/auth` routes send (`@Header('Cache-Control', 'no-store')`), for the app's own routes. */
function noStore(response: unknown): void {
  setResponseHeader(response, 'Cache-Control', 'no-store');
}
