import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Cluster, type Redis } from 'ioredis';
import { SESSION_CONFIG } from '../../http/metadata.js';
import type { ResolvedSessionOptions } from '../../options/options.js';
import { SessionRedis } from '../../core/redis/connection.js';
import { isSessionId } from '../../core/token.js';
import type { Session } from '../../core/types.js';

/** Event names, for `@OnEvent(SessionEvent.Created)` (`@nestjs/event-emitter`). */
export const SessionEvent = {
  /** `{ session }`: a login or `SessionService.create`. */
  Created: 'session.created',
  /** `{ sessionId, userId }`: a logout or `SessionService.destroy`. */
  Destroyed: 'session.destroyed',
  /** `{ sessionId, userId, reason }`: `revoke`, `revokeAll`, or eviction past `maxSessionsPerUser`. */
  Revoked: 'session.revoked',
  /** `{ sessionId, previousSessionId, userId }`: `SessionService.rotate`. */
  Rotated: 'session.rotated',
  /** `{ sessionId }`: Redis expired the session key (needs `expiredEvents: true`). */
  Expired: 'session.expired',
} as const;

export interface SessionCreatedEvent {
  session: Session;
}
export interface SessionDestroyedEvent {
  sessionId: string;
  userId: string | number;
}
export interface SessionRevokedEvent {
  sessionId: string;
  userId: string | number;
  reason: 'revoke' | 'revoke-all' | 'max-sessions';
}
export interface SessionRotatedEvent {
  sessionId: string;
  previousSessionId: string;
  userId: string | number;
}
export interface SessionExpiredEvent {
  sessionId: string;
}

/**
 * Where Redis publishes the expiries of one database (`notify-keyspace-events Ex`). One
 * channel, not the `__keyevent@*__` pattern: keys of other databases are not this module's.
 */
const expiredChannel = (db: number) => `__keyevent@${db}__:expired`;

interface Emitter {
  emit(event: string, payload: unknown): unknown;
}

/**
 * Publishes session events through `@nestjs/event-emitter` when the app has it
 * (`EventEmitterModule.forRoot()`); does nothing otherwise. The package is optional:
 * it is looked up at boot, never imported by the module's code.
 * Events are notifications: nothing in the module depends on them.
 */
@Injectable()
export class SessionEvents implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SessionModule');
  private emitter: Emitter | undefined;
  private subscribers: Redis[] = [];

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly redis: SessionRedis,
    @Inject(SESSION_CONFIG) private readonly config: ResolvedSessionOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.emitter = await this.findEmitter();
    if (!this.config.expiredEvents) return;
    if (!this.emitter) {
      this.logger.warn('expiredEvents is on, but no EventEmitter2 was found: import EventEmitterModule.forRoot() from @nestjs/event-emitter.');
      return;
    }
    await this.subscribeToExpiries();
  }

  async onApplicationShutdown(): Promise<void> {
    const subscribers = this.subscribers;
    this.subscribers = [];
    for (const subscriber of subscribers) subscriber.disconnect();
  }

  emit(event: (typeof SessionEvent)[keyof typeof SessionEvent], payload: unknown): void {
    if (!this.emitter) return;
    try {
      this.emitter.emit(event, payload);
    } catch (err) {
      // A listener's bug must not fail a login or a logout.
      this.logger.error(`A listener of ${event} threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async findEmitter(): Promise<Emitter | undefined> {
    try {
      const { EventEmitter2 } = await import('@nestjs/event-emitter');
      return this.moduleRef.get(EventEmitter2, { strict: false }) as Emitter;
    } catch {
      return undefined; // not installed, or EventEmitterModule not imported
    }
  }

  /**
   * One subscriber connection per node: keyspace notifications are node-local on a
   * Cluster. Replicas are subscribed too, so a promoted replica keeps reporting.
   */
  private async subscribeToExpiries(): Promise<void> {
    const client = this.redis.client;
    const nodes: Redis[] = client instanceof Cluster ? client.nodes('all') : [client as Redis];
    const sessionPrefix = this.config.keyPrefix;
    for (const node of nodes) {
      const subscriber = node.duplicate({ lazyConnect: false, enableAutoPipelining: false, commandTimeout: undefined });
      subscriber.on('error', () => undefined); // reconnects by itself; the main client logs outages
      this.subscribers.push(subscriber);
      const where = `${node.options.host}:${node.options.port}`;
      // A Cluster has only database 0.
      const channel = expiredChannel(client instanceof Cluster ? 0 : (node.options.db ?? 0));
      const flags = await subscriber.config('GET', 'notify-keyspace-events').then(
        (reply) => String((reply as string[])[1] ?? ''),
        // An ACL user without CONFIG (the least rule, README "Redis security") cannot read
        // the setting; the subscription below still works where it is set.
        () => undefined,
      );
      if (flags === undefined) {
        this.logger.warn(
          `Could not read notify-keyspace-events on Redis ${where} (no CONFIG permission?): session.expired ` +
            "events arrive only if it includes 'Ex'.",
        );
      } else if (!flags.includes('E') || !(flags.includes('x') || flags.includes('A'))) {
        this.logger.warn(
          `Redis ${where} has notify-keyspace-events '${flags}': no session.expired events ` +
            "until it includes 'Ex' (redis-cli CONFIG SET notify-keyspace-events Ex).",
        );
      }
      subscriber.on('message', (_channel: string, key: string) => {
        // Only session keys: user indexes and throttle counters share the prefix, and their
        // names (`user:…`, `throttle:ip:…`) are never a session id.
        if (key.startsWith(sessionPrefix)) {
          const sessionId = key.slice(sessionPrefix.length);
          if (isSessionId(sessionId)) this.emit(SessionEvent.Expired, { sessionId } satisfies SessionExpiredEvent);
        }
      });
      try {
        await subscriber.subscribe(channel);
      } catch (err) {
        // Boot fails, and Nest runs no shutdown hook then: close the subscribers here so
        // they do not keep the process alive.
        await this.onApplicationShutdown();
        throw new Error(
          `expiredEvents: SUBSCRIBE ${channel} failed on Redis ${where}: ` +
            `${err instanceof Error ? err.message : String(err)}. An ACL user needs +subscribe and the channel ` +
            `permission &${channel} (or &__keyevent@*__:expired); or set expiredEvents: false.`,
        );
      }
    }
  }
}
