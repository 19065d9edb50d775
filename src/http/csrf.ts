import { Inject, Injectable } from '@nestjs/common';
import { SessionRefusalCode } from '../core/refusal-codes.js';
import { hash, timingSafeEqual } from 'node:crypto';
import { SESSION_DEFAULTS } from '../options/defaults.js';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import { HANDSHAKE_MEMO, type SocketRequest } from './contexts/socket-request.js';
import { clearingValue, cookieAttributeSuffix } from './cookies.js';
import { refusal, type Refusal } from './refusals.js';
import { appendSetCookie, type HttpRequestLike } from './request.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF protection for sessions carried by a cookie (a bearer token is never sent by the
 * browser on its own, so bearer requests need none).
 *
 * The origin check follows the algorithm of Go 1.25's `http.CrossOriginProtection`:
 * safe methods pass; `Sec-Fetch-Site: same-origin` or `none` passes; any other
 * `Sec-Fetch-Site` passes only with a trusted `Origin`; without `Sec-Fetch-Site`, a
 * request with no `Origin` passes (not a browser, or an old one: both refuse to send
 * cross-site cookies with SameSite=Lax anyway), and one with an `Origin` passes when that
 * origin's host is the request's own `Host` or the origin is trusted.
 *
 * The optional double-submit token is derived from the session token (one-way), so it
 * needs no server secret and cannot be computed without the session cookie. Its cookie,
 * `<cookie.name>_csrf`, has the session cookie's attributes but HttpOnly, since page
 * scripts must read it.
 */
@Injectable()
export class SessionCsrf {
  private readonly trusted: ReadonlySet<string>;
  readonly enabled: boolean;
  readonly doubleSubmit: boolean;
  readonly headerName: string;
  /** Name of the readable double-submit cookie: `<cookie.name>_csrf`. */
  readonly cookieName: string;
  private readonly cookieSuffix: string;
  private readonly clearValue: string;

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) config: ResolvedSessionOptions) {
    this.enabled = config.csrf !== null && config.transport !== 'bearer';
    this.trusted = config.csrf?.trustedOrigins ?? new Set();
    this.doubleSubmit = this.enabled && config.csrf?.doubleSubmit === true;
    this.headerName = config.csrf?.headerName ?? SESSION_DEFAULTS.csrf.headerName;
    this.cookieName = `${config.cookie.name}_csrf`;
    this.cookieSuffix = cookieAttributeSuffix(config.cookie, false);
    this.clearValue = clearingValue(this.cookieName, this.cookieSuffix);
  }

  /** The 403 a request that carried the session cookie gets, or null when it may change state. */
  refusal(request: HttpRequestLike, sessionToken: string): Refusal | null {
    if (!this.enabled || SAFE_METHODS.has(request.method ?? 'GET')) return null;
    if (!this.sameOriginOrTrusted(request)) return refusal(SessionRefusalCode.CrossSite);
    if (this.doubleSubmit) {
      const sent = request.headers[this.headerName];
      if (typeof sent !== 'string' || !safeEqual(sent, this.tokenFor(sessionToken))) {
        return refusal(SessionRefusalCode.CsrfTokenInvalid);
      }
    }
    return null;
  }

  /**
   * Whether a cookie-carried request may come from where it says it comes from, whatever its
   * method: what a WebSocket handshake is checked with (cross-site WebSocket hijacking).
   */
  allowsOrigin(request: HttpRequestLike): boolean {
    if (!this.enabled) return true;
    const memo = (request as SocketRequest)[HANDSHAKE_MEMO];
    if (memo === undefined) return this.sameOriginOrTrusted(request);
    // A socket's handshake never changes, so neither does its verdict: a browser's socket sends
    // an Origin, which each message would otherwise parse as a URL again. Kept per module: two
    // may trust different origins.
    if (memo.originBy !== this) {
      memo.originAllowed = this.sameOriginOrTrusted(request);
      memo.originBy = this;
    }
    return memo.originAllowed!;
  }

  /** Only the origin part of the check (what logout uses: it needs no double-submit token). */
  checkOrigin(request: HttpRequestLike): void {
    if (!this.enabled || SAFE_METHODS.has(request.method ?? 'GET')) return;
    if (!this.sameOriginOrTrusted(request)) throw refusal(SessionRefusalCode.CrossSite);
  }

  /** The double-submit token of a session: 192 bits of SHA-256('csrf:' + token), base64url. */
  tokenFor(sessionToken: string): string {
    return hash('sha256', `csrf:${sessionToken}`, 'base64url').slice(0, 32);
  }

  /** Sets the double-submit cookie (readable by page scripts, the session cookie's attributes otherwise). */
  setCookie(response: unknown, value: string): void {
    appendSetCookie(response, `${this.cookieName}=${value}${this.cookieSuffix}`);
  }

  clearCookie(response: unknown): void {
    appendSetCookie(response, this.clearValue);
  }

  private sameOriginOrTrusted(request: HttpRequestLike): boolean {
    const headers = request.headers;
    const origin = headers.origin;
    const site = headers['sec-fetch-site'];
    if (typeof site === 'string') {
      if (site === 'same-origin' || site === 'none') return true;
      return typeof origin === 'string' && this.trusted.has(origin.toLowerCase());
    }
    if (origin === undefined) return true;
    if (typeof origin !== 'string') return false;
    if (this.trusted.has(origin.toLowerCase())) return true;
    const host = headers.host;
    return typeof host === 'string' && originHost(origin) === host.toLowerCase();
  }
}

function originHost(origin: string): string | null {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : null;
  } catch {
    return null;
  }
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
