/**
 * Names of the Redis keys the module writes (see README "Redis key layout"). Every user index
 * key is built here, by the store, the CLI and the benchmarks alike; the other key names are
 * meant to move here too.
 */

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
