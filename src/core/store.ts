/**
 * The session store: the commands on sessions, user indexes and login throttle counters, each
 * under a deadline and with its failure mapped to a 503 (`run`, `runOne`).
 *
 * Redis commands sent from this file: GETEX (the guard's one command), SET, DEL, ZSCORE,
 * ZRANGE, ZREM, and the scripts nrsPeek, nrsUpdate, nrsIndexAdd, nrsThrottle (redis/scripts.ts
 * names what each calls). Next to it: store-bulk.ts (EXISTS, DEL, ZRANGE, ZREM over many
 * sessions), store-index.ts (listing: nrsIndexPage, GET, PTTL, ZREM), store-rotate.ts (a
 * rotation's steps), store-follow.ts (a session that is rotating or has just rotated: GETEX
 * and GET of markers and forwards; an end by token: GETDEL, DEL, ZREM); WAIT and PING are
 * redis/connection.ts's.
 */
import { Injectable } from '@nestjs/common';
import { decodeSession, type StoredSession } from './codec.js';
import { sessionKey } from './keys.js';
import type { IndexPosition } from './page.js';
import type { EncodedPatch, UpdateReply } from './session-patch.js';
import { SessionStoreBase } from './store-base.js';
import { evictOldest, revokeIndexed } from './store-bulk.js';
import { endFollowing, follow, forwardOf, type EndedSession, type Step } from './store-follow.js';
import { readIndexPage, readListed, type StoredEntry } from './store-index.js';
import { abandonRotation, beginRotation, finishRotation, type Rotation } from './store-rotate.js';

export type { StoredEntry } from './store-index.js';

/**
 * An update's outcome on a session key: its new value, or why nothing was written: `refused`
 * by the patch's checks, or `unreadable`, a key that lives with a value this version cannot
 * read (a later version's: docs/versioning.md, "Rolling upgrades"), left as it is and never
 * taken for a session that is gone.
 */
export type UpdateOutcome = StoredEntry | { refused: UpdateReply } | { unreadable: true };

/**
 * The module's Redis store. Key names come from keys.ts (the layout's one owner); the deadline,
 * the 503 mapping and where steps run are `SessionStoreBase`'s (store-base.ts).
 *
 * Multi-key changes are ordered single-key steps (each Cluster-safe), chosen so that
 * a revoked session can never come back and a usable session is never left out of
 * its user's index.
 */
@Injectable()
export class SessionStore extends SessionStoreBase {
  /**
   * The guard's one command: `GETEX key PX ttl`. On a missing key it writes
   * nothing, so a request racing a logout cannot bring the session back.
   */
  touch(id: string, pxMs: number): Promise<string | null> {
    // Written out, not through `runOne` (the same thing): the guard's hot path, no closure and no extra frame per request.
    return this.redis.deadline.within(this.redis.client.getex(sessionKey(this.prefix, id), 'PX', pxMs)).catch(this.unavailable);
  }

  /** The value and remaining TTL, without sliding: one command. */
  async read(id: string): Promise<StoredEntry | null> {
    const reply = await this.runOne(this.redis.client.nrsPeek(sessionKey(this.prefix, id)));
    return reply === null || reply[1] < 0 ? null : { value: reply[0], pttlMs: reply[1] };
  }

  /**
   * Changes a live session in place (one script call on its key, the TTL kept), and the id it
   * did so under: a rotating session is followed to its new key (by id, `forwards`, also one
   * that has just rotated); null when it is gone, which the script never re-creates. `refused`
   * (the reply, for `refusalError`) when the data would pass `maxDataBytes` or an op met a
   * value of another kind, `unreadable` when the key holds a value this version cannot read:
   * nothing was written.
   */
  async update(id: string, patch: EncodedPatch, forwards: boolean): Promise<{ id: string; result: UpdateOutcome } | null> {
    const { username, role, data } = patch;
    const max = this.config.maxDataBytes;
    const step = async (at: string): Promise<Step<UpdateOutcome>> => {
      const reply = await this.redis.writer.nrsUpdate(sessionKey(this.prefix, at), username, role, max, ...data);
      if (reply === null) return null;
      const [value, pttlMs, next] = reply;
      if (value !== '') return { done: { value, pttlMs } };
      if (pttlMs === -3 && next !== undefined) return { moving: next };
      return { done: pttlMs === -1 ? { unreadable: true } : { refused: reply } };
    };
    return this.run(() => follow(this.following, id, step, forwards));
  }

