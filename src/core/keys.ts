import { hash } from 'node:crypto';
import { ipBucket, normalizeUsername } from './throttle-subject.js';
import { isSessionId } from './token.js';

/**
 * THE Redis key layout: every key the module writes is named here, by the store, the login
 * throttle, the expiry subscriber, the CLI and the benchmarks alike. The README's "Redis key
 * layout" section describes `KEY_LAYOUT` (test/key-layout.int-spec.ts holds them together).
 *
 * Every key starts with the `keyPrefix` option (default `session:`). The shapes never
 * overlap: a session id is 22 base64url characters with no `:`, and every other key has a
 * `:` right after its kind (`user:`, `throttle:`).
 */

/** One row of the layout, as the README and `nestjs-redis-session stats` show it. */
export interface KeyKind {
  kind: 'session' | 'user-index' | 'throttle-ip' | 'throttle-user';
  /** The key's name, with `<prefix>` for `keyPrefix`. */
  pattern: string;
  type: 'STRING' | 'ZSET';
  what: string;
  ttl: string;
}

export const KEY_LAYOUT: readonly KeyKind[] = [
  {
    kind: 'session',
    pattern: '<prefix><id>',
    type: 'STRING',
    what: 'one session (JSON); <id> is the public session id, a hash of the token',
    ttl: 'the idle timeout, capped by the absolute deadline; slid by every guarded request',
  },
  {
    kind: 'user-index',
    pattern: '<prefix>user:<userId>',
    type: 'ZSET',
    what: "the user's session ids, scored by absolute deadline (ms)",
    ttl: 'that of its longest-lived member',
  },
  {
    kind: 'throttle-ip',
    pattern: '<prefix>throttle:ip:<address>',
    type: 'STRING',
    what: 'failed logins from one IPv4 address or IPv6 /64',
    ttl: 'loginThrottle.perIp.windowSeconds from the first attempt',
  },
  {
    kind: 'throttle-user',
    pattern: '<prefix>throttle:user:<hash>',
    type: 'STRING',
    what: 'failed logins for one username (SHA-256 of the normalised name, never the name)',
    ttl: 'loginThrottle.perUsername.windowSeconds from the first attempt',
  },
];

/** A session's key: `<prefix><id>`. */
export function sessionKey(keyPrefix: string, id: string): string {
  return keyPrefix + id;
}

/**
 * Where a rotated session's old id leads, for a few seconds after the rotation:
 * `<prefix>moved:<22 characters of SHA-256 of the old id>`, holding the new id masked by the
 * old one (rotation-marker.ts), so the key names neither id in the clear (no key mentions an
 * ended session's id) and only who knows the old id can follow it. Not a row of `KEY_LAYOUT`
 * (its kinds are the CLI's `stats` fields): the README's "Redis key layout" describes it under
 * the table, and `kindOfKey` reports it as none of the rows.
 */
export function forwardKey(keyPrefix: string, oldId: string): string {
  return `${keyPrefix}moved:${hash('sha256', `moved:${oldId}`, 'base64url').slice(0, 22)}`;
}

/** The session id a key names, or null for any other key (an index, a counter, another app's). */
export function sessionIdOfKey(keyPrefix: string, key: string): string | null {
  if (!key.startsWith(keyPrefix)) return null;
  const id = key.slice(keyPrefix.length);
  return isSessionId(id) ? id : null;
}

/**
 * The pub/sub channel on which session ends are announced (`liveRevocation`): `<prefix>ended`.
 * A channel, not a key: it holds nothing.
 */
export function endedChannel(keyPrefix: string): string {
  return `${keyPrefix}ended`;
}

/** What every login throttle key starts with: `<prefix>throttle:`. */
function throttlePrefix(keyPrefix: string): string {
  return `${keyPrefix}throttle:`;
}

/** The failed-login counter of an IP: `<prefix>throttle:ip:<IPv4, or the /64 of an IPv6 address>`. */
export function throttleIpKey(keyPrefix: string, ip: string): string {
  return `${throttlePrefix(keyPrefix)}ip:${ipBucket(ip)}`;
}

/** The failed-login counter of a username: `<prefix>throttle:user:<22 characters of SHA-256>`; names never reach Redis. */
export function throttleUserKey(keyPrefix: string, username: string): string {
  return `${throttlePrefix(keyPrefix)}user:${hash('sha256', normalizeUsername(username), 'base64url').slice(0, 22)}`;
}

/** Which row of `KEY_LAYOUT` a key under the prefix belongs to; null for a key that is none of the module's. */
export function kindOfKey(keyPrefix: string, key: string): KeyKind['kind'] | null {
  if (!key.startsWith(keyPrefix)) return null;
  if (sessionIdOfKey(keyPrefix, key) !== null) return 'session';
  const rest = key.slice(keyPrefix.length);
  if (rest.startsWith('user:')) return 'user-index';
  if (rest.startsWith('throttle:ip:')) return 'throttle-ip';
  if (rest.startsWith('throttle:user:')) return 'throttle-user';
  return null;
}

/** A string user id that a number id would print as, or one that starts with `"`: such ids are quoted. */
const NEEDS_QUOTES = /^(?:-?\d+$|")/;

/**
 * The part of a user's index key after `<prefix>user:`: distinct for distinct user ids, the
 * number `1` and the string `"1"` included (they are different users to the app).
 *
 * - a number (a safe integer, as `SessionUser.id` requires): its decimal form, `1`, `-7`;
 * - a string that looks like an integer (`/^-?\d+$/`) or starts with `"`: its JSON form, `"1"`;
 * - any other string, as it is: `u-bob`.
 *
 * Numbers always print as an integer and quoted strings always start with `"`, and the strings
 * left as they are do neither, so two ids never share a key. Existing keys of number ids and of
 * non-numeric string ids are the same as before this encoding; a string id that looks like an
 * integer moved from `user:1` to `user:"1"` (before, it shared `user:1` with the number).
 *
 * Throws a TypeError for anything else (a number that is not a safe integer, `NaN`, a non-string):
 * no session can have such an id, and `String()` of it could name another user's index.
 */
export function userIndexSegment(userId: string | number): string {
  checkUserId(userId);
  if (typeof userId === 'number') return String(userId);
  return NEEDS_QUOTES.test(userId) ? JSON.stringify(userId) : userId;
}

/**
 * Throws a TypeError unless `userId` is a string or a safe integer: the ids a session can have
 * (`SessionUser.id` is checked the same way at login, apart from its length), and the ids that
 * `userIndexSegment` names an index for.
 */
export function checkUserId(userId: unknown): asserts userId is string | number {
  if (typeof userId === 'string' || (typeof userId === 'number' && Number.isSafeInteger(userId))) return;
  throw new TypeError(
    `a user id must be a string or a safe integer (got ${typeof userId === 'number' ? userId : typeof userId})`,
  );
}

/** What every user index key starts with: `<prefix>user:`. */
export function userIndexPrefix(keyPrefix: string): string {
  return `${keyPrefix}user:`;
}

/** The user's index (a ZSET of their session ids): `<prefix>user:<userIndexSegment(userId)>`. */
export function userIndexKey(keyPrefix: string, userId: string | number): string {
  return userIndexPrefix(keyPrefix) + userIndexSegment(userId);
}
