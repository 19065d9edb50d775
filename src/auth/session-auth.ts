import { Inject, Injectable } from '@nestjs/common';
import { SessionService } from '../core/service.js';
import { toPublicUser } from '../core/stored-user.js';
import type { IssuedSession, Session, SessionCreateOptions, SessionPatch, SessionUser } from '../core/types.js';
import { SessionCookies } from '../http/cookies.js';
import { SessionCsrf } from '../http/csrf.js';
import type { GuardedRequest } from '../http/guard.js';
import { SESSION_REQUEST_KEY } from '../http/metadata.js';
import { requestContext, setResponseHeader, type HttpRequestLike } from '../http/request.js';
import { SessionTransport } from '../http/transport.js';
import { SessionMetrics } from '../integrations/metrics/metrics.js';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import type { LoginResponse } from './types.js';

/**
 * Sessions for sign-in routes of the app's own (an OAuth/SSO callback, a magic link, a
 * passkey, "switch user"), with everything `POST /auth/login` does after the password check:
 * the session the request carried is ended (fixation), the new one is issued, and the
 * session cookie and the CSRF cookie are set with the module's attributes (name, `__Host-`,
 * Secure, SameSite, Path, Domain). `AuthController` uses it too.
 *
 * `request` and `response` are the platform's own (Express or Fastify): take them with
 * `@Req()` and `@Res({ passthrough: true })`.
 */
@Injectable()
export class SessionAuth {
  constructor(
    private readonly sessions: SessionService,
    private readonly transport: SessionTransport,
    private readonly cookies: SessionCookies,
    private readonly csrf: SessionCsrf,
    private readonly metrics: SessionMetrics,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly config: ResolvedSessionOptions,
  ) {}

  /**
   * Signs `user` in: ends every session the request carries, creates a new one (with the
   * request's IP and user agent), sets the cookies, and returns what `POST /auth/login`
   * answers: `{ user, session }`, plus `token` with the bearer transports and `csrfToken`
   * with `csrf.doubleSubmit`. Counted as a successful login in the metrics; emits
   * `session.created`. Check the user's identity before calling it: it trusts `user`.
   * `options`: lifetimes of this session's own and a persistent cookie ("remember me").
   */
  async signIn(
    request: HttpRequestLike,
    response: unknown,
    user: SessionUser,
    options?: SessionCreateOptions,
  ): Promise<LoginResponse> {
    const startedAt = this.metrics.enabled ? performance.now() : 0;
    const result = await this.issue(request, response, user, options);
    if (this.metrics.enabled) this.metrics.login('success', startedAt);
    return result;
  }

  /**
   * Signs out: ends every session the request carries and tells the browser to drop the
   * cookies (and, per `clearSiteData`, what it kept for the site). Refuses a cross-site
   * request carried by a cookie with a 403, as `POST /auth/logout` does. True if a session
   * was ended.
   */
  async signOut(request: HttpRequestLike, response: unknown): Promise<boolean> {
    if (!this.transport.hasBearer(request)) this.csrf.checkOrigin(request);
    const ended = await this.endSessions(request);
    this.endClientSide(response);
    return ended;
  }

  /**
   * A new token for the request's session (same user, data and deadlines; the old token
   * stops working), with the cookies set again. Null when the request carries no live
   * session. `session.rotated` is emitted.
   */
  async rotate(request: HttpRequestLike, response: unknown): Promise<IssuedSession | null> {
    const token = this.currentToken(request);
    if (token === null) return null;
    const issued = await this.sessions.rotate(token);
    if (issued) this.setCookies(response, issued);
    return issued;
  }

  /**
   * Changes the request's session in place (`SessionService.update`): a cart, preferences, a
   * role. The session `@CurrentSession()` reads for the rest of this request is the updated
   * one. Null when the request carries no live session. No cookie changes: the token stays.
   */
  async update(request: HttpRequestLike, patch: SessionPatch): Promise<Session | null> {
    const token = this.currentToken(request);
    if (token === null) return null;
    const session = await this.sessions.update(token, patch);
    const guarded = request as GuardedRequest;
    if (session && guarded[SESSION_REQUEST_KEY]) guarded[SESSION_REQUEST_KEY] = session;
    return session;
  }

  /** The token the request carries (cookie or bearer, per `transport`); null without one, or with two session cookies. */
  currentToken(request: HttpRequestLike): string | null {
    return this.transport.extract(request).token;
  }

  /** `signIn` without the metric: `POST /auth/login` counts its own attempts. */
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

  /** The client's side of a logout: the browser drops the cookies and what it kept for the site. */
  endClientSide(response: unknown): void {
    if (this.config.clearSiteData) setResponseHeader(response, 'Clear-Site-Data', this.config.clearSiteData);
    if (!this.transport.usesCookie) return;
    this.cookies.clearCookie(response);
    if (this.csrf.doubleSubmit) this.csrf.clearCookie(response);
  }

  /** Sets the session cookie (and the CSRF cookie) for an issued session; returns the CSRF token if any. */
  private setCookies(response: unknown, issued: IssuedSession): string | undefined {
    if (!this.transport.usesCookie) return undefined;
    this.cookies.setCookie(response, issued.token, issued.session.absoluteExpiresAt, issued.persistentCookie);
    if (!this.csrf.doubleSubmit) return undefined;
    const csrfToken = this.csrf.tokenFor(issued.token);
    this.csrf.setCookie(response, csrfToken);
    return csrfToken;
  }
}
