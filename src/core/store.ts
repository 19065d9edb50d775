import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import { decodeSession, type StoredSession } from './codec.js';
import { SessionCounters } from './counters.js';
import { SessionStoreUnavailableException } from './errors.js';
import { sessionKey, userIndexKey } from './keys.js';
import type { IndexPosition } from './page.js';
import type { EncodedPatch } from './session-patch.js';
import { SessionRedis } from './redis/connection.js';
import { evictOldest, revokeIndexed, type BulkTarget } from './store-bulk.js';

/** A stored session value with its remaining time to live. */
export interface StoredEntry {
  value: string;
  pttlMs: number;
}

/**
 * Every Redis command the module sends lives here.
 *
 * Key names come from keys.ts (the layout's one owner). Every failure goes through
 * `unavailable`: counted, logged (rate-limited), and thrown as a 503.
 *
 * Multi-key changes are ordered single-key steps (each Cluster-safe), chosen so that
 * a revoked session can never come back and a usable session is never left out of
 * its user's index.
 */
@Injectable()
export class SessionStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: SessionRedis,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly config: ResolvedSessionOptions,
    private readonly counters: SessionCounters,
  ) {
    this.prefix = config.keyPrefix;
  }

  /** Where the many-session steps run (the writer exists once the connection's onModuleInit ran). */
  private get bulk(): BulkTarget {
    return { writer: this.redis.writer, keyPrefix: this.prefix, isCluster: this.redis.isCluster };
  }

  sessionKey(id: string): string {
    return sessionKey(this.prefix, id);
  }

  /** The user's index; the number 1 and the string "1" have different ones (see `userIndexSegment`). */
  indexKey(userId: string | number): string {
    return userIndexKey(this.prefix, userId);
  }

  /**
   * The guard's one command: `GETEX key PX ttl`. On a missing key it writes
   * nothing, so a request racing a logout cannot bring the session back.
   */
  touch(id: string, pxMs: number): Promise<string | null> {
    return this.redis.deadline.within(this.redis.client.getex(sessionKey(this.prefix, id), 'PX', pxMs)).catch(this.unavailable);
  }

  /** The value and remaining TTL, without sliding: one command. */
  async read(id: string): Promise<StoredEntry | null> {
    const reply = await this.redis.deadline
      .within(this.redis.client.nrsPeek(sessionKey(this.prefix, id)))
      .catch(this.unavailable);
    return reply === null || reply[1] < 0 ? null : { value: reply[0], pttlMs: reply[1] };
  }

  /**
   * Changes a live session in place (one script call on its key, the TTL kept); null when it
   * is gone, which the script never re-creates. `tooLarge` (bytes) when the merged data would
   * pass `maxDataBytes`: nothing was written.
   */
  async update(id: string, patch: EncodedPatch): Promise<StoredEntry | { tooLarge: number } | null> {
    const reply = await this.redis.deadline
      .within(
        this.redis.writer.nrsUpdate(
          sessionKey(this.prefix, id),
          patch.username,
          patch.role,
          this.config.maxDataBytes,
          ...patch.data,
        ),
      )
      .catch(this.unavailable);
    if (reply === null) return null;
    const [value, pttlMs] = reply;
    if (value === '') return pttlMs < 0 ? null : { tooLarge: pttlMs };
    return { value, pttlMs };
  }

  /** The ids in a user's index, all of them (bounded by `maxSessionsPerUser`). */
  indexIds(userId: string | number): Promise<string[]> {
    return this.redis.deadline.within(this.redis.writer.zrange(this.indexKey(userId), '0', '-1')).catch(this.unavailable);
  }

  /** Drops ids of sessions that are gone from a user's index. */
  async unlist(userId: string | number, ids: string[]): Promise<void> {
    if (ids.length > 0)
      await this.redis.deadline.within(this.redis.writer.zrem(this.indexKey(userId), ...ids)).catch(this.unavailable);
  }

  /**
   * Writes a new session, then lists it in its user's index (evicting the oldest
   * live sessions past `maxSessionsPerUser`). The key is written first: until the
   * index step ends nobody holds the token, so nothing usable is ever unlisted, and
   * every id in the index has had its key written, so a missing key means a dead session.
   * `replacesId` is removed from the index in the same step (rotate).
   * Returns the ids of sessions evicted past the cap.
   */
  async insert(
    id: string,
    value: string,
    pxMs: number,
    userId: string | number,
    absoluteExpiresAt: number,
    now: number,
    replacesId = '',
  ): Promise<string[]> {
    const writer = this.redis.writer;
    const indexKey = this.indexKey(userId);
    const max = this.config.maxSessionsPerUser;
    try {
      // One deadline for every step: a stalled Redis answers 503, the steps go on in order.
      return await this.redis.deadline.within(
        (async () => {
          const write = writer.set(sessionKey(this.prefix, id), value, 'PX', pxMs, 'NX');
          // On one connection Redis runs commands in the order sent, so both can go in one
          // round-trip; a Cluster may route them to two nodes, so there the key goes first.
          if (this.redis.isCluster) await write;
          const [written, members] = await Promise.all([
            write,
            writer.nrsIndexAdd(indexKey, now, id, absoluteExpiresAt, replacesId, max),
          ]);
          if (written !== 'OK') throw new Error('session id collision'); // 2^-128: a broken RNG
          const evicted =
            members.length > 0 ? await evictOldest(this.bulk, indexKey, id, members, this.config.maxSessionsPerUser) : [];
          await this.redis.replicated();
          return evicted;
        })(),
        this.redis.writeTimeoutMs,
      );
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /**
   * Deletes a session and returns what it held (`GETDEL`), or null if it was gone.
   * Leaves the index and replication to the caller (rotate's insert does both).
   */
  take(id: string): Promise<string | null> {
    return this.redis.deadline
      .within(this.redis.writer.getdel(sessionKey(this.prefix, id)), this.redis.writeTimeoutMs)
      .catch(this.unavailable);
  }

  /** Ends a session: deletes the key (`GETDEL`), then its index entry. Returns what it held. */
  async destroy(id: string): Promise<StoredSession | null> {
    const writer = this.redis.writer;
    try {
      // One deadline for every step: a stalled Redis answers 503, the steps go on in order.
      return await this.redis.deadline.within(
        (async () => {
          const value = await writer.getdel(sessionKey(this.prefix, id));
          const stored = value === null ? null : decodeSession(value);
          if (stored) await writer.zrem(this.indexKey(stored.userId), id);
          await this.redis.replicated();
          return stored;
        })(),
        this.redis.writeTimeoutMs,
      );
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /**
   * One page of a user's index, newest first (score descending, then id descending), after
   * `after` (a position a previous page ended on, whether or not that entry is still there).
   * Prunes the ids past their absolute deadline first. One script call, whatever the index holds.
   */
  async indexPage(userId: string | number, now: number, count: number, after: IndexPosition | null): Promise<IndexPosition[]> {
    try {
      // One deadline for every step: a stalled Redis answers 503, the steps go on in order.
      return await this.redis.deadline.within(
        (async () => {
          const reply = await this.redis.client.nrsIndexPage(
            this.indexKey(userId),
            now,
            count,
            after?.score ?? '',
            after?.id ?? '',
          );
          const page: IndexPosition[] = [];
          for (let i = 0; i + 1 < reply.length; i += 2) page.push({ id: reply[i], score: reply[i + 1] });
          return page;
        })(),
      );
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** Reads many sessions at once; ids whose key is gone are dropped from the index. */
  async readIndexed(userId: string | number, ids: string[]): Promise<Array<StoredEntry | null>> {
    const client = this.redis.client;
    try {
      // One deadline for every step: a stalled Redis answers 503, the steps go on in order.
      return await this.redis.deadline.within(
        (async () => {
          const entries = await Promise.all(
            ids.map(async (id) => {
              const key = sessionKey(this.prefix, id);
              const [value, pttlMs] = await Promise.all([client.get(key), client.pttl(key)]);
              return value === null || pttlMs < 0 ? null : { value, pttlMs };
            }),
          );
          const gone = ids.filter((_, i) => entries[i] === null);
          if (gone.length > 0) await client.zrem(this.indexKey(userId), ...gone);
          return entries;
        })(),
      );
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /**
   * Revokes one of the user's sessions. The index says whose it is: an id that is
   * not in this user's index is never touched. True if a live session was deleted.
   */
  async revoke(userId: string | number, id: string): Promise<boolean> {
    const writer = this.redis.writer;
    const indexKey = this.indexKey(userId);
    try {
      // One deadline for every step: a stalled Redis answers 503, the steps go on in order.
      return await this.redis.deadline.within(
        (async () => {
          // Ownership is read first, the session deleted next, the index entry last: a failure
          // at any step (a 503) leaves the session dead, or alive and still listed so a retry
          // can revoke it, never alive and unlisted.
          if ((await writer.zscore(indexKey, id)) === null) return false;
          const deleted = (await writer.del(sessionKey(this.prefix, id))) === 1;
          await writer.zrem(indexKey, id);
          await this.redis.replicated();
          return deleted;
        })(),
        this.redis.writeTimeoutMs,
      );
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /**
   * Revokes every session of a user but `exceptId`, a bounded chunk at a time
   * (`revokeIndexed`). Returns the ids taken out of the index and how many of them were
   * live sessions. A failure half-way (a 503) leaves every session dead or still listed,
   * for a retry to finish.
   */
  async revokeAll(userId: string | number, exceptId = ''): Promise<{ ids: string[]; deleted: number }> {
    try {
      // One deadline for every step: a stalled Redis answers 503, the steps go on in order.
      return await this.redis.deadline.within(
        (async () => {
          const revoked = await revokeIndexed(this.bulk, this.indexKey(userId), exceptId);
          await this.redis.replicated();
          return revoked;
        })(),
        this.redis.writeTimeoutMs,
      );
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /**
   * Counts (`delta` 1) or refunds (`delta` -1) a login attempt on a throttle counter in one
   * atomic step; the counter expires `windowMs` after its first attempt. Returns the count
   * and the ms left in the window.
   */
  async countAttempt(key: string, delta: 1 | -1, windowMs: number): Promise<{ count: number; pttlMs: number }> {
    try {
      // One deadline for every step: a stalled Redis answers 503, the steps go on in order.
      return await this.redis.deadline.within(
        (async () => {
          const [count, pttlMs] = await this.redis.client.nrsThrottle(key, delta, windowMs);
          return { count, pttlMs };
        })(),
      );
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** Deletes a throttle counter (a successful login resets its username's count). */
  async resetCounter(key: string): Promise<void> {
    await this.redis.deadline.within(this.redis.client.del(key)).catch(this.unavailable);
  }

  /**
   * `PING` on the module's connection, for health checks: the round-trip time in ms, or
   * `SessionStoreUnavailableException` when Redis does not answer within `timeoutMs`.
   */
  ping(timeoutMs = 1000): Promise<number> {
    return this.redis.ping(timeoutMs).catch(this.unavailable);
  }

  // An arrow function so it can be passed to .catch() without a closure per call.
  private readonly unavailable = (err: unknown): never => {
    this.counters.redisError();
    this.redis.warn(`Redis unavailable: ${err instanceof Error ? err.message : String(err)}`);
    throw err instanceof SessionStoreUnavailableException ? err : new SessionStoreUnavailableException(err);
  };
}
