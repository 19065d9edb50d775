/**
 * The per-instance session cache (option `cache`): a guarded call whose session is cached here
 * is answered from memory, with no Redis command, for as long as Redis cannot have dropped or
 * changed it unheard.
 *
 * - Every change to a key under the prefix, by anyone (this module on any instance, `redis-cli`,
 *   expiry, eviction, FLUSHDB), is reported by Redis on this instance's tracking connections
 *   (invalidations.ts) and drops the entry; this instance's own changes drop it at once too
 *   (`forget`), so a logout answered here is never followed by a hit here.
 * - When an invalidation might be missed (a tracking connection lost or silent, a node not
 *   tracked yet), everything is dropped and every call goes to Redis (`undefined`: bypass) until
 *   tracking is confirmed again.
 * - A hit checks the idle deadline (from the TTL Redis reported, counted from when the read was
 *   sent, on the monotonic clock: never later than Redis's own) and the absolute one.
 * - Sliding: at most one `GETEX` per session per interval (`slideEveryMs`, default a tenth of
 *   its idle timeout); a miss reads with the store's peek (a read: it changes nothing, so other
 *   instances keep their entries) and only slides when the last slide is older than that.
 *
 * Redis commands sent from this file: none of its own; a miss goes through the store
 * (`SessionStore#read`: nrsPeek; `#touch`: GETEX), the tracking through invalidations.ts.
 */
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Cluster, type RedisOptions } from 'ioredis';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../../options/resolve.js';
import { decodeSession } from '../codec.js';
import { SessionCounters } from '../counters.js';
import { SessionRedis } from '../redis/connection.js';
import { toSession } from '../session-view.js';
import { SessionStore } from '../store.js';
import { isSessionId, rememberToken, sessionIdOf, tokenDeadline, tokenIdleTtlMs, type TokenMemo } from '../token.js';
import type { Session } from '../types.js';
import { CacheMap, type CachedSession, type CacheSlot } from './cache-map.js';
import { SessionInvalidations } from './invalidations.js';

/** How often each tracking connection proves it is alive (a silent one is noticed within this plus `redisTimeoutMs`). */
const HEARTBEAT_MS = 1000;
/** A TTL within this of the absolute deadline already reaches it: sliding cannot make it longer. */
const CAP_TOLERANCE_MS = 100;

/** What a caller keeps between calls with one token (a socket's handshake): the token's memo, and the slot of its last hit. */
export interface CacheMemo extends TokenMemo {
  slot?: CacheSlot;
}

/** What a lookup answers: the session or null, at once on a hit; `undefined` when the cache is bypassed (ask Redis as usual). */
export type CacheLookup = Session | null | Promise<Session | null> | undefined;

@Injectable()
export class SessionCache implements OnApplicationShutdown {
  /** Whether HTTP and GraphQL calls answer from the cache. */
  readonly http: boolean;
  /** Whether socket messages (socket.io, ws) answer from it. */
  readonly sockets: boolean;
  private readonly map: CacheMap;
  private invalidations: SessionInvalidations | undefined;
  private readonly logger = new Logger('SessionModule');
  private prefix = '';
  private stopped = false;

  constructor(
    private readonly store: SessionStore,
    private readonly redis: SessionRedis,
    private readonly counters: SessionCounters,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly config: ResolvedSessionOptions,
  ) {
    this.http = config.cache.http;
    this.sockets = config.cache.sockets;
    this.map = new CacheMap(config.cache.max);
    if (this.http || this.sockets) {
      counters.cacheState(() => ({ ready: this.invalidations?.ready === true, entries: this.map.size }));
    }
  }

  /**
   * The session `token` names, as `SessionService.touch` (`slide`) or `get` would answer, from
   * memory on a hit; `undefined` when the cache cannot be trusted now (the caller asks Redis).
   * `memo`: where the token's id and deadline are kept for the next call with the same token
   * (a socket's messages), so they are worked out once, not per call; a hit leaves its slot there
   * too, for `again`.
   */
  lookup(token: string, slide: boolean, memo?: CacheMemo): CacheLookup {
    if (memo !== undefined) rememberToken(memo, token);
    const deadline = memo !== undefined ? memo.deadline! : tokenDeadline(token);
    const now = Date.now();
    if (deadline <= now) return null;
    const invalidations = this.invalidations ?? this.start();
    if (!invalidations?.ready) {
      this.counters.cacheLookup('bypass');
      return undefined;
    }
    const id = memo?.id ?? sessionIdOf(token);
    const mono = performance.now();
    const slot = this.map.find(id);
    const entry = slot?.entry;
    if (entry !== undefined && entry.stored.absoluteExpiresAt === deadline && mono < entry.idleUntil) {
      if (!slide || mono < entry.slideAt) {
        if (memo !== undefined) memo.slot = slot;
        this.counters.cacheLookup('hit');
        return hitSession(id, entry, now, now + (entry.idleUntil - mono));
      }
      // One slide per interval, whatever the concurrency: the others keep hitting meanwhile.
      (entry as { slideAt: number }).slideAt = Infinity;
      this.counters.cacheLookup('miss');
      return this.slide(id, token, deadline);
    }
    this.counters.cacheLookup('miss');
    return this.read(id, token, deadline, slide);
  }

