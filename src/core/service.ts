import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import { decodeSession, encodeSession, type StoredSession } from './codec.js';
import { SessionCounters } from './counters.js';
import {
  SessionEvent,
  SessionEventSink,
  type SessionCreatedEvent,
  type SessionDestroyedEvent,
  type SessionRevokedEvent,
  type SessionRotatedEvent,
} from './events.js';
import { checkUserId } from './keys.js';
import { checkLimit, decodeCursor, encodeCursor } from './page.js';
import { SessionLive } from './live.js';
import { encodePatch, type EncodedPatch } from './session-patch.js';
import { SessionStore, type StoredEntry } from './store.js';
import { toStoredSession } from './stored-user.js';
import { generateToken, isSessionId, sessionIdOf, tokenDeadline, tokenIdleTtlMs } from './token.js';
import type {
  IssuedSession,
  RevokeAllOptions,
  Session,
  SessionContext,
  SessionCreateOptions,
  SessionListOptions,
  SessionPage,
  SessionPatch,
  SessionUser,
} from './types.js';

/** The longest lifetime a session may have: about 10 years (seconds). */
const MAX_LIFETIME_SECONDS = 315_360_000;

/** `updateUser` changes this many sessions at a time (one pipelined batch of script calls). */
const UPDATE_CHUNK = 100;

/** A TTL that ends within this of the absolute deadline counts as capped by it. */
const CAP_TOLERANCE_MS = 100;

/**
 * The session API. Tokens go in and out; Redis only ever sees their hashes.
 * Every method throws `SessionStoreUnavailableException` (503) when Redis cannot answer.
 */
@Injectable()
export class SessionService {
  private readonly ttlMs: number;
  private readonly absoluteTtlMs: number;
  private readonly maxDataBytes: number;

  constructor(
    private readonly store: SessionStore,
    private readonly events: SessionEventSink,
    private readonly counters: SessionCounters,
    private readonly live: SessionLive,
    @Inject(RESOLVED_SESSION_OPTIONS) config: ResolvedSessionOptions,
  ) {
    this.ttlMs = config.ttlMs;
    this.absoluteTtlMs = config.absoluteTtlMs;
    this.maxDataBytes = config.maxDataBytes;
  }

  /**
   * A new session for `user` with a fresh token. The user is validated and password keys are
   * dropped. `options` gives this session lifetimes of its own ("remember me"); TypeError for
   * lifetimes that are not whole numbers of seconds > 0.
   */
  async create(user: SessionUser, context?: SessionContext, options?: SessionCreateOptions): Promise<IssuedSession> {
    const own = ownLifetimes(options);
    const now = Date.now();
    const absoluteTtlMs = own.absoluteTtlMs ?? this.absoluteTtlMs;
    const ttlMs = own.ttlMs ?? this.ttlMs;
    const absoluteExpiresAt = now + absoluteTtlMs;
    const stored = toStoredSession(user, context, now, absoluteExpiresAt, this.maxDataBytes);
    if (own.ttlMs !== undefined) stored.ttlMs = own.ttlMs;
    if (options?.persistentCookie === true) stored.persistentCookie = true;
    const token = generateToken(absoluteExpiresAt, own.ttlMs === undefined ? undefined : own.ttlMs / 1000);
    const id = sessionIdOf(token);
    const pxMs = Math.min(ttlMs, absoluteTtlMs);
    const evicted = await this.store.insert(id, encodeSession(stored), pxMs, stored.userId, absoluteExpiresAt, now);
    const session = toSession(id, stored, now, now + pxMs);
    this.events.emit(SessionEvent.Created, { session } satisfies SessionCreatedEvent);
    this.emitRevoked(evicted, stored.userId, 'max-sessions');
    return issued(token, session, stored);
  }

  /** The session a token names, without sliding it; null if the token is bad, expired or revoked. */
  async get(token: string): Promise<Session | null> {
    const deadline = tokenDeadline(token);
    if (deadline <= Date.now()) return null;
    const id = sessionIdOf(token);
    const entry = await this.store.read(id);
    const stored = entry && decodeSession(entry.value);
    if (!entry || !stored || stored.absoluteExpiresAt !== deadline) return null;
    return this.fromEntry(id, stored, entry, Date.now());
  }

  /**
   * Validates a token and slides its idle TTL in one Redis command (what the guard
   * runs). The new TTL is `min(ttl, absoluteExpiresAt - now)`, known from the token
   * before Redis is asked; a token with a past deadline never reaches Redis.
   */
  async touch(token: string): Promise<Session | null> {
    const deadline = tokenDeadline(token);
    const now = Date.now();
    const remaining = deadline - now;
    if (remaining <= 0) return null;
    const ttlMs = tokenIdleTtlMs(token) || this.ttlMs;
    const pxMs = remaining < ttlMs ? remaining : ttlMs;
    const id = sessionIdOf(token);
    const value = await this.store.touch(id, pxMs);
    if (value === null) return null;
    const stored = decodeSession(value);
    if (!stored || stored.absoluteExpiresAt !== deadline) return null;
    return toSession(id, stored, now, now + pxMs);
  }

