import { Inject, Injectable, Logger } from '@nestjs/common';
import { SESSION_CONFIG } from './session.constants.js';
import { SessionStoreUnavailableException } from './session.errors.js';
import type { ResolvedSessionOptions } from './session-options.js';
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
   */
  async insert(
    id: string,
    value: string,
    pxMs: number,
    userId: string | number,
    absoluteExpiresAt: number,
    now: number,
    replacesId = '',
  ): Promise<void> {
    const client = this.redis.client;
    const indexKey = this.indexKey(userId);
    const max = this.config.maxSessionsPerUser;
    try {
      const write = client.set(this.prefix + id, value, 'PX', pxMs, 'NX');
      // On one connection Redis runs commands in the order sent, so both can go in one
      // round-trip; a Cluster may route them to two nodes, so there the key goes first.
      if (this.redis.isCluster) await write;
      const [written, members] = await Promise.all([
        write,
        client.nrsIndexAdd(indexKey, now, id, absoluteExpiresAt, replacesId, max),
      ]);
      if (written !== 'OK') throw new Error('session id collision'); // 2^-128: a broken RNG
      if (members.length > 0) await this.evictOldest(indexKey, id, members);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private async evictOldest(indexKey: string, newId: string, members: string[]): Promise<void> {
    const client = this.redis.client;
    const others: string[] = [];
    for (let i = 0; i < members.length; i += 2) if (members[i] !== newId) others.push(members[i]);
    const alive = await Promise.all(others.map((other) => client.exists(this.prefix + other)));
    const live = others.filter((_, i) => alive[i] === 1);
    const dead = others.filter((_, i) => alive[i] !== 1);
    // Members come oldest first; the new session always stays.
    const excess = Math.max(0, live.length + 1 - this.config.maxSessionsPerUser);
    const evicted = live.slice(0, excess);
    const stale = [...dead, ...evicted];
    await Promise.all([
      stale.length > 0 ? client.zrem(indexKey, ...stale) : null,
      ...evicted.map((other) => client.del(this.prefix + other)),
    ]);
  }

  /** Deletes a session and returns what it held (`GETDEL`), or null if it was gone. */
  take(id: string): Promise<string | null> {
    return this.redis.client.getdel(this.prefix + id).catch(this.unavailable);
  }

  /** Removes one id from a user's index. */
  async unindex(userId: string | number, id: string): Promise<void> {
    await this.redis.client.zrem(this.indexKey(userId), id).catch(this.unavailable);
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
    const client = this.redis.client;
    try {
      const removed = await client.zrem(this.indexKey(userId), id);
      if (removed !== 1) return false;
      return (await client.del(this.prefix + id)) === 1;
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** Revokes every session of a user but `exceptId`; returns how many live ones were deleted. */
  async revokeAll(userId: string | number, exceptId = ''): Promise<number> {
    const client = this.redis.client;
    try {
      const ids = await client.nrsIndexClear(this.indexKey(userId), exceptId);
      return await this.deleteSessions(ids);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /**
   * Deletes many session keys; returns how many existed. One DEL per 500 keys where all
   * keys share a node (10,000 single-key DELs cost ~100 ms of client CPU); one DEL per
   * key on a Cluster, where a multi-key DEL must stay within one hash slot.
   */
  private async deleteSessions(ids: string[]): Promise<number> {
    const client = this.redis.client;
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

  // An arrow function so it can be passed to .catch() without a closure per call.
  private readonly unavailable = (err: unknown): never => {
    const now = Date.now();
    if (now - this.lastErrorLog > 5000) {
      this.lastErrorLog = now;
      this.logger.warn(`Redis unavailable: ${err instanceof Error ? err.message : String(err)}`);
    }
    throw err instanceof SessionStoreUnavailableException ? err : new SessionStoreUnavailableException(err);
  };
}
