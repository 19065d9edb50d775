import { createHash, randomBytes } from 'node:crypto';

/**
 * Token format: `<secret>.<deadline>`
 * - secret: 32 bytes (256 bits) from the CSPRNG, base64url (43 characters);
 * - deadline: the session's absolute expiry, epoch milliseconds in base 36.
 *
 * The Redis key is `<prefix><id>` where id = base64url(SHA-256(token))[0..128 bits],
 * so Redis never holds the token and a dump of Redis lets nobody in. The deadline
 * rides in the token because the guard's single native command (`GETEX ... PX`) must
 * know the capped TTL before it sees the session; it is covered by the hash, so a
 * client that edits it only names a key that does not exist.
 */
const SECRET_BYTES = 32;
const SECRET_LENGTH = 43;
const MAX_TOKEN_LENGTH = SECRET_LENGTH + 1 + 11;
// Anchored and free of nested quantifiers: linear time on any input.
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}\.[0-9a-z]{1,11}$/;
const SESSION_ID_FORMAT = /^[A-Za-z0-9_-]{22}$/;

/** A fresh token for a session that ends at `absoluteExpiresAtMs`. */
export function generateToken(absoluteExpiresAtMs: number): string {
  return `${randomBytes(SECRET_BYTES).toString('base64url')}.${absoluteExpiresAtMs.toString(36)}`;
}

/**
 * The absolute deadline (epoch ms) carried by a well-formed token, or `-1` for
 * anything else (wrong type, length, characters): such input never reaches Redis.
 */
export function tokenDeadline(token: unknown): number {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !TOKEN_FORMAT.test(token)) return -1;
  const deadline = parseInt(token.slice(SECRET_LENGTH + 1), 36);
  return Number.isSafeInteger(deadline) ? deadline : -1;
}

/** The public session id of a token: 128 bits of its SHA-256, base64url (22 characters). */
export function sessionIdOf(token: string): string {
  return createHash('sha256').update(token).digest().subarray(0, 16).toString('base64url');
}

/** True for a string shaped like a public session id. */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID_FORMAT.test(value);
}
