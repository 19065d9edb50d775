import { Inject, Injectable, Logger } from '@nestjs/common';
import { decodeSession, type StoredSession } from './codec.js';
import { SESSION_CONFIG } from '../http/metadata.js';
import { SessionStoreUnavailableException } from './errors.js';
import type { ResolvedSessionOptions } from '../options/options.js';
import { SessionMetrics } from '../integrations/metrics/metrics.js';
import { SessionRedis } from './redis/connection.js';
import type { IndexPosition } from './page.js';
import { userIndexKey } from './keys.js';

/** Ids per step of `revokeAll` (and of the liveness check when evicting past the cap). */
const REVOKE_CHUNK = 1000;

/** A stored session value with its remaining time to live. */
export interface StoredEntry {
  value: string;
  pttlMs: number;
}

/**
 * Every Redis command the module sends lives here.
 *
 * Layout (see README "Redis key layout"):
 * - `<prefix><id>`: STRING, the encoded session; TTL = idle timeout capped by the absolute deadline.
 * - `<prefix>user:<userId>`: ZSET of the user's session ids scored by absolute expiry (ms);
 *   expires with its longest-lived member. `<userId>` is `userIndexSegment(userId)` (session-keys.ts):
 *   `1` for the number 1, `"1"` for the string "1", `u-bob` for "u-bob".
 *
 * Multi-key changes are ordered single-key steps (each Cluster-safe), chosen so that
 * a revoked session can never come back and a usable session is never left out of
 * its user's index.
 */
@Injectable()
export class SessionStore {
  private readonly logger = new Logger('SessionModule');
  private lastErrorLog = 0;
  private readonly prefix: string;

  constructor(
    private readonly redis: SessionRedis,
    @Inject(SESSION_CONFIG) private readonly config: ResolvedSessionOptions,
    private readonly metrics: SessionMetrics,
  ) {
    this.prefix = config.keyPrefix;
  }

  sessionKey(id: string): string {
    return this.prefix + id;
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
    return this.redis.client.getex(this.prefix + id, 'PX', pxMs).catch(this.unavailable);
  }