  /** The ids in a user's index, all of them (bounded by `maxSessionsPerUser`). */
  indexIds(userId: string | number): Promise<string[]> {
    return this.runOne(this.redis.writer.zrange(this.indexKey(userId), '0', '-1'));
  }

  /** Drops ids of sessions that are gone (their keys missing) from a user's index. */
  async unlist(userId: string | number, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.runOne(this.redis.writer.zrem(this.indexKey(userId), ...ids));
  }

  /**
   * Writes a new session, then lists it in its user's index (evicting the oldest
   * live sessions past `maxSessionsPerUser`). The key is written first: until the
   * index step ends nobody holds the token, so nothing usable is ever unlisted, and
   * every id in the index has had its key written, so a missing key means a dead session.
   * Returns the ids of sessions evicted past the cap. (A rotation's steps: store-rotate.ts.)
   */
  async insert(
    id: string,
    value: string,
    pxMs: number,
    userId: string | number,
    absoluteExpiresAt: number,
    now: number,
  ): Promise<string[]> {
    const writer = this.redis.writer;
    const indexKey = this.indexKey(userId);
    const max = this.config.maxSessionsPerUser;
    return this.run(async () => {
      const write = writer.set(sessionKey(this.prefix, id), value, 'PX', pxMs, 'NX');
      // On one connection Redis runs commands in the order sent, so both can go in one
      // round-trip; a Cluster may route them to two nodes, so there the key goes first.
      if (this.redis.isCluster) await write;
      const [written, members] = await Promise.all([write, writer.nrsIndexAdd(indexKey, now, id, absoluteExpiresAt, '', max)]);
      if (written !== 'OK') throw new Error('session id collision'); // 2^-128: a broken RNG
      const evicted = members.length > 0 ? await evictOldest(this.bulk, indexKey, id, members, max) : [];
      await this.redis.replicated();
      return evicted;
    }, this.redis.writeTimeoutMs);
  }

  /**
   * Rotation, step 1 (store-rotate.ts): the session, replaced by a marker naming `newId`; null
   * when the key holds no session (gone, or rotating already). One that cannot be read, or
   * whose deadline is not `deadline`, ends (as taking it always did).
   */
  async beginRotation(
    oldId: string,
    newId: string,
    now: number,
    deadline: number,
  ): Promise<{ value: string; stored: StoredSession } | null> {
    return this.run(async () => {
      const value = await beginRotation(this.bulk, oldId, newId, now);
      const stored = value === null ? null : decodeSession(value);
      if (value !== null && stored?.absoluteExpiresAt !== deadline) await abandonRotation(this.bulk, oldId);
      return value !== null && stored?.absoluteExpiresAt === deadline ? { value, stored } : null;
    }, this.redis.writeTimeoutMs);
  }

  /**
   * Rotation, steps 2-6: the ids evicted past `maxSessionsPerUser`, or null when an end won
   * the race (nothing of the new id is left).
   */
  async finishRotation(r: Omit<Rotation, 'indexKey' | 'maxSessions'>, userId: string | number): Promise<string[] | null> {
    const indexKey = this.indexKey(userId);
    const max = this.config.maxSessionsPerUser;
    return this.run(async () => {
      const members = await finishRotation(this.bulk, { ...r, indexKey, maxSessions: max });
      const evicted = members && members.length > 0 ? await evictOldest(this.bulk, indexKey, r.newId, members, max) : [];
      await this.redis.replicated();
      return members && evicted;
    }, this.redis.writeTimeoutMs);
  }

