import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import { appendSetCookie } from './request.js';

/** Result of looking for one cookie in a Cookie header. */
export const AMBIGUOUS = Symbol('ambiguous');

/**
 * Finds cookie `name` in a Cookie header without regular expressions (no
 * backtracking on hostile input) and without decoding the other cookies.
 * Returns the value, `null` when absent, or `AMBIGUOUS` when the name appears more
 * than once (cookie tossing: a sibling subdomain can plant a second one).
 * Node joins repeated Cookie headers with '; ', so they are covered too.
 */
export function readCookie(header: string | undefined, name: string): string | null | typeof AMBIGUOUS {
  const values = cookieValues(header, name, 2);
  return values.length === 0 ? null : values.length === 1 ? values[0] : AMBIGUOUS;
}

/** Every value of cookie `name` in a Cookie header (at most `max`), in linear time. */
export function cookieValues(header: string | undefined, name: string, max = Infinity): string[] {
  const values: string[] = [];
  if (!header) return values;
  let start = 0;
  // The next '=' at or after `start`, found once and reused while it lies ahead,
  // so a header of many cookies without '=' is not rescanned for each of them.
  let eq = -2;
  const length = header.length;
  while (start < length && values.length < max) {
    let end = header.indexOf(';', start);
    if (end === -1) end = length;
    if (eq !== -1 && eq < start) eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end) {
      let keyStart = start;
      let keyEnd = eq;
      while (keyStart < keyEnd && isSpace(header.charCodeAt(keyStart))) keyStart++;
      while (keyEnd > keyStart && isSpace(header.charCodeAt(keyEnd - 1))) keyEnd--;
      if (keyEnd - keyStart === name.length && header.startsWith(name, keyStart)) {
        let valueStart = eq + 1;
        let valueEnd = end;
        while (valueStart < valueEnd && isSpace(header.charCodeAt(valueStart))) valueStart++;
        while (valueEnd > valueStart && isSpace(header.charCodeAt(valueEnd - 1))) valueEnd--;
        // RFC 6265 allows the value in double quotes.
        if (valueEnd - valueStart >= 2 && header.charCodeAt(valueStart) === 34 && header.charCodeAt(valueEnd - 1) === 34) {
          valueStart++;
          valueEnd--;
        }
        values.push(header.slice(valueStart, valueEnd));
      }
    }
    start = end + 1;
  }
  return values;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9;
}

/** Attributes of a Set-Cookie header, built once at boot. */
interface CookieAttributes {
  path: string;
  domain: string | undefined;
  secure: boolean;
  sameSite: 'lax' | 'strict' | 'none';
}

/**
 * `; Path=/; HttpOnly; Secure; SameSite=Lax` — the tail shared by every Set-Cookie we send.
 * `httpOnly: false` only for the double-submit CSRF cookie, which page scripts must read.
 */
export function cookieAttributeSuffix(attributes: CookieAttributes, httpOnly = true): string {
  let suffix = `; Path=${attributes.path}`;
  if (attributes.domain) suffix += `; Domain=${attributes.domain}`;
  if (httpOnly) suffix += '; HttpOnly';
  if (attributes.secure) suffix += '; Secure';
  suffix += `; SameSite=${attributes.sameSite[0].toUpperCase()}${attributes.sameSite.slice(1)}`;
  return suffix;
}

const EXPIRED_DATE = 'Thu, 01 Jan 1970 00:00:00 GMT';

/**
 * Writes the session cookie with the module's attributes (name, `__Host-`, Secure,
 * SameSite, Path, Domain, persistence). The header strings that never change are built
 * once, at boot.
 */
@Injectable()
export class SessionCookies {
  private readonly name: string;
  private readonly suffix: string;
  private readonly clearValue: string;
  private readonly persistent: boolean;

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) config: ResolvedSessionOptions) {
    this.name = config.cookie.name;
    this.suffix = cookieAttributeSuffix(config.cookie);
    this.persistent = config.cookie.persistent;
    this.clearValue = clearingValue(this.name, this.suffix);
  }

  /**
   * Sets the session cookie; a persistent cookie (`cookie.persistent`, or `persistent` for a
   * "remember me" session) lasts until the absolute deadline.
   */
  setCookie(response: unknown, token: string, absoluteExpiresAt: Date, persistent = false): void {
    let value = `${this.name}=${token}${this.suffix}`;
    if (this.persistent || persistent) {
      const maxAge = Math.max(0, Math.floor((absoluteExpiresAt.getTime() - Date.now()) / 1000));
      value += `; Max-Age=${maxAge}`;
    }
    appendSetCookie(response, value);
  }

  /** Tells the browser to drop the session cookie (`Max-Age=0` and a past `Expires`). */
  clearCookie(response: unknown): void {
    appendSetCookie(response, this.clearValue);
  }
}

/** The Set-Cookie value that drops a cookie set with the same name and attributes. */
export function clearingValue(name: string, suffix: string): string {
  return `${name}=${suffix}; Max-Age=0; Expires=${EXPIRED_DATE}`;
}
