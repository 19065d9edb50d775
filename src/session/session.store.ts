import { Inject, Injectable, Logger } from '@nestjs/common';
import { decodeSession, type StoredSession } from './session.codec.js';
import { SESSION_CONFIG } from './session.constants.js';
import { SessionStoreUnavailableException } from './session.errors.js';
import type { ResolvedSessionOptions } from './session-options.js';
import { SessionMetrics } from './session.metrics.js';
import { SessionRedis } from './session.redis.js';

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
 *   expires with its longest-lived member.
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
  private readonly indexPrefix: string;

  constructor(
    private readonly redis: SessionRedis,
    @Inject(SESSION_CONFIG) private readonly config: ResolvedSessionOptions,
    private readonly metrics: SessionMetrics,
  ) {
    this.prefix = config.keyPrefix;
    this.indexPrefix = `${config.keyPrefix}user:`;
  }

  sessionKey(id: string): string {
    return this.prefix + id;
  }

  indexKey(userId: string | number): string {
    return this.indexPrefix + String(userId);
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
    const alive = await Promise.all(others.map((other) => writer.exists(this.prefix + other)));
    const live = others.filter((_, i) => alive[i] === 1);
    const dead = others.filter((_, i) => alive[i] !== 1);
    // Members come oldest first; the new session always stays.
    const excess = Math.max(0, live.length + 1 - this.config.maxSessionsPerUser);
    const evicted = live.slice(0, excess);
    // Sessions first, index after: if Redis fails half-way, an evicted session is either
    // dead or still listed, never alive and unlisted.
    await Promise.all(evicted.map((other) => writer.del(this.prefix + other)));
    const stale = [...dead, ...evicted];
    if (stale.length > 0) await writer.zrem(indexKey, ...stale);
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

  /** The ids in a user's index (pruned of those past their absolute deadline), oldest first. */
  async indexedIds(userId: string | number, now: number): Promise<string[]> {
    const indexKey = this.indexKey(userId);
    try {
      const [, ids] = await Promise.all([
        this.redis.client.zremrangebyscore(indexKey, '-inf', String(now)),
        this.redis.client.zrange(indexKey, 0, '-1'),
      ]);
      return ids;
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
   */
  async revokeAll(userId: string | number, exceptId = ''): Promise<{ ids: string[]; deleted: number }> {
    const writer = this.redis.writer;
    const indexKey = this.indexKey(userId);
    try {
      // Read the ids, delete their sessions, then take exactly those ids out of the index:
      // a failure half-way leaves every session dead or still listed. A login indexed after
      // the read is not touched, and stays listed (its key was written before its index entry).
      const ids = (await writer.zrange(indexKey, 0, '-1')).filter((id) => id !== exceptId);
      const deleted = await this.deleteSessions(ids);
      for (let i = 0; i < ids.length; i += 1000) await writer.zrem(indexKey, ...ids.slice(i, i + 1000));
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