  /**
   * Changes the session a token names, in place: `username` and `role` replace its own, other
   * keys merge into its custom data (`null`/`undefined` removes a key). One Redis round-trip,
   * atomic on the session's key; the TTL is kept (no slide). Null when the session is gone: an
   * update never re-creates a session that was logged out, revoked or expired. Two concurrent
   * updates of different keys both survive. Password-ish keys are dropped; RangeError when the
   * data would pass `maxDataBytes` (nothing written); TypeError for a bad patch.
   */
  async update(token: string, patch: SessionPatch): Promise<Session | null> {
    const encoded = encodePatch(patch);
    const deadline = tokenDeadline(token);
    if (deadline <= Date.now()) return null;
    const id = sessionIdOf(token);
    const session = await this.updateOne(id, encoded);
    return session && session.absoluteExpiresAt.getTime() === deadline ? session : null;
  }

  /**
   * Applies one patch to every live session of a user (e.g. a role change, seen on each
   * device's next request). Returns how many sessions changed. One index read, then one
   * script call per session (single-key steps: Cluster-safe; each as atomic as `update`).
   * Sessions created after the index was read are not changed: make the change where
   * `validateCredentials` reads it too.
   */
  async updateUser(userId: string | number, patch: SessionPatch): Promise<number> {
    checkUserId(userId);
    const encoded = encodePatch(patch);
    const ids = await this.store.indexIds(userId);
    let changed = 0;
    const gone: string[] = [];
    for (let start = 0; start < ids.length; start += UPDATE_CHUNK) {
      const chunk = ids.slice(start, start + UPDATE_CHUNK);
      const sessions = await Promise.all(chunk.map((id) => this.updateOne(id, encoded, userId)));
      sessions.forEach((session, i) => (session ? changed++ : gone.push(chunk[i])));
    }
    await this.store.unlist(userId, gone);
    return changed;
  }

  /** One session's update; null when it is gone (or, with `userId`, listed under another user). */
  private async updateOne(id: string, patch: EncodedPatch, userId?: string | number): Promise<Session | null> {
    const entry = await this.store.update(id, patch);
    if (entry === null) return null;
    if ('tooLarge' in entry) {
      throw new RangeError(
        `session data would be ${entry.tooLarge} bytes encoded (JSON), over maxDataBytes (${this.maxDataBytes})`,
      );
    }
    const stored = decodeSession(entry.value);
    if (!stored || (userId !== undefined && stored.userId !== userId)) return null;
    return this.fromEntry(id, stored, entry, Date.now());
  }

  /**
   * Ends the session a token names as a revocation, not a logout: `session.revoked` with
   * `reason` (e.g. `binding`, when the guard enforces it). True if there was one.
   */
  async revokeToken(token: string, reason: SessionRevokedEvent['reason'] = 'revoke'): Promise<boolean> {
    if (tokenDeadline(token) < 0) return false;
    const id = sessionIdOf(token);
    const stored = await this.store.destroy(id);
    if (!stored) return false;
    this.emitRevoked([id], stored.userId, reason);
    return true;
  }

  /** Ends the session a token names. True if there was one. */
  async destroy(token: string): Promise<boolean> {
    if (tokenDeadline(token) < 0) return false;
    const id = sessionIdOf(token);
    const stored = await this.store.destroy(id);
    if (!stored) return false;
    this.live.announce([id]);
    this.events.emit(SessionEvent.Destroyed, { sessionId: id, userId: stored.userId } satisfies SessionDestroyedEvent);
    this.counters.revoked('logout');
    return true;
  }

  /**
   * The user's live sessions, newest first: the first page (`options.limit`, default 100, at
   * most 1000), or the page after `options.cursor`. `listPage` also says where the next page
   * starts. With the default `maxSessionsPerUser` (100) the first page holds them all.
   */
  async list(userId: string | number, options?: SessionListOptions): Promise<Session[]> {
    return (await this.listPage(userId, options)).sessions;
  }

