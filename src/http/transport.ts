import { Inject, Injectable } from '@nestjs/common';
import { SESSION_CONFIG } from './metadata.js';
import { AMBIGUOUS, cookieAttributeSuffix, cookieValues, readCookie } from './cookies.js';
import type { ResolvedSessionOptions, SessionTransportKind } from '../options/options.js';

/** The request and response shapes the module touches; Express and Fastify both fit. */
export interface HttpRequestLike {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
  ip?: string;
  socket?: { remoteAddress?: string };
}

type HeaderSetter =
  | { append(name: string, value: string): unknown } // Express
  | { header(name: string, value: string): unknown } // Fastify reply
  | { setHeader(name: string, value: string | string[]): unknown; getHeader(name: string): unknown };

/** What a request presented: the token to use, or why there is none. */
export type TokenLookup =
  | { token: string; fromCookie: boolean; ambiguous?: never }
  | { token: null; ambiguous: boolean };

const NONE: TokenLookup = { token: null, ambiguous: false };
const AMBIGUOUS_LOOKUP: TokenLookup = { token: null, ambiguous: true };
const EXPIRED_DATE = 'Thu, 01 Jan 1970 00:00:00 GMT';

/**
 * Reads the token from a request and writes the session cookie, per `transport`.
 * Header strings that never change are built once here, at boot.
 */
@Injectable()
export class SessionTransport {
  readonly kind: SessionTransportKind;
  private readonly cookieName: string;
  private readonly readsCookie: boolean;
  private readonly readsBearer: boolean;
  private readonly suffix: string;
  private readonly clearValue: string;
  private readonly persistent: boolean;
  /** Name of the readable double-submit cookie: `<cookie.name>_csrf`. */
  readonly csrfCookieName: string;
  private readonly csrfSuffix: string;
  private readonly csrfClearValue: string;

  constructor(@Inject(SESSION_CONFIG) config: ResolvedSessionOptions) {
    this.kind = config.transport;
    this.cookieName = config.cookie.name;
    this.readsCookie = config.transport !== 'bearer';
    this.readsBearer = config.transport !== 'cookie';
    this.suffix = cookieAttributeSuffix(config.cookie);
    this.persistent = config.cookie.persistent;
    this.clearValue = `${this.cookieName}=${this.suffix}; Max-Age=0; Expires=${EXPIRED_DATE}`;
    this.csrfCookieName = `${this.cookieName}_csrf`;
    this.csrfSuffix = cookieAttributeSuffix(config.cookie, false);
    this.csrfClearValue = `${this.csrfCookieName}=${this.csrfSuffix}; Max-Age=0; Expires=${EXPIRED_DATE}`;
  }

  /** True when the login response sets a cookie / carries the token in its body. */
  get usesCookie(): boolean {
    return this.readsCookie;
  }

  get usesBearer(): boolean {
    return this.readsBearer;
  }

  /**
   * The token the request carries. A bearer header wins over the cookie (`'both'`).
   * More than one session cookie is ambiguous and yields no token.
   */
  extract(request: HttpRequestLike): TokenLookup {
    const headers = request.headers;
    if (this.readsBearer) {
      const bearer = parseBearer(headers.authorization);
      if (bearer !== null) return { token: bearer, fromCookie: false };
    }
    if (this.readsCookie) {
      const cookie = headers.cookie;
      const value = readCookie(typeof cookie === 'string' ? cookie : undefined, this.cookieName);
      if (value === AMBIGUOUS) return AMBIGUOUS_LOOKUP;
      if (value) return { token: value, fromCookie: true };
    }
    return NONE;
  }

  /** True when the request carries a bearer token this transport reads. */
  hasBearer(request: HttpRequestLike): boolean {
    return this.readsBearer && parseBearer(request.headers.authorization) !== null;
  }

  /** Every token the request presents (all copies of the cookie too): what logout and login destroy. */
  extractAll(request: HttpRequestLike): string[] {
    const tokens: string[] = [];
    if (this.readsBearer) {
      const bearer = parseBearer(request.headers.authorization);
      if (bearer) tokens.push(bearer);
    }
    const cookie = request.headers.cookie;
    if (this.readsCookie && typeof cookie === 'string') {
      for (const value of cookieValues(cookie, this.cookieName)) if (value) tokens.push(value);
    }
    return tokens;
  }

  /** Sets the session cookie; a persistent cookie lasts until the absolute deadline. */
  setCookie(response: unknown, token: string, absoluteExpiresAt: Date): void {
    let value = `${this.cookieName}=${token}${this.suffix}`;
    if (this.persistent) {
      const maxAge = Math.max(0, Math.floor((absoluteExpiresAt.getTime() - Date.now()) / 1000));
      value += `; Max-Age=${maxAge}`;
    }
    appendSetCookie(response as HeaderSetter, value);
  }

  /** Tells the browser to drop the session cookie (`Max-Age=0` and a past `Expires`). */
  clearCookie(response: unknown): void {
    appendSetCookie(response as HeaderSetter, this.clearValue);
  }

  /** Sets the double-submit CSRF cookie (readable by page scripts, same attributes otherwise). */
  setCsrfCookie(response: unknown, value: string): void {
    appendSetCookie(response as HeaderSetter, `${this.csrfCookieName}=${value}${this.csrfSuffix}`);
  }

  clearCsrfCookie(response: unknown): void {
    appendSetCookie(response as HeaderSetter, this.csrfClearValue);
  }
}

/** Sets a response header on Express or Fastify. */
export function setResponseHeader(response: unknown, name: string, value: string): void {
  const target = response as { setHeader?: (n: string, v: string) => unknown; header?: (n: string, v: string) => unknown };
  if (typeof target.setHeader === 'function' && !('raw' in (response as object))) target.setHeader(name, value);
  else if (typeof target.header === 'function') target.header(name, value);
}

function parseBearer(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string' || header.length < 8) return null;
  // The scheme is case-insensitive (RFC 9110 §11.1).
  if (header.charCodeAt(6) !== 32 || header.slice(0, 6).toLowerCase() !== 'bearer') return null;
  const token = header.slice(7).trim();
  return token.length > 0 ? token : null;
}

function appendSetCookie(response: HeaderSetter, value: string): void {
  if ('append' in response && typeof response.append === 'function') {
    response.append('Set-Cookie', value);
  } else if ('header' in response && typeof response.header === 'function') {
    response.header('set-cookie', value); // Fastify appends set-cookie values
  } else if ('setHeader' in response) {
    const previous = response.getHeader('set-cookie');
    const list = previous === undefined ? [] : Array.isArray(previous) ? previous : [String(previous)];
    response.setHeader('set-cookie', [...list, value]);
  }
}
