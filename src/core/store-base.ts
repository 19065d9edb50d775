/**
 * What every store call runs under (`SessionStoreBase`, which `SessionStore` extends): one
 * deadline, a failure mapped to a 503, the key names, and where each kind of step runs. Sends
 * no Redis command itself (PING is redis/connection.ts's).
 */
import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import { SessionCounters } from './counters.js';
import { SessionStoreUnavailableException } from './errors.js';
import { sessionKey, userIndexKey } from './keys.js';
import { SessionRedis } from './redis/connection.js';
import type { BulkTarget } from './store-bulk.js';
import type { FollowTarget } from './store-follow.js';
import type { RotateTarget } from './store-rotate.js';

/**
 * The store's frame. Every failure goes through `unavailable`: counted, logged (rate-limited),
 * and thrown as a 503.
 */
@Injectable()
export class SessionStoreBase {
  protected readonly prefix: string;

  constructor(
    protected readonly redis: SessionRedis,
    @Inject(RESOLVED_SESSION_OPTIONS) protected readonly config: ResolvedSessionOptions,
    private readonly counters: SessionCounters,
  ) {
    this.prefix = config.keyPrefix;
  }

  /** Where the many-session and rotation steps run (the writer exists once the connection's onModuleInit ran). */
  protected get bulk(): BulkTarget & RotateTarget {
    return { writer: this.redis.writer, keyPrefix: this.prefix, isCluster: this.redis.isCluster };
  }

  /**
   * Where follows run (store-follow.ts). A rotation's first step and the rest each run under
   * `writeTimeoutMs`: one that has not written its new key after twice that never will.
   */
  protected get following(): FollowTarget {
    const { client, writer, writeTimeoutMs } = this.redis;
    return { client, writer, keyPrefix: this.prefix, stuckMs: 2 * writeTimeoutMs };
  }

  sessionKey(id: string): string {
    return sessionKey(this.prefix, id);
  }

  /** The user's index; the number 1 and the string "1" have different ones (see `userIndexSegment`). */
  indexKey(userId: string | number): string {
    return userIndexKey(this.prefix, userId);
  }

  /**
   * `PING` on the module's connection, for health checks: the round-trip time in ms, or
   * `SessionStoreUnavailableException` when Redis does not answer within `timeoutMs` (the
   * connection's own timer, not the store's deadline).
   */
  ping(timeoutMs = 1000): Promise<number> {
    return this.redis.ping(timeoutMs).catch(this.unavailable);
  }

  /**
   * The one way the store runs work of several steps: one deadline for all of them (`timeoutMs`,
   * default `redisTimeoutMs`; writes that WAIT for replicas pass `writeTimeoutMs`), a failure
   * mapped to a 503. The deadline cancels nothing: the steps go on in their order, so a late
   * step never re-creates what an earlier one removed.
   */
  protected async run<T>(work: () => Promise<T>, timeoutMs?: number): Promise<T> {
    try {
      return await this.redis.deadline.within(work(), timeoutMs);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** `run` for one command already sent (its promise): no closure. */
  protected runOne<T>(command: Promise<T>, timeoutMs?: number): Promise<T> {
    return this.redis.deadline.within(command, timeoutMs).catch(this.unavailable);
  }

  // An arrow function so it can be passed to .catch() without a closure per call.
  protected readonly unavailable = (err: unknown): never => {
    this.counters.redisError();
    this.redis.warn(`Redis unavailable: ${err instanceof Error ? err.message : String(err)}`);
    throw err instanceof SessionStoreUnavailableException ? err : new SessionStoreUnavailableException(err);
  };
}
