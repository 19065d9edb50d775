/**
 * Live sessions: long-lived connections (sockets, SSE streams) that end when their session does,
 * on any instance (`SessionLive`).
 *
 * Redis commands sent from this file: PUBLISH (`announce`, on the writer connection). Its
 * SUBSCRIBE goes through redis/subscriber.ts; sessions are looked at (an expiry, an "ended"
 * message, a resubscribe) through the store (`SessionStore#read`), from live-watches.ts.
 */
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import { SessionCache } from './cache/session-cache.js';
import { endedChannel } from './keys.js';
import { RareWarning, WatchRegistry, type SessionEndReason } from './live-watches.js';
import { openSubscriber, type RedisSubscriber } from './redis/subscriber.js';
import { SessionRedis } from './redis/connection.js';
import { SessionStore } from './store.js';
import { isSessionId } from './token.js';

export type { SessionEndReason } from './live-watches.js';

/** The most session ids one message carries: one `revokeAll` chunk. More go in several messages. */
export const MAX_IDS_PER_MESSAGE = 1000;
/** The longest message the subscriber decodes: that many ids (22 characters) with their spaces. */
export const MAX_MESSAGE_BYTES = MAX_IDS_PER_MESSAGE * 23;
/** With nothing left to watch, the subscriber connection closes after this (a reloading page reopens its stream). */
export const SUBSCRIBER_IDLE_MS = 5000;
/** A SUBSCRIBE that failed (Redis down, an ACL without `+subscribe`) is tried again after this, while watches remain. */
const SUBSCRIBE_RETRY_MS = 5000;
/** Oversized messages make every watched session be read at most once per this (a flood costs one round a second). */
const OVERSIZED_CHECK_MS = 1000;

/** Why messages of `<prefix>ended` may have been missed (`onMaybeMissed`). */
export type MaybeMissedCause = 'subscribed' | 'resubscribed' | 'oversized';

/**
 * Long-lived connections (sockets, SSE streams) that must end when their session does.
 *
 * - Ended on purpose (logout, revoke, revoke-all, rotate, eviction past the cap): on this
 *   instance at once; on the others with `liveRevocation` (the default): `SessionService`
 *   PUBLISHes the ids on `<prefix>ended` (`MAX_IDS_PER_MESSAGE` per message), and each instance
 *   holds one subscriber connection while it watches sessions (closed `SUBSCRIBER_IDLE_MS` after
 *   the last watch ends). A message is a claim, not a proof (whoever may PUBLISH there can send
 *   one): the watched sessions it names are read first, one read each, and only those whose key
 *   is gone end. A message over `MAX_MESSAGE_BYTES` is dropped undecoded.
 * - Missed messages (the subscriber was down, or had not subscribed yet): once the subscription
 *   is confirmed again, every watched session is read once, and `onMaybeMissed` listeners hear it.
 * - Expired (idle or absolute): one timer per watched session fires when its TTL runs out and
 *   reads the key once: gone means expired; still there (a request slid it) sets it again.
 * - At most `maxLiveConnectionsPerSession` connections per session on this instance: `watch`
 *   refuses the next one (null), so one session cannot hold memory without bound.
 *
 * Nothing is sent per guarded request or per socket message.
 */
@Injectable()
export class SessionLive implements OnApplicationShutdown {
  private readonly logger = new Logger('SessionModule');
  private readonly watches: WatchRegistry;
  private readonly missedListeners = new Set<(cause: MaybeMissedCause) => void>();
  private subscriber: RedisSubscriber<Redis | Cluster> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private oversizedTimer: NodeJS.Timeout | undefined;
  private oversizedCheckAt = 0;
  private readonly channel: string;
  private closed = false;
  private readonly droppedLog = new RareWarning(
    this.logger,
    (count, bytes) =>
      `liveRevocation: dropped ${count} message(s) on ${this.channel} over ${MAX_MESSAGE_BYTES} ` +
      `bytes (the last: ${bytes}); the module never sends one: is someone else allowed to PUBLISH there? (docs/operations.md, "Redis security")`,
  );

  constructor(
    private readonly redis: SessionRedis,
    store: SessionStore,
    private readonly cache: SessionCache,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly config: ResolvedSessionOptions,
  ) {
    this.channel = endedChannel(config.keyPrefix);
    this.watches = new WatchRegistry(
      (id) => store.read(id),
      config.maxLiveConnectionsPerSession,
      () => this.idle(),
    );
  }

  /** Whether ends on other instances reach this one (`liveRevocation`). */
  get crossInstance(): boolean {
    return this.config.liveRevocation;
  }

  /**
   * Calls `onEnd` once when the session ends (on any instance, with `liveRevocation`) or
   * expires; returns a function that stops watching, or null when the session already has
   * `maxLiveConnectionsPerSession` connections watched here (then nothing is watched: the
   * caller ends its connection). `expiresAt` is when its TTL runs out as far as this request
   * knows (`session.expiresAt`).
   */
  watch(sessionId: string, expiresAt: Date, onEnd: (reason: SessionEndReason) => void): (() => void) | null {
    const stop = this.watches.add(sessionId, expiresAt, onEnd);
    if (stop) this.ensureSubscribed();
    return stop;
  }