  /**
   * Ends the session a token's id names: deletes the key (`GETDEL`), then its index entry.
   * Returns the id it ended under and its user, or null if nothing ended. A rotating one (its
   * key holds the marker) ends too: the rotation loses. One that has just rotated (its key gone,
   * its forward there) ends under its new id (store-follow.ts `endFollowing`).
   */
  async destroy(id: string): Promise<EndedSession | null> {
    return this.run(async () => {
      const ended = await endFollowing(this.following, id);
      await this.redis.replicated();
      return ended;
    }, this.redis.writeTimeoutMs);
  }

  /**
   * One page of a user's index, newest first (score descending, then id descending), after
   * `after` (a position a previous page ended on, whether or not that entry is still there).
   * Prunes the ids past their absolute deadline first. One script call, whatever the index holds.
   */
  async indexPage(userId: string | number, now: number, count: number, after: IndexPosition | null): Promise<IndexPosition[]> {
    return this.run(() => readIndexPage(this.redis.client, this.indexKey(userId), now, count, after));
  }

  /**
   * Reads many sessions at once, each under the id it has now (a rotating or just rotated one
   * is followed); null for one gone or unreadable (not shown). Only ids whose key is gone are
   * dropped from the index: one that lives with a value this version cannot read stays listed.
   */
  async readIndexed(userId: string | number, ids: string[]): Promise<Array<{ id: string; result: StoredEntry } | null>> {
    return this.run(() => readListed(this.following, this.indexKey(userId), ids));
  }

  /**
   * Revokes one of the user's sessions; returns the id it ended under (a session that rotated
   * since `id` was read is followed), or null. The index says whose it is: an id neither in
   * this user's index nor forwarded to an id in it is never touched.
   */
  async revoke(userId: string | number, id: string): Promise<string | null> {
    const writer = this.redis.writer;
    const indexKey = this.indexKey(userId);
    return this.run(async () => {
      // Ownership is read first, the session deleted next, the index entry last: a failure
      // at any step (a 503) leaves the session dead, or alive and still listed so a retry
      // can revoke it, never alive and unlisted.
      let owned: string | null = id;
      for (let hops = 0; owned !== null && (await writer.zscore(indexKey, owned)) === null; hops++) {
        owned = hops < 100 ? await forwardOf(this.following, owned) : null;
      }
      if (owned === null) return null;
      // Deleting a marker ends its rotation (it loses, and takes its new key away itself).
      const del = async (at: string): Promise<Step<string>> =>
        (await writer.del(sessionKey(this.prefix, at))) === 1 ? { done: at } : null;
      const ended = await follow(this.following, owned, del, true);
      await writer.zrem(indexKey, owned, ...(ended && ended.id !== owned ? [ended.id] : []));
      await this.redis.replicated();
      return ended?.id ?? null;
    }, this.redis.writeTimeoutMs);
  }

  /**
   * Revokes every session of a user but `exceptId`, a bounded chunk at a time
   * (`revokeIndexed`). Returns the ids taken out of the index and how many of them were
   * live sessions. A failure half-way (a 503) leaves every session dead or still listed,
   * for a retry to finish.
   */
  async revokeAll(userId: string | number, exceptId = ''): Promise<{ ids: string[]; deleted: number }> {
    return this.run(async () => {
      const revoked = await revokeIndexed(this.bulk, this.indexKey(userId), exceptId);
      await this.redis.replicated();
      return revoked;
    }, this.redis.writeTimeoutMs);
  }

  /**
   * Counts (`delta` 1) or refunds (`delta` -1) a login attempt on a throttle counter in one atomic
   * step; the counter expires `windowMs` after its first attempt. Returns the count and ms left.
   */
  async countAttempt(key: string, delta: 1 | -1, windowMs: number): Promise<{ count: number; pttlMs: number }> {
    const [count, pttlMs] = await this.runOne(this.redis.client.nrsThrottle(key, delta, windowMs));
    return { count, pttlMs };
  }

  /** Deletes a throttle counter (a successful login resets its username's count). */
  async resetCounter(key: string): Promise<void> {
    await this.runOne(this.redis.client.del(key));
  }
}
