import { hash, randomFillSync } from 'node:crypto';

/**
 * Token format: `<secret>.<deadline>` or `<secret>.<deadline>.<idle>`
 * - secret: 32 bytes (256 bits) from the CSPRNG, base64url (43 characters);
 * - deadline: the session's absolute expiry, epoch milliseconds in base 36;
 * - idle: the session's own idle timeout in seconds, base 36, when it has one ("remember
 *   me"); without it the module's `ttl` applies (every token issued before it existed).
 *
 * The Redis key is `<prefix><id>` where id = the first 22 characters (132 bits) of
 * base64url(SHA-256(token)),
 * so Redis never holds the token and a dump of Redis lets nobody in. The deadline
 * and the idle timeout ride in the token because the guard's single native command
 * (`GETEX ... PX`) must know the capped TTL before it sees the session; both are covered by
 * the hash, so a client that edits them only names a key that does not exist.
 */
const SECRET_BYTES = 32;
const SECRET_LENGTH = 43;
const MAX_TOKEN_LENGTH = SECRET_LENGTH + 1 + 11 + 1 + 7;
// Anchored and free of nested quantifiers: linear time on any input.
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}\.[0-9a-z]{1,11}(?:\.[0-9a-z]{1,7})?$/;
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

/**
 * A fresh token for a session that ends at `absoluteExpiresAtMs`; `idleTtlSeconds` when the
 * session has an idle timeout of its own.
 */
export function generateToken(absoluteExpiresAtMs: number, idleTtlSeconds?: number): string {
  const token = `${nextSecret()}.${absoluteExpiresAtMs.toString(36)}`;
  return idleTtlSeconds === undefined ? token : `${token}.${idleTtlSeconds.toString(36)}`;
}

/**
 * The idle timeout (ms) a well-formed token carries, or 0 when it carries none. Call it on
 * a token `tokenDeadline` accepted.
 */
export function tokenIdleTtlMs(token: string): number {
  const dot = token.indexOf('.', SECRET_LENGTH + 1);
  return dot < 0 ? 0 : parseInt(token.slice(dot + 1), 36) * 1000;
}

/**
 * The absolute deadline (epoch ms) carried by a well-formed token, or `-1` for
 * anything else (wrong type, length, characters): such input never reaches Redis.
 */
export function tokenDeadline(token: unknown): number {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !TOKEN_FORMAT.test(token)) return -1;
  // parseInt stops at the second dot, if any.
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

/**
 * What the hot path works out from one token, kept where the same token comes back again and
 * again (a socket's handshake, whose headers never change): its id (a SHA-256) and deadline,
 * valid only for `token` (a guard hook may read another token from a message).
 */
export interface TokenMemo {
  token?: string;
  id?: string;
  deadline?: number;
}

/** Makes `memo` describe `token` (its deadline, and its id when the token is well-formed), working them out only for a token it did not describe. */
export function rememberToken(memo: TokenMemo, token: string): void {
  if (memo.token === token) return;
  const deadline = tokenDeadline(token);
  memo.token = token;
  memo.deadline = deadline;
  memo.id = deadline < 0 ? undefined : sessionIdOf(token);
}

/** True for a string shaped like a public session id. */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID_FORMAT.test(value);
}
