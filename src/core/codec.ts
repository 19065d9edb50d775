/**
 * The value stored under a session key: a compact JSON array, so that a session
 * with a real browser user agent stays well under 400 bytes of Redis memory
 * (a HASH turns into a hashtable at ~2× the size once a value passes 64 bytes).
 *
 *   [1, userId, username, role, createdAtMs, absoluteExpiresAtMs, ip, userAgent, data?]
 *
 * The leading 1 is the format version. Last activity is not stored: it is derived
 * from the key's TTL, so a guarded request writes nothing but the TTL.
 */
export interface StoredSession {
  userId: string | number;
  username: string | null;
  role: string | null;
  createdAt: number;
  absoluteExpiresAt: number;
  ip: string | null;
  userAgent: string | null;
  data: Record<string, unknown> | undefined;
}

const FORMAT_VERSION = 1;

export function encodeSession(s: StoredSession): string {
  const fields: unknown[] = [FORMAT_VERSION, s.userId, s.username, s.role, s.createdAt, s.absoluteExpiresAt, s.ip, s.userAgent];
  if (s.data !== undefined) fields.push(s.data);
  return JSON.stringify(fields);
}

const stringOrNull = (value: unknown): value is string | null => value === null || typeof value === 'string';

/** The stored session, or `null` for a value this version cannot read. */
export function decodeSession(value: string): StoredSession | null {
  let fields: unknown;
  try {
    fields = JSON.parse(value);
  } catch {
    return null;
  }
  if (!Array.isArray(fields) || fields[0] !== FORMAT_VERSION || fields.length < 8 || fields.length > 9) return null;
  const [, userId, username, role, createdAt, absoluteExpiresAt, ip, userAgent, data] = fields as unknown[];
  // A number id is a safe integer, as at login: anything else names no user's index (session-keys.ts).
  if (typeof userId !== 'string' && !(typeof userId === 'number' && Number.isSafeInteger(userId))) return null;
  if (!stringOrNull(username) || !stringOrNull(role) || !stringOrNull(ip) || !stringOrNull(userAgent)) return null;
  if (typeof createdAt !== 'number' || typeof absoluteExpiresAt !== 'number') return null;
  if (data !== undefined && (typeof data !== 'object' || data === null || Array.isArray(data))) return null;
  return {
    userId,
    username,
    role,
    createdAt,
    absoluteExpiresAt,
    ip,
    userAgent,
    data: data as Record<string, unknown> | undefined,
  };
}
