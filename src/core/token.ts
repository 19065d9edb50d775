import { hash, randomFillSync } from 'node:crypto';

/**
 * Token format: `<secret>.<deadline>`
 * - secret: 32 bytes (256 bits) from the CSPRNG, base64url (43 characters);
 * - deadline: the session's absolute expiry, epoch milliseconds in base 36.
 *
 * The Redis key is `<prefix><id>` where id = the first 22 characters (132 bits) of
 * base64url(SHA-256(token)),
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

// randomBytes(32) per token costs a call into OpenSSL each time (~3 µs, the largest
// share of a login's CPU); one fill for 256 secrets amortises it. Every byte is
// handed out once; the pool is module-private.
const POOL_SECRETS = 256;
const pool = Buffer.allocUnsafe(SECRET_BYTES * POOL_SECRETS);
let poolOffset = pool.length;

function nextSecret(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const secret = pool.toString('base64url', poolOffset, poolOffset + SECRET_BYTES);
  poolOffset += SECRET_BYTES;
  return secret;
}

/** A fresh token for a session that ends at `absoluteExpiresAtMs`. */
export function generateToken(absoluteExpiresAtMs: number): string {
  return `${nextSecret()}.${absoluteExpiresAtMs.toString(36)}`;
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

/**
 * The public session id of a token: the first 22 base64url characters (132 bits) of its
 * SHA-256. Runs on every guarded request: the one-shot `crypto.hash` is ~5× cheaper
 * than a `createHash` object.
 */
export function sessionIdOf(token: string): string {
  return hash('sha256', token, 'base64url').slice(0, 22);
}

/** True for a string shaped like a public session id. */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID_FORMAT.test(value);
}
