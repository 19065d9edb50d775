import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import { endedChannel } from './keys.js';
import { SessionRedis } from './redis/connection.js';
import { SessionStore } from './store.js';

/** Why a watched session ended. */
export type SessionEndReason = 'ended' | 'expired';

interface Watch {
  onEnd(reason: SessionEndReason): void;
  timer: NodeJS.Timeout | undefined;
}

/** The expiry re-check never waits longer than this, so a session slid elsewhere is looked at again. */
const MAX_RECHECK_MS = 2_147_000_000;
/** After its TTL ran out, a key is gone within this (Redis expires keys actively ~10 times a second). */
const EXPIRY_GRACE_MS = 200;

/**
 * Long-lived connections (sockets, SSE streams) that must end when their session does.
 *
 * - Ended on purpose (logout, revoke, revoke-all, rotate, eviction past the cap), on any
 *   instance: with `liveRevocation` (the default), `SessionService` PUBLISHes the session ids on one
 *   channel, `<prefix>ended`; each instance holds one subscriber connection, opened when its
 *   first watch starts, and ends the watches of those ids.
 * - Expired (idle or absolute): a timer per watched session fires when its TTL runs out and
 *   reads the key's TTL once: gone means expired; still there (a request slid it) sets the
 *   timer again.
 *
 * Nothing is sent per guarded request or per socket message.
 */
@Injectable()
export class SessionLive implements OnApplicationShutdown {
  private readonly logger = new Logger('SessionModule');
  private readonly watches = new Map<string, Set<Watch>>();
  private subscriber: Redis | Cluster | undefined;
  private readonly channel: string;
  private closed = false;

  constructor(
    private readonly redis: SessionRedis,
    private readonly store: SessionStore,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly config: ResolvedSessionOptions,
  ) {
    this.channel = endedChannel(config.keyPrefix);
  }

  /** Whether ends on other instances reach this one (`liveRevocation`). */
  get crossInstance(): boolean {
    return this.config.liveRevocation;
  }

  /**
   * Calls `onEnd` once when the session ends (on any instance, with `liveRevocation`) or
   * expires; returns a function that stops watching. `expiresAt` is when its TTL runs out
   * as far as this request knows (`session.expiresAt`).
   */
  watch(sessionId: string, expiresAt: Date, onEnd: (reason: SessionEndReason) => void): () => void {
    const watch: Watch = { onEnd, timer: undefined };
    let set = this.watches.get(sessionId);
    if (!set) this.watches.set(sessionId, (set = new Set()));
    set.add(watch);
    this.ensureSubscribed();
    this.schedule(sessionId, watch, expiresAt.getTime() - Date.now());
    return () => this.unwatch(sessionId, watch);
  }

  /** Tells every instance that these sessions ended (one PUBLISH). Best effort: never throws. */
  announce(ids: readonly string[]): void {
    if (ids.length === 0) return;
    // This instance's watches end at once, whatever happens to the PUBLISH.
    this.ended(ids);
    if (!this.config.liveRevocation) return;
    this.redis.writer.publish(this.channel, ids.join(' ')).catch((err: unknown) => {
      this.redis.warn(`liveRevocation: PUBLISH ${this.channel} failed (${err instanceof Error ? err.message : String(err)})`);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    for (const set of this.watches.values()) for (const watch of set) clearTimeout(watch.timer);
    this.watches.clear();
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  private ended(ids: readonly string[], reason: SessionEndReason = 'ended'): void {
    for (const id of ids) {
      const set = this.watches.get(id);
      if (!set) continue;
      this.watches.delete(id);
      for (const watch of set) {
        clearTimeout(watch.timer);
        try {
          watch.onEnd(reason);
        } catch (err) {
          this.logger.error(`A session watch threw: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
  }

  private unwatch(sessionId: string, watch: Watch): void {
    clearTimeout(watch.timer);
    const set = this.watches.get(sessionId);
    if (!set) return;
    set.delete(watch);
    if (set.size === 0) this.watches.delete(sessionId);
  }

  /** Looks at the key when its TTL should have run out: gone ends the watch, alive sets the timer again. */
  private schedule(sessionId: string, watch: Watch, inMs: number): void {
    const delay = Math.min(Math.max(inMs, 0) + EXPIRY_GRACE_MS, MAX_RECHECK_MS);
    watch.timer = setTimeout(() => {
      this.store.read(sessionId).then(
        (entry) => {
          if (!this.watches.get(sessionId)?.has(watch)) return;
          if (entry === null) this.ended([sessionId], 'expired');
          else this.schedule(sessionId, watch, entry.pttlMs);
        },
        // Redis unavailable: look again shortly rather than end a session that may be fine.
        () => {
          if (this.watches.get(sessionId)?.has(watch)) this.schedule(sessionId, watch, 1000);
        },
      );
    }, delay);
    watch.timer.unref();
  }

  private ensureSubscribed(): void {
    if (this.subscriber || this.closed || !this.config.liveRevocation) return;
    const client = this.redis.client;
    // Its own connection: a subscribed connection runs nothing else. No command timeout: it waits for messages.
    const subscriber = this.redis.isCluster
      ? (client as Cluster).duplicate()
      : (client as Redis).duplicate({ lazyConnect: false, enableAutoPipelining: false, commandTimeout: undefined });
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined); // reconnects by itself; the main client logs outages
    subscriber.on('message', (_channel: string, message: string) => this.ended(message.split(' ')));
    subscriber.subscribe(this.channel).catch((err: unknown) => {
      this.redis.warn(
        `liveRevocation: SUBSCRIBE ${this.channel} failed (${err instanceof Error ? err.message : String(err)}); ` +
          "sessions ended on other instances will not close this one's sockets and streams until they expire.",
      );
    });
  }
}