  /**
   * A hit on a slot an earlier hit of the same token left in its memo (a socket's next message),
   * with no Map lookup and no token work: answered only while the map still holds that very entry
   * (any invalidation, flush or eviction kills the slot) and the same checks as `lookup`'s pass.
   * Undefined when they do not: the caller asks `lookup`, which knows what to do instead.
   */
  again(slot: CacheSlot, slide: boolean): Session | undefined {
    if (!slot.live || this.invalidations?.ready !== true) return undefined;
    const entry = slot.entry;
    const now = Date.now();
    if (now >= entry.stored.absoluteExpiresAt) return undefined;
    const mono = performance.now();
    if (mono >= entry.idleUntil || (slide && mono >= entry.slideAt)) return undefined;
    this.map.used(slot);
    this.counters.cacheLookup('hit');
    return hitSession(slot.id, entry, now, now + (entry.idleUntil - mono));
  }

  /** This instance changed or ended these sessions: their entries go now, not when Redis's report arrives. */
  forget(ids: readonly string[]): void {
    let count = 0;
    for (const id of ids) if (this.map.forget(id)) count++;
    if (count > 0) this.counters.cacheInvalidated('key', count);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    this.invalidations?.stop();
    this.map.clear();
  }

  /** A miss: one read (no slide, so no other instance loses its entry), kept if nothing changed meanwhile. */
  private async read(id: string, token: string, deadline: number, slide: boolean): Promise<Session | null> {
    const ticket = this.map.begin(id, performance.now());
    let kept: CachedSession | undefined;
    try {
      const entry = await this.store.read(id);
      const stored = entry && decodeSession(entry.value);
      if (!entry || !stored || stored.absoluteExpiresAt !== deadline) return null;
      const now = Date.now();
      const idleUntil = ticket.sentAt + entry.pttlMs;
      const ttlMs = stored.ttlMs ?? this.config.ttlMs;
      const capped = now + entry.pttlMs >= deadline - CAP_TOLERANCE_MS;
      const slideAt = capped ? Infinity : idleUntil - ttlMs + this.interval(ttlMs);
      if (slide && performance.now() >= slideAt) return await this.slide(id, token, deadline);
      // The data's JSON is taken before this call's handler is handed `stored.data` (it may change it).
      kept = { stored, idleUntil, slideAt, dataJson: stored.data === undefined ? undefined : JSON.stringify(stored.data) };
      return toSession(id, stored, now, now + entry.pttlMs);
    } finally {
      this.map.settle(ticket, kept);
    }
  }

  /**
   * The slide (`GETEX`, as `SessionService.touch`). Not kept: Redis reports the write to every
   * instance, this one included, and the next call reads the slid session back.
   */
  private async slide(id: string, token: string, deadline: number): Promise<Session | null> {
    const now = Date.now();
    const ttlMs = tokenIdleTtlMs(token) || this.config.ttlMs;
    const pxMs = Math.min(ttlMs, deadline - now);
    const value = await this.store.touch(id, pxMs);
    const stored = value === null ? null : decodeSession(value);
    if (!stored || stored.absoluteExpiresAt !== deadline) {
      this.map.forget(id);
      return null;
    }
    return toSession(id, stored, now, now + pxMs);
  }

  /** At most one slide per this, for a session idle `ttlMs` at most. */
  private interval(ttlMs: number): number {
    const given = this.config.cache.slideEveryMs;
    return given === null ? ttlMs / 10 : Math.min(given, ttlMs / 2);
  }

  /** The tracking connections open with the first lookup: an app that never uses the cache never opens them. */
  private start(): SessionInvalidations | undefined {
    if (this.stopped || this.config.problems.length > 0) return undefined;
    const client = this.redis.client;
    this.prefix = trackedPrefix(client, this.config.keyPrefix);
    this.invalidations = new SessionInvalidations(
      client,
      this.prefix,
      {
        keys: (keys) => this.invalidated(keys),
        flush: () => this.counters.cacheInvalidated('flush', this.map.clear()),
      },
      // Its own logger: SessionRedis.warn drops lines within 5 s of the last Redis warning, and
      // these are said once each (invalidations.ts keeps them rare), so none may be dropped.
      { heartbeatMs: HEARTBEAT_MS, timeoutMs: this.config.redisTimeoutMs, warn: (message) => this.logger.warn(message) },
    );
    this.invalidations.start();
    return this.invalidations;
  }

  private invalidated(keys: readonly string[]): void {
    let count = 0;
    for (const key of keys) {
      if (!key.startsWith(this.prefix)) continue;
      const id = key.slice(this.prefix.length);
      if (isSessionId(id) && this.map.forget(id)) count++;
    }
    if (count > 0) this.counters.cacheInvalidated('key', count);
  }
}

/**
 * A hit's session. Its `data` is a copy of its own, as a read from Redis gives every call: a
 * handler that changes the object it was handed (rather than calling update) changes nothing a
 * later call is given, and the entry keeps what Redis holds.
 */
function hitSession(id: string, entry: CachedSession, now: number, expiresAt: number): Session {
  const session = toSession(id, entry.stored, now, expiresAt);
  if (entry.dataJson !== undefined) session.data = JSON.parse(entry.dataJson) as Session['data'];
  return session;
}

/** The prefix Redis sees: the client's own ioredis `keyPrefix`, if any, then the module's. */
function trackedPrefix(client: SessionRedis['client'], keyPrefix: string): string {
  const own =
    client instanceof Cluster
      ? (client.options.keyPrefix ?? client.options.redisOptions?.keyPrefix)
      : (client.options as RedisOptions).keyPrefix;
  return `${own ?? ''}${keyPrefix}`;
}