  /** Whether `watch` would refuse a new connection of this session now. */
  isFull(sessionId: string): boolean {
    return this.watches.isFull(sessionId);
  }

  /**
   * Internal (for a cache of sessions that must forget what it holds when an end may have gone
   * unheard): `listener` runs each time messages of `<prefix>ended` may have been missed, once
   * the subscription is confirmed again: `'subscribed'` (it was closed, or not yet open: it
   * opens with the first watch and closes when none is left), `'resubscribed'` (its connection
   * was lost and is back) and `'oversized'` (a message too long to read was dropped). Every
   * watched session is read once at those moments already. Returns the unsubscribe function.
   */
  onMaybeMissed(listener: (cause: MaybeMissedCause) => void): () => void {
    this.missedListeners.add(listener);
    return () => this.missedListeners.delete(listener);
  }

  /** Tells every instance that these sessions ended (a PUBLISH per `MAX_IDS_PER_MESSAGE` ids). Best effort: never throws. */
  announce(ids: readonly string[]): void {
    if (ids.length === 0) return;
    // This instance's cache and watches learn it at once, whatever happens to the PUBLISH.
    this.cache.forget(ids);
    this.watches.end(ids, 'ended');
    if (!this.config.liveRevocation) return;
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_MESSAGE) {
      const message = ids.slice(i, i + MAX_IDS_PER_MESSAGE).join(' ');
      this.redis.writer.publish(this.channel, message).catch((err: unknown) => {
        this.redis.warn(`liveRevocation: PUBLISH ${this.channel} failed (${err instanceof Error ? err.message : String(err)})`);
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    this.watches.clear();
    this.missedListeners.clear();
    this.closeSubscriber();
  }

  /** A message on `<prefix>ended`: the watched sessions it names are read, and those gone end. */
  private heard(message: string): void {
    const ids = message.split(' ', MAX_IDS_PER_MESSAGE).filter(isSessionId);
    this.watches.check(ids, 'ended');
  }

  /** The subscription is confirmed after a time it could not hear: everything watched is looked at once. */
  private maybeMissed(cause: MaybeMissedCause): void {
    this.watches.checkAll('ended');
    for (const listener of this.missedListeners) {
      try {
        listener(cause);
      } catch (err) {
        this.logger.error(`An onMaybeMissed listener threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  private ensureSubscribed(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.subscriber || this.retryTimer || this.closed || !this.config.liveRevocation) return;
    const subscriber: RedisSubscriber<Redis | Cluster> = openSubscriber(
      this.redis.client,
      {
        onMessage: (_channel, message) => this.heard(message),
        onResubscribed: () => {
          if (this.subscriber === subscriber) this.maybeMissed('resubscribed');
        },
        onOversized: (_channel, bytes) => this.oversized(bytes),
      },
      { maxMessageBytes: MAX_MESSAGE_BYTES },
    );
    this.subscriber = subscriber;
    subscriber.subscribe(this.channel).then(
      // Watches that began before this could not hear what was published meanwhile.
      () => {
        if (this.subscriber === subscriber) this.maybeMissed('subscribed');
      },
      (err: unknown) => {
        if (this.subscriber !== subscriber) return;
        this.redis.warn(
          `liveRevocation: SUBSCRIBE ${this.channel} failed (${err instanceof Error ? err.message : String(err)}); ` +
            `trying again in ${SUBSCRIBE_RETRY_MS / 1000} s. Until then sessions ended on other instances do not close ` +
            "this one's sockets and streams.",
        );
        this.closeSubscriber();
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (this.watches.size > 0) this.ensureSubscribed();
        }, SUBSCRIBE_RETRY_MS);
        this.retryTimer.unref();
      },
    );
  }

  /** Nothing is watched: the subscriber closes unless a watch starts within `SUBSCRIBER_IDLE_MS`. */
  private idle(): void {
    if (!this.subscriber || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.watches.size === 0) this.closeSubscriber();
    }, SUBSCRIBER_IDLE_MS);
    this.idleTimer.unref();
  }

  private closeSubscriber(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.closed) {
      clearTimeout(this.retryTimer);
      clearTimeout(this.oversizedTimer);
    }
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  private oversized(bytes: number): void {
    this.droppedLog.note(bytes);
    // Unread, it may have been an older instance's long announcement: what is watched is looked
    // at, at most once a second (the last of a flood still gets its round).
    if (this.oversizedTimer) return;
    const wait = this.oversizedCheckAt + OVERSIZED_CHECK_MS - Date.now();
    const check = () => {
      this.oversizedTimer = undefined;
      this.oversizedCheckAt = Date.now();
      if (!this.closed) this.maybeMissed('oversized');
    };
    if (wait <= 0) return check();
    this.oversizedTimer = setTimeout(check, wait);
    this.oversizedTimer.unref();
  }
}
