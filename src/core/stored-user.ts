import type { StoredSession } from './codec.js';
import type { Session, SessionContext, SessionUser } from './types.js';

const MAX_ID_LENGTH = 256;
const MAX_NAME_LENGTH = 256;
const MAX_IP_LENGTH = 64;
/** Real browser user agents are ~100–250 bytes; the rest is noise that costs Redis memory. */
export const MAX_USER_AGENT_LENGTH = 512;
export const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export const isPasswordKey = (key: string) => key.toLowerCase().includes('password');

/**
 * The key of a `SessionOp` (session-patch.ts) that holds it as lua/update-1.lua reads it. Only a
 * top-level data key of an update patch takes an op: `cleanData` refuses one anywhere else.
 */
export const OP_TEXT: unique symbol = Symbol('SessionOp');

/**
 * Copies custom data, dropping password-ish keys at any depth (no password or hash is
 * ever stored) and prototype-pollution keys; functions and undefined are left out.
 */
export function cleanData(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null || value instanceof Date) return value;
  if (OP_TEXT in value) {
    throw new TypeError('a SessionOps operator applies to a top-level data key of an update patch only');
  }
  // Checked before going down, arrays included: data nested 50,000 levels deep must fail
  // here, not overflow the stack.
  if (depth > 16) throw new TypeError('session data nests more than 16 levels deep');
  if (Array.isArray(value)) return value.map((item) => cleanData(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (isPasswordKey(key) || FORBIDDEN_KEYS.has(key) || item === undefined || typeof item === 'function') continue;
    out[key] = cleanData(item, depth + 1);
  }
  return out;
}

/**
 * Every guarded request reads the whole session: a session that grew to hold a cart of
 * product records costs each request its bytes, in Redis memory and on the wire.
 */
function checkDataSize(data: Record<string, unknown>, maxDataBytes: number): void {
  const bytes = Buffer.byteLength(JSON.stringify(data));
  if (bytes > maxDataBytes) {
    throw new RangeError(
      `session data is ${bytes} bytes encoded (JSON), over maxDataBytes (${maxDataBytes}): keep large ` +
        'data in your database and its id in the session, or raise maxDataBytes in SessionModule options',
    );
  }
}

export function optionalString(user: { username?: unknown; role?: unknown }, key: 'username' | 'role'): string | null {
  const value = user[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > MAX_NAME_LENGTH) {
    throw new TypeError(`SessionUser.${key} must be a string of at most ${MAX_NAME_LENGTH} characters`);
  }
  return value;
}

/**
 * Validates the app's `SessionUser` and turns it into what is stored. Throws TypeError on a
 * bad user, RangeError when its custom data encodes to more than `maxDataBytes`.
 */
export function toStoredSession(
  user: SessionUser,
  context: SessionContext | undefined,
  createdAt: number,
  absoluteExpiresAt: number,
  maxDataBytes: number,
): StoredSession {
  if (typeof user !== 'object' || user === null) {
    throw new TypeError('a SessionUser must be an object with an id');
  }
  const id = user.id;
  const validId =
    (typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH) ||
    (typeof id === 'number' && Number.isSafeInteger(id));
  if (!validId) {
    throw new TypeError(
      `SessionUser.id must be a non-empty string (≤ ${MAX_ID_LENGTH} chars) or a safe integer (got ${typeof id})`,
    );
  }
  // Most users carry only id/username/role: skip the deep copy when there is nothing else.
  let data: Record<string, unknown> | undefined;
  for (const key of Object.keys(user)) {
    if (key !== 'id' && key !== 'username' && key !== 'role') (data ??= {})[key] = user[key];
  }
  if (data !== undefined) {
    data = cleanData(data, 0) as Record<string, unknown>;
    if (Object.keys(data).length === 0) data = undefined;
    else checkDataSize(data, maxDataBytes);
  }
  const ip = context?.ip;
  const userAgent = context?.userAgent;
  return {
    userId: id,
    username: optionalString(user, 'username'),
    role: optionalString(user, 'role'),
    createdAt,
    absoluteExpiresAt,
    ip: typeof ip === 'string' && ip.length > 0 ? ip.slice(0, MAX_IP_LENGTH) : null,
    userAgent: typeof userAgent === 'string' && userAgent.length > 0 ? userAgent.slice(0, MAX_USER_AGENT_LENGTH) : null,
    data,
  };
}

/** The user as the login response shows it: id, username, role and custom data; never a password. */
export function toPublicUser(session: Session): SessionUser {
  const user: SessionUser = { ...(session.data ?? {}), id: session.userId };
  if (session.username !== null) user.username = session.username;
  if (session.role !== null) user.role = session.role;
  return user;
}
