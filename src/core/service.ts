import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import { SessionCache } from './cache/session-cache.js';
import { decodeSession, encodeSession } from './codec.js';
import { SessionCounters } from './counters.js';
import {
  SessionEvent,
  SessionEventSink,
  type SessionCreatedEvent,
  type SessionDestroyedEvent,
  type SessionRevokedEvent,
  type SessionRotatedEvent,
} from './events.js';
import { SessionLive } from './live.js';
import { encodePatch } from './session-patch.js';
import { fromEntry, issued, ownLifetimes, toSession } from './session-view.js';
import { SessionStore } from './store.js';
import { toStoredSession } from './stored-user.js';
import { generateToken, sessionIdOf, tokenDeadline, tokenIdleTtlMs } from './token.js';
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
import { UserSessions, type RevokedReporter } from './user-sessions.js';

/**
 * The session API. Tokens go in and out; Redis only ever sees their hashes.
 * Every method throws `SessionStoreUnavailableException` (503) when Redis cannot answer.
 *
 * The session lifecycle (create, get, touch, update, rotate, destroy, revokeToken) is here;
 * the per-user operations (list, listPage, revoke, revokeAll, updateUser) are `UserSessions`'
 * (user-sessions.ts), and the shape of what is returned is session-view.ts's.
 */
@Injectable()
export class SessionService {
  private readonly ttlMs: number;
  private readonly absoluteTtlMs: number;
  private readonly maxDataBytes: number;
  private readonly users: UserSessions;

  constructor(
    private readonly store: SessionStore,
    private readonly events: SessionEventSink,
    private readonly counters: SessionCounters,
    private readonly live: SessionLive,
    cache: SessionCache,
    @Inject(RESOLVED_SESSION_OPTIONS) config: ResolvedSessionOptions,
  ) {
    this.ttlMs = config.ttlMs;
    this.absoluteTtlMs = config.absoluteTtlMs;
    this.maxDataBytes = config.maxDataBytes;
    const report: RevokedReporter = (ids, userId, reason) => this.emitRevoked(ids, userId, reason);
    const limits = { ttlMs: this.ttlMs, maxDataBytes: this.maxDataBytes };
    this.users = new UserSessions(store, report, limits, (ids) => cache.forget(ids));
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
    return fromEntry(id, stored, entry, Date.now(), this.ttlMs);
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
   * updates of different keys both survive; a `SessionOps` value (append, remove, increment)
   * changes what the key holds in that same atomic step, so concurrent ops on one key all land.
   * Password-ish keys are dropped; RangeError when the data would pass `maxDataBytes`,
   * `SessionPatchConflictException` (409) for an op on a value of another kind (nothing
   * written); TypeError for a bad patch.
   */
  async update(token: string, patch: SessionPatch): Promise<Session | null> {
    return this.users.updateToken(token, encodePatch(patch));
  }

  /**
   * Data only: merges `data` into the custom data of the session a token names, as `update`
   * does (`null`/`undefined` removes a key, `SessionOps` apply, same atomicity, limits and
   * errors), but every key is a data key: `username`, `role`, `id` and `userId` are stored
   * under `session.data` and never change who the session is. The call for anything a client
   * sent (a request body); a role or name change goes through `update` (or
   * `SessionAuth.setIdentity`).
   */
  async updateData(token: string, data: Record<string, unknown>): Promise<Session | null> {
    return this.users.updateToken(token, encodePatch(data, 'data'));
  }

  /**
   * Applies one patch to every live session of a user (e.g. a role change, seen on each
   * device's next request). Returns how many sessions changed. One index read, then one
   * script call per session (single-key steps: Cluster-safe; each as atomic as `update`, ops
   * included, but not all of them at once). Sessions created after the index was read are not
   * changed: make the change where `validateCredentials` reads it too.
   */
  updateUser(userId: string | number, patch: SessionPatch): Promise<number> {
    return this.users.updateUser(userId, patch);
  }

  /** `destroy`, as a revocation: `session.revoked` with `reason` (e.g. `binding`, when the guard enforces it). */
  async revokeToken(token: string, reason: SessionRevokedEvent['reason'] = 'revoke'): Promise<boolean> {
    if (tokenDeadline(token) < 0) return false;
    const ended = await this.store.destroy(sessionIdOf(token));
    if (ended) this.emitRevoked([ended.id], ended.userId, reason);
    return ended !== null;
  }

  /**
   * Ends the session a token names; true if one ended. One in the middle of a rotation too (it
   * loses), and for 10 s after one, the rotated session (events, counters get the id that ended).
   */
  async destroy(token: string): Promise<boolean> {
    if (tokenDeadline(token) < 0) return false;
    const ended = await this.store.destroy(sessionIdOf(token));
    if (!ended) return false;
    this.live.announce([ended.id]);
    this.events.emit(SessionEvent.Destroyed, { sessionId: ended.id, userId: ended.userId } satisfies SessionDestroyedEvent);
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
  listPage(userId: string | number, options?: SessionListOptions): Promise<SessionPage> {
    return this.users.listPage(userId, options);
  }

  /** Revokes one of the user's sessions by public id. False if it is not one of the user's live sessions. */
  revoke(userId: string | number, sessionId: string): Promise<boolean> {
    return this.users.revoke(userId, sessionId);
  }

  /** Revokes every session of the user ("log out everywhere"), but `options.except`. Returns how many. */
  revokeAll(userId: string | number, options?: RevokeAllOptions): Promise<number> {
    return this.users.revokeAll(userId, options);
  }

  /**
   * Moves the session to a new token (e.g. after a privilege change): same data and deadlines, a
   * new public id. The old token stops working at once: its key holds a marker naming the new id
   * from the first step on. A change or an end racing it is never lost: an `update` meeting the
   * marker lands on the new key, a logout or revocation meeting it wins (null, nothing of the new
   * id left); for 10 s after, `revoke`, `updateUser`, `list` and an end by the old token (a logout
   * that raced the answer: it can end the session, never use it) reach it. Null without a live session.
   */
  async rotate(token: string): Promise<IssuedSession | null> {
    const deadline = tokenDeadline(token);
    const now = Date.now();
    if (deadline <= now) return null;
    const oldId = sessionIdOf(token);
    const nextToken = generateToken(deadline, tokenIdleTtlMs(token) / 1000 || undefined); // the old one's idle timeout
    const id = sessionIdOf(nextToken);
    const begun = await this.store.beginRotation(oldId, id, now, deadline);
    if (begun === null) return null;
    const { value, stored } = begun;
    const pxMs = Math.min(stored.ttlMs ?? this.ttlMs, deadline - now);
    const evicted = await this.store.finishRotation(
      { oldId, newId: id, value, pxMs, absoluteExpiresAt: deadline, now },
      stored.userId,
    );
    this.live.announce([oldId]);
    if (evicted === null) return null;
    const rotated: SessionRotatedEvent = { sessionId: id, previousSessionId: oldId, userId: stored.userId };
    this.events.emit(SessionEvent.Rotated, rotated);
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
}
