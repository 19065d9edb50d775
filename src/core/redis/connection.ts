/**
 * The module's Redis connection (`SessionRedis`): created or adopted, the writer connection of
 * `durability: 'replicated'`, the deadline every store call runs under, one rate-limited log.
 *
 * Redis commands sent from this file: WAIT (`replicated`, after the writes that matter, on
 * each master's writer connection), PING and PTTL (`ping`, health checks: PTTL reads
 * `<prefix>health`, a key under the prefix that nothing writes, so the check touches the
 * session keys as every route does and writes nothing) and QUIT (shutdown, the connections
 * the module created). The Lua scripts are registered here (scripts.ts); the store sends
 * everything else.
 */
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../../options/resolve.js';
import { RedisDeadline } from './deadline.js';
import { defineScripts, type SessionRedisClient } from './scripts.js';

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
 * No ioredis `commandTimeout`: every call already has the module's deadline
 * (`redisTimeoutMs`, ./deadline.ts), which lets a reply that arrived in time win over a
 * late timer after the event loop was blocked; ioredis's own per-command timer does not,
 * and on a busy host it turned answers that were on time into 503s.
 */
const CLIENT_DEFAULTS: RedisOptions = {
  lazyConnect: true,
  enableAutoPipelining: true,
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
  private lastWarning = 0;
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
  /** Bounds every call the store makes (`redisTimeoutMs`). */
  readonly deadline: RedisDeadline;
  /** The bound for writes, which may also wait for replicas. */
  readonly writeTimeoutMs: number;

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) private readonly config: ResolvedSessionOptions) {
    this.deadline = new RedisDeadline(config.redisTimeoutMs);
    this.writeTimeoutMs = config.redisTimeoutMs + (config.durability === 'replicated' ? config.replicationTimeoutMs : 0);
  }

  onModuleInit(): void {
    // Bad options: SessionBootCheck fails the boot with them; nothing to connect to.
    if (this.config.problems.length > 0) return;
    const client = this.createOrAdopt();
    this.client = defineScripts(client);
    this.writer = this.client;
    this.isCluster = client instanceof Cluster || (client as { isCluster?: boolean }).isCluster === true;
    if (this.config.durability === 'replicated') {
      // The WAIT timeout must end before the command timeout does.
      const commandTimeout = Math.max(1000, this.config.replicationTimeoutMs + 500);
      const writer =
        client instanceof Cluster
          ? client.duplicate(undefined, { redisOptions: { ...client.options.redisOptions, commandTimeout } })
          : (client as Redis).duplicate({ commandTimeout });
      writer.on('error', (err: Error) => this.warn(`Redis: ${err.message}`));
      this.writer = defineScripts(writer);
      this.ownsWriter = true;
    }
    if (this.owned) {
      // Connect now, in the background: a Redis that is down at boot gives 503s
      // until it is back, rather than an app that will not start.
      client.connect().catch(() => undefined);
    } else if (!(client.options as RedisOptions).commandTimeout && !(client instanceof Cluster)) {
      this.logger.warn(
        `The Redis client passed in has no commandTimeout: if Redis stalls, requests still get a 503 after ` +
          `redisTimeoutMs (${this.config.redisTimeoutMs} ms), but the client queues every command until Redis answers. ` +
          'To bound it, pass a connection of its own, client.duplicate({ commandTimeout: 500 }) (a commandTimeout on a ' +
          'shared client would also cut its blocking commands such as BLPOP), or let the module own one (redis: { url }).',
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

  /**
   * The health check: `PING`, and with it `PTTL <prefix>health`, a read of a key under the
   * prefix (read-only; nothing writes that key, so it stays missing). A Redis user whose ACL
   * lets it connect and PING but not touch the session keys (`~other:*`), under which every
   * route answers 503, fails here too (NOPERM) instead of looking healthy. Resolves with the
   * round-trip time in ms (both commands go out together); rejects when either is refused or
   * Redis does not answer within `timeoutMs` (also for a client passed in without a
   * `commandTimeout`, which would otherwise wait for ever).
   */
  async ping(timeoutMs: number): Promise<number> {
    const start = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`PING: no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all([this.client.ping(), this.client.pttl(`${this.config.keyPrefix}health`)]), timeout]);
      return performance.now() - start;
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.deadline.stop();
    const closing: Promise<void>[] = [];
    if (this.ownsWriter && this.writer) closing.push(close(this.writer));
    if (this.owned && this.client) closing.push(close(this.client));
    await Promise.all(closing);
  }

  /**
   * Logs a Redis problem at most once every 5 s, whoever reports it (the connections'
   * `error` events, the store's failed commands): an outage at 10,000 requests a second
   * must not write 10,000 log lines a second.
   */
  warn(message: string): void {
    const now = Date.now();
    if (now - this.lastWarning < 5000) return;
    this.lastWarning = now;
    this.logger.warn(message);
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
    client.on('error', (err: Error) => this.warn(`Redis: ${err.message}`));
    return client;
  }
}
