/**
 * `expiredEvents: true`: Redis's expiry notifications of session keys as `session.expired`
 * events (`SessionExpirySubscriber`).
 *
 * Redis commands sent from this file: CONFIG GET notify-keyspace-events (a boot-time check, on
 * each subscriber connection). Its SUBSCRIBE goes through core/redis/subscriber.ts.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Cluster, type Redis } from 'ioredis';
import { SessionEvent, type SessionExpiredEvent } from '../../core/events.js';
import { sessionIdOfKey } from '../../core/keys.js';
import { SessionRedis } from '../../core/redis/connection.js';
import { openSubscriber, type RedisSubscriber } from '../../core/redis/subscriber.js';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../../options/resolve.js';
import { SessionEvents } from './events.js';

/**
 * Where Redis publishes the expiries of one database (`notify-keyspace-events Ex`). One
 * channel, not the `__keyevent@*__` pattern: keys of other databases are not this module's.
 */
const expiredChannel = (db: number) => `__keyevent@${db}__:expired`;

/**
 * `expiredEvents: true`: turns Redis's expiry notifications of session keys into
 * `session.expired` events. Fire-and-forget, like the notifications themselves.
 */
@Injectable()
export class SessionExpirySubscriber implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SessionModule');
  private subscribers: RedisSubscriber<Redis>[] = [];

  constructor(
    private readonly events: SessionEvents,
    private readonly redis: SessionRedis,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly config: ResolvedSessionOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.expiredEvents) return;
    if (!(await this.events.ready())) {
      this.logger.warn(
        'expiredEvents is on, but no EventEmitter2 was found: import EventEmitterModule.forRoot() from @nestjs/event-emitter.',
      );
      return;
    }
    await this.subscribeToExpiries();
  }

  async onApplicationShutdown(): Promise<void> {
    const subscribers = this.subscribers;
    this.subscribers = [];
    for (const subscriber of subscribers) subscriber.disconnect();
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
      const subscriber = openSubscriber(node, {
        onMessage: (_channel, key) => {
          // Only session keys: user indexes and throttle counters share the prefix (keys.ts).
          const sessionId = sessionIdOfKey(sessionPrefix, key);
          if (sessionId !== null) this.events.emit(SessionEvent.Expired, { sessionId } satisfies SessionExpiredEvent);
        },
      });
      this.subscribers.push(subscriber);
      const where = `${node.options.host}:${node.options.port}`;
      // A Cluster has only database 0.
      const channel = expiredChannel(client instanceof Cluster ? 0 : (node.options.db ?? 0));
      const flags = await subscriber.connection.config('GET', 'notify-keyspace-events').then(
        (reply) => String((reply as string[])[1] ?? ''),
        // An ACL user without CONFIG (the least rule, docs/operations.md, "Redis security") cannot read
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
          { cause: err },
        );
      }
    }
  }
}