  /** The value and remaining TTL, without sliding. */
  async read(id: string): Promise<StoredEntry | null> {
    const key = this.prefix + id;
    try {
      const [value, pttlMs] = await Promise.all([this.redis.client.get(key), this.redis.client.pttl(key)]);
      return value === null || pttlMs < 0 ? null : { value, pttlMs };
    } catch (err) {
      throw this.unavailable(err);
    }
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
      const write = writer.set(this.prefix + id, value, 'PX', pxMs, 'NX');
      // On one connection Redis runs commands in the order sent, so both can go in one
      // round-trip; a Cluster may route them to two nodes, so there the key goes first.
      if (this.redis.isCluster) await write;
      const [written, members] = await Promise.all([
        write,
        writer.nrsIndexAdd(indexKey, now, id, absoluteExpiresAt, replacesId, max),
      ]);
      if (written !== 'OK') throw new Error('session id collision'); // 2^-128: a broken RNG
      const evicted = members.length > 0 ? await this.evictOldest(indexKey, id, members) : [];
      await this.redis.replicated();
      return evicted;
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private async evictOldest(indexKey: string, newId: string, members: string[]): Promise<string[]> {
    const writer = this.redis.writer;
    const others: string[] = [];
    for (let i = 0; i < members.length; i += 2) if (members[i] !== newId) others.push(members[i]);
    // A chunk at a time: an index far past the cap (the cap lowered, or a user who piled up
    // sessions while there was none) must not queue one EXISTS per member at once.
    const alive: number[] = [];
    for (let i = 0; i < others.length; i += REVOKE_CHUNK) {
      const chunk = others.slice(i, i + REVOKE_CHUNK);
      for (const exists of await Promise.all(chunk.map((other) => writer.exists(this.prefix + other)))) alive.push(exists);
    }
    const live = others.filter((_, i) => alive[i] === 1);
    const dead = others.filter((_, i) => alive[i] !== 1);
    // Members come oldest first; the new session always stays.
    const excess = Math.max(0, live.length + 1 - this.config.maxSessionsPerUser);
    const evicted = live.slice(0, excess);
    // Sessions first, index after: if Redis fails half-way, an evicted session is either
    // dead or still listed, never alive and unlisted.
    const stale = [...dead, ...evicted];
    const evict = new Set(evicted);
    for (let i = 0; i < stale.length; i += REVOKE_CHUNK) {
      const chunk = stale.slice(i, i + REVOKE_CHUNK);
      await Promise.all(chunk.filter((id) => evict.has(id)).map((other) => writer.del(this.prefix + other)));
      await writer.zrem(indexKey, ...chunk);
    }
    return evicted;
  }

  /**
   * Deletes a session and returns what it held (`GETDEL`), or null if it was gone.
   * Leaves the index and replication to the caller (rotate's insert does both).
   */
  take(id: string): Promise<string | null> {
    return this.redis.writer.getdel(this.prefix + id).catch(this.unavailable);
  }

  /** Ends a session: deletes the key (`GETDEL`), then its index entry. Returns what it held. */
  async destroy(id: string): Promise<StoredSession | null> {
    const writer = this.redis.writer;
    try {
      const value = await writer.getdel(this.prefix + id);
      const stored = value === null ? null : decodeSession(value);
      if (stored) await writer.zrem(this.indexKey(stored.userId), id);
      await this.redis.replicated();
      return stored;
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /**
   * One page of a user's index, newest first (score descending, then id descending), after
   * `after` (a position a previous page ended on, whether or not that entry is still there).
   * Prunes the ids past their absolute deadline first. One script call, whatever the index holds.
   */
  async indexPage(
    userId: string | number,
    now: number,
    count: number,
    after: IndexPosition | null,
  ): Promise<IndexPosition[]> {
    try {
      const reply = await this.redis.client.nrsIndexPage(this.indexKey(userId), now, count, after?.score ?? '', after?.id ?? '');
      const page: IndexPosition[] = [];
      for (let i = 0; i + 1 < reply.length; i += 2) page.push({ id: reply[i], score: reply[i + 1] });
      return page;
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** Reads many sessions at once; ids whose key is gone are dropped from the index. */
  async readIndexed(userId: string | number, ids: string[]): Promise<Array<StoredEntry | null>> {
    const client = this.redis.client;
    try {
      const entries = await Promise.all(
        ids.map(async (id) => {
          const key = this.prefix + id;
          const [value, pttlMs] = await Promise.all([client.get(key), client.pttl(key)]);
          return value === null || pttlMs < 0 ? null : { value, pttlMs };
        }),
      );
      const gone = ids.filter((_, i) => entries[i] === null);
      if (gone.length > 0) await client.zrem(this.indexKey(userId), ...gone);
      return entries;
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
      // Ownership is read first, the session deleted next, the index entry last: a failure
      // at any step (a 503) leaves the session dead, or alive and still listed so a retry
      // can revoke it, never alive and unlisted.
      if ((await writer.zscore(indexKey, id)) === null) return false;
      const deleted = (await writer.del(this.prefix + id)) === 1;
      await writer.zrem(indexKey, id);
      await this.redis.replicated();
      return deleted;
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /**
   * Revokes every session of a user but `exceptId`. Returns the ids taken out of the
   * index and how many of them were live sessions.
   *
   * The index is worked through in chunks of `REVOKE_CHUNK` ids, oldest first, one chunk at a
   * time: read the ids, delete their sessions, then take exactly those ids out of the index.
   * So a user with 50,000 sessions never queues 50,000 keys of work at once ahead of other
   * users' requests, and a failure half-way (a 503) leaves every session dead or still listed,
   * for a retry to finish. Only ids with a deadline no later than the newest one indexed when
   * revokeAll began are taken: a login that ends after it began is left alone and stays
   * listed (its key was written before its index entry).
   */
  async revokeAll(userId: string | number, exceptId = ''): Promise<{ ids: string[]; deleted: number }> {
    const writer = this.redis.writer;
    const indexKey = this.indexKey(userId);
    try {
      // [id, score] flat (RESP2) or [[id, score]] (RESP3): flattened either way.
      const newest = ((await writer.zrange(indexKey, 0, '0', 'REV', 'WITHSCORES')) as unknown[]).flat();
      const ids: string[] = [];
      let deleted = 0;
      if (newest.length < 2) return { ids, deleted };
      const upTo = String(newest[1]);
      for (;;) {
        // Each pass takes the oldest ids left (the ones before were just removed); `except` is
        // the only one that stays, so one more than a chunk is read.
        const batch = await writer.zrange(indexKey, '-inf', upTo, 'BYSCORE', 'LIMIT', 0, REVOKE_CHUNK + 1);
        const chunk = batch.filter((id) => id !== exceptId).slice(0, REVOKE_CHUNK);
        if (chunk.length === 0) break;
        deleted += await this.deleteSessions(chunk);
        await writer.zrem(indexKey, ...chunk);
        for (const id of chunk) ids.push(id);
      }
      await this.redis.replicated();
      return { ids, deleted };
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
      const [count, pttlMs] = await this.redis.client.nrsThrottle(this.prefix + key, delta, windowMs);
      return { count, pttlMs };
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** Deletes a throttle counter (a successful login resets its username's count). */
  async resetCounter(key: string): Promise<void> {
    await this.redis.client.del(this.prefix + key).catch(this.unavailable);
  }

  /**
   * Deletes many session keys; returns how many existed. One DEL per 500 keys where all
   * keys share a node (10,000 single-key DELs cost ~100 ms of client CPU); one DEL per
   * key on a Cluster, where a multi-key DEL must stay within one hash slot.
   */
  private async deleteSessions(ids: string[]): Promise<number> {
    const client = this.redis.writer;
    const keys = ids.map((id) => this.prefix + id);
    const batches: Promise<number>[] = [];
    if (this.redis.isCluster) {
      for (const key of keys) batches.push(client.del(key));
    } else {
      for (let i = 0; i < keys.length; i += 500) batches.push(client.del(...keys.slice(i, i + 500)));
    }
    const deleted = await Promise.all(batches);
    return deleted.reduce((sum, n) => sum + n, 0);
  }

  /**
   * `PING` on the module's connection (a Cluster: one of its nodes), for health checks.
   * Resolves with the round-trip time in ms; throws `SessionStoreUnavailableException`
   * when Redis does not answer within `timeoutMs` (also for a client passed in without
   * a `commandTimeout`, which would otherwise wait for ever).
   */
  async ping(timeoutMs = 1000): Promise<number> {
    const start = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`PING: no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.redis.client.ping(), timeout]);
      return performance.now() - start;
    } catch (err) {
      throw this.unavailable(err);
    } finally {
      clearTimeout(timer);
    }
  }

  // An arrow function so it can be passed to .catch() without a closure per call.
  private readonly unavailable = (err: unknown): never => {
    this.metrics.redisError();
    const now = Date.now();
    if (now - this.lastErrorLog > 5000) {
      this.lastErrorLog = now;
      this.logger.warn(`Redis unavailable: ${err instanceof Error ? err.message : String(err)}`);
    }
    throw err instanceof SessionStoreUnavailableException ? err : new SessionStoreUnavailableException(err);
  };
}
