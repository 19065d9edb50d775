import { readFileSync } from 'node:fs';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { SESSION_CONFIG } from '../../http/metadata.js';
import { SessionOptionsError, type ResolvedSessionOptions } from '../../options/options.js';

/** The Lua scripts the store registers with `defineCommand` (sent as EVALSHA). */
export interface SessionScripts {
  nrsIndexAdd(
    indexKey: string,
    now: number,
    id: string,
    absoluteExpiresAt: number,
    removeId: string,
    maxSessions: number,
  ): Promise<string[]>;
  nrsThrottle(key: string, delta: number, windowMs: number): Promise<[number, number]>;
  /** Prunes, then up to `count` members after (`afterScore`, `afterId`) newest first: `{id, score, ...}`. */
  nrsIndexPage(indexKey: string, now: number, count: number, afterScore: string, afterId: string): Promise<string[]>;
}

export type SessionRedisClient = (Redis | Cluster) & SessionScripts;

const script = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

function defineScripts(client: Redis | Cluster): void {
  client.defineCommand('nrsIndexAdd', { numberOfKeys: 1, lua: script('index-add-1') });
  client.defineCommand('nrsThrottle', { numberOfKeys: 1, lua: script('throttle-1') });
  client.defineCommand('nrsIndexPage', { numberOfKeys: 1, lua: script('index-page-1') });
}

/** QUIT, or a hard disconnect if Redis does not answer within 2 s. */
async function close(client: Redis | Cluster): Promise<void> {
  const quit = client.quit().then(
    () => undefined,
    () => undefined,
  );
  await Promise.race([quit, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
  client.disconnect();
}

/**
 * Defaults for connections the module creates: fail fast (503) instead of queueing.
 * Auto-pipelining keeps one batch in flight per node and sends the next when it
 * settles, so a stalled Redis answers a request after up to two command timeouts:
 * 500 ms each keeps the 503 within about a second.
 */
const CLIENT_DEFAULTS: RedisOptions = {
  lazyConnect: true,
  enableAutoPipelining: true,
  commandTimeout: 500,
  connectTimeout: 2000,
  maxRetriesPerRequest: 1,
  retryStrategy: (attempt: number) => Math.min(attempt * 50, 500),
};

/**
 * The module's Redis connection: validates the options (so bad ones fail `app.init()`
 * with a clear message), creates or adopts the client, registers the scripts, and on
 * shutdown closes the client only if the module created it.
 */
@Injectable()
export class SessionRedis implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SessionModule');
  private lastErrorLog = 0;
  private owned = false;
  /** Set in `onModuleInit`; every store method goes through it. */
  client!: SessionRedisClient;
  /**
   * The connection for the writes that matter for security (login, logout, revoke,
   * rotate). The same as `client`, except with `durability: 'replicated'`, where it is a
   * connection of its own: `WAIT` blocks the connection it runs on.
   */
  writer!: SessionRedisClient;
  /** True for a Redis Cluster: two keys may live on two nodes, with no order between them. */
  isCluster = false;
  private ownsWriter = false;

  constructor(@Inject(SESSION_CONFIG) private readonly config: ResolvedSessionOptions) {}

  onModuleInit(): void {
    if (this.config.problems.length > 0) throw new SessionOptionsError(this.config.problems);
    const client = this.createOrAdopt();
    defineScripts(client);
    this.client = client as SessionRedisClient;
    this.writer = this.client;
    this.isCluster = client instanceof Cluster || (client as { isCluster?: boolean }).isCluster === true;
    if (this.config.durability === 'replicated') {
      // The WAIT timeout must end before the command timeout does.
      const commandTimeout = Math.max(1000, this.config.replicationTimeoutMs + 500);
      const writer = client instanceof Cluster
        ? client.duplicate(undefined, { redisOptions: { ...client.options.redisOptions, commandTimeout } })
        : (client as Redis).duplicate({ commandTimeout });
      writer.on('error', (err: Error) => this.logError(err));
      defineScripts(writer);
      this.writer = writer as SessionRedisClient;
      this.ownsWriter = true;
    }
    if (this.owned) {
      // Connect now, in the background: a Redis that is down at boot gives 503s
      // until it is back, rather than an app that will not start.
      client.connect().catch(() => undefined);
    } else if (!(client.options as RedisOptions).commandTimeout && !(client instanceof Cluster)) {
      this.logger.warn(
        'The Redis client passed in has no commandTimeout: if Redis stalls, requests wait for it. ' +
          'Set commandTimeout (e.g. 500 ms) on the client to get a 503 instead.',
      );
    }
  }

  /**
   * With `durability: 'replicated'`, resolves once `replicas` replicas hold every write
   * sent so far on the writer connection (on a Cluster: on every master's connection);
   * rejects if they do not within the timeout. Does nothing otherwise.
   */
  async replicated(): Promise<void> {
    if (this.config.durability !== 'replicated') return;
    const { replicas, replicationTimeoutMs } = this.config;
    const nodes = this.isCluster ? (this.writer as Cluster).nodes('master') : [this.writer as Redis];
    const acknowledged = await Promise.all(nodes.map((node) => node.wait(replicas, replicationTimeoutMs)));
    const short = acknowledged.filter((count) => count < replicas).length;
    if (short > 0) {
      throw new Error(`WAIT: fewer than ${replicas} replica(s) acknowledged within ${replicationTimeoutMs} ms`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const closing: Promise<void>[] = [];
    if (this.ownsWriter && this.writer) closing.push(close(this.writer));
    if (this.owned && this.client) closing.push(close(this.client));
    await Promise.all(closing);
  }

  private logError(err: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 5000) return;
    this.lastErrorLog = now;
    this.logger.warn(`Redis: ${err.message}`);
  }

  private createOrAdopt(): Redis | Cluster {
    const redis = this.config.redis as Record<string, unknown>;
    if ('client' in redis) return redis.client as Redis | Cluster;
    this.owned = true;
    let client: Redis | Cluster;
    if ('url' in redis) {
      client = new Redis(redis.url as string, { ...CLIENT_DEFAULTS, ...(redis.options as RedisOptions | undefined) });
    } else if ('cluster' in redis) {
      const cluster = redis.cluster as { nodes: ConstructorParameters<typeof Cluster>[0]; options?: object };
      const options = (cluster.options ?? {}) as ConstructorParameters<typeof Cluster>[1] & object;
      client = new Cluster(cluster.nodes, {
        lazyConnect: true,
        // Not on a Cluster: when a master dies, ioredis retries the batch in flight to it
        // (up to maxRedirections times, each try with a fresh commandTimeout) and every
        // request queued behind that batch waited 2-2.6 s; without it each command fails
        // at its own 500 ms timeout, so a failover answers 503 within about a second.
        enableAutoPipelining: false,
        ...options,
        redisOptions: { ...CLIENT_DEFAULTS, lazyConnect: false, enableAutoPipelining: false, ...(options.redisOptions ?? {}) },
      });
    } else {
      client = new Redis({ ...CLIENT_DEFAULTS, ...(redis as RedisOptions) });
    }
    // Without a listener ioredis reports "Unhandled error event"; log at most every 5 s.
    client.on('error', (err: Error) => this.logError(err));
    return client;
  }
}