  /**
   * One page of the user's live sessions, newest first (by absolute deadline, i.e. login
   * time while `absoluteTtl` is unchanged; ties by id), and the cursor of the next page
   * (null on the last). The work per call is bounded by `limit` whatever the user holds: one
   * script call on the index, then a `GET` and a `PTTL` per listed session. Ids of sessions
   * that ended are pruned from the index, so a page can be shorter than `limit` (even empty)
   * while more remain: follow `nextCursor` until it is null. A bad `limit` or `cursor`
   * throws `SessionListOptionsException` (a 400).
   */
  async listPage(userId: string | number, options?: SessionListOptions): Promise<SessionPage> {
    checkUserId(userId);
    const limit = checkLimit(options?.limit);
    const after = options?.cursor === undefined ? null : decodeCursor(options.cursor);
    const now = Date.now();
    const positions = await this.store.indexPage(userId, now, limit + 1, after);
    const more = positions.length > limit;
    if (more) positions.length = limit;
    const nextCursor = more ? encodeCursor(positions[positions.length - 1]) : null;
    if (positions.length === 0) return { sessions: [], nextCursor };
    const ids = positions.map((position) => position.id);
    const entries = await this.store.readIndexed(userId, ids);
    const sessions: Session[] = [];
    for (let i = 0; i < ids.length; i++) {
      const entry = entries[i];
      const stored = entry && decodeSession(entry.value);
      // An id listed under another user's index is never shown (a corrupted index). The id is
      // compared with its type: the number 1 and the string "1" are different users.
      if (entry && stored && stored.userId === userId) {
        sessions.push(this.fromEntry(ids[i], stored, entry, now));
      }
    }
    return { sessions, nextCursor };
  }

  /** Revokes one of the user's sessions by public id. False if it is not one of the user's live sessions. */
  async revoke(userId: string | number, sessionId: string): Promise<boolean> {
    checkUserId(userId);
    if (!isSessionId(sessionId)) return false;
    const revoked = await this.store.revoke(userId, sessionId);
    if (revoked) this.emitRevoked([sessionId], userId, 'revoke');
    return revoked;
  }

  /** Revokes every session of the user ("log out everywhere"), but `options.except`. Returns how many. */
  async revokeAll(userId: string | number, options?: RevokeAllOptions): Promise<number> {
    checkUserId(userId);
    const except = options?.except !== undefined && isSessionId(options.except) ? options.except : '';
    const { ids, deleted } = await this.store.revokeAll(userId, except);
    this.emitRevoked(ids, userId, 'revoke-all');
    return deleted;
  }

  /**
   * Moves the session to a new token (e.g. after a privilege change). The old token
   * stops working at once: it is deleted before the new one exists, so a concurrent
   * logout or revocation can never be undone by a rotate. The public id changes.
   */
  async rotate(token: string): Promise<IssuedSession | null> {
    const deadline = tokenDeadline(token);
    const now = Date.now();
    if (deadline <= now) return null;
    const oldId = sessionIdOf(token);
    const value = await this.store.take(oldId);
    const stored = value === null ? null : decodeSession(value);
    if (value === null || !stored || stored.absoluteExpiresAt !== deadline) return null;
    const pxMs = Math.min(stored.ttlMs ?? this.ttlMs, deadline - now);
    const nextToken = generateToken(deadline, stored.ttlMs === undefined ? undefined : stored.ttlMs / 1000);
    const id = sessionIdOf(nextToken);
    const evicted = await this.store.insert(id, value, pxMs, stored.userId, deadline, now, oldId);
    this.live.announce([oldId]);
    this.events.emit(SessionEvent.Rotated, {
      sessionId: id,
      previousSessionId: oldId,
      userId: stored.userId,
    } satisfies SessionRotatedEvent);
    this.emitRevoked(evicted, stored.userId, 'max-sessions');
    return issued(nextToken, toSession(id, stored, now, now + pxMs), stored);
  }

  private emitRevoked(ids: string[], userId: string | number, reason: SessionRevokedEvent['reason']): void {
    this.live.announce(ids);
    this.counters.revoked(reason, ids.length);
    for (const sessionId of ids) {
      this.events.emit(SessionEvent.Revoked, { sessionId, userId, reason } satisfies SessionRevokedEvent);
    }
  }

  /**
   * Last activity is not stored (a guarded request only resets the TTL), so it is
   * derived: the TTL was last set to `ttl`, i.e. `expiresAt - ttl`. Once the TTL is
   * capped by the absolute deadline Redis cannot tell, and the earliest possible
   * time, `absoluteExpiresAt - ttl`, is reported.
   */
  private fromEntry(id: string, stored: StoredSession, entry: StoredEntry, now: number): Session {
    const expiresAt = now + entry.pttlMs;
    const capped = expiresAt >= stored.absoluteExpiresAt - CAP_TOLERANCE_MS;
    const derived = (capped ? stored.absoluteExpiresAt : expiresAt) - (stored.ttlMs ?? this.ttlMs);
    const lastActivityAt = Math.min(now, Math.max(stored.createdAt, derived));
    return toSession(id, stored, lastActivityAt, expiresAt);
  }
}

function issued(token: string, session: Session, stored: StoredSession): IssuedSession {
  return stored.persistentCookie ? { token, session, persistentCookie: true } : { token, session };
}

/** Seconds as the app gives them, checked, in ms; undefined: the module's. */
function ownLifetimes(options: SessionCreateOptions | undefined): { ttlMs?: number; absoluteTtlMs?: number } {
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

function toSession(id: string, stored: StoredSession, lastActivityAt: number, expiresAt: number): Session {
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
