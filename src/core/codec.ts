/**
 * The value stored under a session key: a compact JSON array, so that a session
 * with a real browser user agent stays well under 400 bytes of Redis memory
 * (a HASH turns into a hashtable at ~2× the size once a value passes 64 bytes).
 *
 *   [1, userId, username, role, createdAtMs, absoluteExpiresAtMs, ip, userAgent, data?, own?]
 *
 * `own` holds what a session may have of its own (a "remember me" login): `{"t": idle timeout
 * in ms, "p": 1 for a persistent cookie}`; `data` is then `null` when there is none. Sessions
 * written before it existed have neither and read the same. The leading 1 is the format version. Last activity is not stored: it is derived
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
  /** The session's own idle timeout (ms); undefined: the module's `ttl`. */
  ttlMs?: number;
  /** Its cookie lasts until the absolute deadline, whatever `cookie.persistent` says. */
  persistentCookie?: boolean;
}

const FORMAT_VERSION = 1;

export function encodeSession(s: StoredSession): string {
  const fields: unknown[] = [FORMAT_VERSION, s.userId, s.username, s.role, s.createdAt, s.absoluteExpiresAt, s.ip, s.userAgent];
  const own = ownSettings(s);
  if (s.data !== undefined || own) fields.push(s.data ?? null);
  if (own) fields.push(own);
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
  if (!Array.isArray(fields) || fields[0] !== FORMAT_VERSION || fields.length < 8 || fields.length > 10) return null;
  const [, userId, username, role, createdAt, absoluteExpiresAt, ip, userAgent, rawData, own] = fields as unknown[];
  const data = rawData === null && own !== undefined ? undefined : rawData;
  // A number id is a safe integer, as at login: anything else names no user's index (session-keys.ts).
  if (typeof userId !== 'string' && !(typeof userId === 'number' && Number.isSafeInteger(userId))) return null;
  if (!stringOrNull(username) || !stringOrNull(role) || !stringOrNull(ip) || !stringOrNull(userAgent)) return null;
  if (typeof createdAt !== 'number' || typeof absoluteExpiresAt !== 'number') return null;
  if (data !== undefined && (typeof data !== 'object' || data === null || Array.isArray(data))) return null;
  if (own !== undefined && (typeof own !== 'object' || own === null)) return null;
  const { t, p } = (own ?? {}) as { t?: unknown; p?: unknown };
  if (t !== undefined && !(typeof t === 'number' && Number.isSafeInteger(t) && t > 0)) return null;
  const stored: StoredSession = {
    userId,
    username,
    role,
    createdAt,
    absoluteExpiresAt,
    ip,
    userAgent,
    data: data as Record<string, unknown> | undefined,
  };
  if (t !== undefined) stored.ttlMs = t;
  if (p === 1) stored.persistentCookie = true;
  return stored;
}

function ownSettings(s: StoredSession): { t?: number; p?: 1 } | undefined {
  if (s.ttlMs === undefined && !s.persistentCookie) return undefined;
  const own: { t?: number; p?: 1 } = {};
  if (s.ttlMs !== undefined) own.t = s.ttlMs;
  if (s.persistentCookie) own.p = 1;
  return own;
}
