/**
 * How `SessionService` turns what Redis holds into what it returns (`Session`, `IssuedSession`),
 * and reads the lifetimes a login asks for. Plain functions: no Redis, no state.
 */
import type { StoredSession } from './codec.js';
import type { StoredEntry } from './store-index.js';
import type { IssuedSession, Session, SessionCreateOptions } from './types.js';

/** The longest lifetime a session may have: about 10 years (seconds). */
const MAX_LIFETIME_SECONDS = 315_360_000;

/** A TTL that ends within this of the absolute deadline counts as capped by it. */
const CAP_TOLERANCE_MS = 100;

export function toSession(id: string, stored: StoredSession, lastActivityAt: number, expiresAt: number): Session {
  const session: Session = {
    id,
    userId: stored.userId,
    username: stored.username,
    role: stored.role,
    createdAt: new Date(stored.createdAt),
    lastActivityAt: new Date(lastActivityAt),
    expiresAt: new Date(expiresAt),
    absoluteExpiresAt: new Date(stored.absoluteExpiresAt),
    ip: stored.ip,
    userAgent: stored.userAgent,
  };
  if (stored.data !== undefined) session.data = stored.data;
  return session;
}

/**
 * A session read with its remaining TTL (`entry`), `ttlMs` being the module's idle timeout.
 * Last activity is not stored (a guarded request only resets the TTL), so it is derived: the
 * TTL was last set to `ttl`, i.e. `expiresAt - ttl`. Once the TTL is capped by the absolute
 * deadline Redis cannot tell, and the earliest possible time, `absoluteExpiresAt - ttl`, is
 * reported.
 */
export function fromEntry(id: string, stored: StoredSession, entry: StoredEntry, now: number, ttlMs: number): Session {
  const expiresAt = now + entry.pttlMs;
  const capped = expiresAt >= stored.absoluteExpiresAt - CAP_TOLERANCE_MS;
  const derived = (capped ? stored.absoluteExpiresAt : expiresAt) - (stored.ttlMs ?? ttlMs);
  const lastActivityAt = Math.min(now, Math.max(stored.createdAt, derived));
  return toSession(id, stored, lastActivityAt, expiresAt);
}

export function issued(token: string, session: Session, stored: StoredSession): IssuedSession {
  return stored.persistentCookie ? { token, session, persistentCookie: true } : { token, session };
}

/** Seconds as the app gives them, checked, in ms; undefined: the module's. */
export function ownLifetimes(options: SessionCreateOptions | undefined): { ttlMs?: number; absoluteTtlMs?: number } {
  const ms = (name: 'ttl' | 'absoluteTtl'): number | undefined => {
    const value = options?.[name];
    if (value === undefined) return undefined;
    if (!Number.isSafeInteger(value) || value <= 0 || value > MAX_LIFETIME_SECONDS) {
      throw new TypeError(`create(): options.${name} must be a whole number of seconds from 1 to ${MAX_LIFETIME_SECONDS}`);
    }
    return value * 1000;
  };
  return { ttlMs: ms('ttl'), absoluteTtlMs: ms('absoluteTtl') };
}
