import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import { AMBIGUOUS, cookieValues, readCookie } from './cookies.js';
import { HANDSHAKE_MEMO, type SocketRequest } from './contexts/socket-request.js';
import type { HttpRequestLike } from './request.js';

/** What a request presented: the token to use, or why there is none. */
export type TokenLookup = { token: string; fromCookie: boolean; ambiguous?: never } | { token: null; ambiguous: boolean };

const NONE: TokenLookup = { token: null, ambiguous: false };
const AMBIGUOUS_LOOKUP: TokenLookup = { token: null, ambiguous: true };

/**
 * Finds the session token in a request, per `transport`: the session cookie, an
 * `Authorization: Bearer` header, or both (bearer first). Writing cookies is cookies.ts's job.
 */
@Injectable()
export class SessionTransport {
  private readonly cookieName: string;
  private readonly readsCookie: boolean;
  private readonly readsBearer: boolean;

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) config: ResolvedSessionOptions) {
    this.cookieName = config.cookie.name;
    this.readsCookie = config.transport !== 'bearer';
    this.readsBearer = config.transport !== 'cookie';
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
    const memo = (request as SocketRequest)[HANDSHAKE_MEMO];
    if (memo === undefined) return this.read(request.headers);
    // Kept per transport: two modules in one app may read different cookies from one handshake.
    if (memo.lookupBy !== this) {
      memo.lookup = this.read(request.headers);
      memo.lookupBy = this;
    }
    return memo.lookup!;
  }

  private read(headers: HttpRequestLike['headers']): TokenLookup {
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
}

function parseBearer(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string' || header.length < 8) return null;
  // The scheme is case-insensitive (RFC 9110 §11.1).
  if (header.charCodeAt(6) !== 32 || header.slice(0, 6).toLowerCase() !== 'bearer') return null;
  const token = header.slice(7).trim();
  return token.length > 0 ? token : null;
}
