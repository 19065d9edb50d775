import { Injectable } from '@nestjs/common';
import { SessionCounters, type Measured } from '../core/counters.js';
import { SessionService } from '../core/service.js';
import { identityPatch } from '../core/session-patch.js';
import type { IssuedSession, Session, SessionCreateOptions, SessionPatch, SessionUser } from '../core/types.js';
import { SessionCsrf } from '../http/csrf.js';
import type { GuardedRequest } from '../http/guard.js';
import { SESSION_REQUEST_KEY } from '../http/metadata.js';
import type { HttpRequestLike } from '../http/request.js';
import { SessionTransport } from '../http/transport.js';
import { SessionIssuer } from './session-issuer.js';
import type { LoginResponse } from './types.js';

/** `signIn`: a successful login when it returns; its errors are not login attempts. */
const SIGN_IN: Measured = { series: 'login', success: 'success', failure: () => null };

/**
 * Sessions for sign-in routes of the app's own (an OAuth/SSO callback, a magic link, a
 * passkey, "switch user"), with everything `POST /auth/login` does after the password check:
 * the session the request carried is ended (fixation), the new one is issued, and the
 * session cookie and the CSRF cookie are set with the module's attributes (name, `__Host-`,
 * Secure, SameSite, Path, Domain). An answer that sets or clears the cookies is sent with
 * `Cache-Control: no-store`, as the built-in routes are. A signed-in session's data changes
 * with `update` (data only: safe for what a client sent), its role or name with `setIdentity`.
 *
 * `request` and `response` are the platform's own (Express or Fastify): take them with
 * `@Req()` and `@Res({ passthrough: true })`.
 */
@Injectable()
export class SessionAuth {
  constructor(
    private readonly sessions: SessionService,
    private readonly transport: SessionTransport,
    private readonly csrf: SessionCsrf,
    private readonly issuer: SessionIssuer,
    private readonly counters: SessionCounters,
  ) {}

  /**
   * Signs `user` in: ends every session the request carries, creates a new one (with the
   * request's IP and user agent), sets the cookies, and returns what `POST /auth/login`
   * answers: `{ user, session }`, plus `token` with the bearer transports and `csrfToken`
   * with `csrf.doubleSubmit`. Counted as a successful login in the metrics; emits
   * `session.created`. Sends `Cache-Control: no-store`, as `POST /auth/login` does. Check the
   * user's identity before calling it: it trusts `user`.
   * `options`: lifetimes of this session's own and a persistent cookie ("remember me").
   */
  async signIn(
    request: HttpRequestLike,
    response: unknown,
    user: SessionUser,
    options?: SessionCreateOptions,
  ): Promise<LoginResponse> {
    return this.counters.measure(SIGN_IN, () => this.issuer.issue(request, response, user, options));
  }

  /**
   * Signs out: ends every session the request carries and tells the browser to drop the
   * cookies (and, per `clearSiteData`, what it kept for the site), with `Cache-Control:
   * no-store` as `POST /auth/logout` sends. Refuses a cross-site
   * request carried by a cookie with a 403, as `POST /auth/logout` does. True if a session
   * was ended.
   */
  async signOut(request: HttpRequestLike, response: unknown): Promise<boolean> {
    if (!this.transport.hasBearer(request)) this.csrf.checkOrigin(request);
    const ended = await this.issuer.endSessions(request);
    this.issuer.endClientSide(response);
    return ended;
  }

  /**
   * A new token for the request's session (same user, data and deadlines; the old token
   * stops working), with the cookies set again and `Cache-Control: no-store`. Null when the
   * request carries no live session. `session.rotated` is emitted.
   */
  async rotate(request: HttpRequestLike, response: unknown): Promise<IssuedSession | null> {
    const token = this.currentToken(request);
    if (token === null) return null;
    const issued = await this.sessions.rotate(token);
    if (issued) this.issuer.setCookies(response, issued);
    return issued;
  }

  /**
   * Merges `data` into the custom data of the request's session (`SessionService.updateData`):
   * a cart, preferences. Data only: every key is a data key stored under `session.data`,
   * `username` and `role` included, so what a client sent (a request body) can never make its
   * session someone else or an admin; change those with `setIdentity`. `null`/`undefined`
   * removes a key; `SessionOps` apply. The session `@CurrentSession()` reads for the rest of
   * this request is the updated one. Null when the request carries no live session. No cookie
   * changes: the token stays.
   */
  async update(request: HttpRequestLike, data: Record<string, unknown>): Promise<Session | null> {
    const token = this.currentToken(request);
    if (token === null) return null;
    return this.keep(request, await this.sessions.updateData(token, data));
  }

  /**
   * Changes the identity of the request's session: its `username` and/or `role` (the one
   * `@Roles()` checks), `null` removing one, a key left out (or `undefined`) keeping it
   * (`SessionService.update`). Nothing else: any other key is a TypeError, and so is a value
   * that is not a string of at most 256 characters. Pass values your code decided (after its
   * own check), never a client's input. `@CurrentSession()` reads the updated session for the
   * rest of this request. Null when the request carries no live session; the token stays (after
   * a privilege change, `rotate` as well).
   */
  async setIdentity(request: HttpRequestLike, identity: Pick<SessionPatch, 'username' | 'role'>): Promise<Session | null> {
    const patch = identityPatch(identity);
    const token = this.currentToken(request);
    if (token === null) return null;
    return this.keep(request, await this.sessions.update(token, patch));
  }

  /** The token the request carries (cookie or bearer, per `transport`); null without one, or with two session cookies. */
  currentToken(request: HttpRequestLike): string | null {
    return this.transport.extract(request).token;
  }

  /** The updated session, where `@CurrentSession()` reads it when the guard put one there. */
  private keep(request: HttpRequestLike, session: Session | null): Session | null {
    const guarded = request as GuardedRequest;
    if (session && guarded[SESSION_REQUEST_KEY]) guarded[SESSION_REQUEST_KEY] = session;
    return session;
  }
}
