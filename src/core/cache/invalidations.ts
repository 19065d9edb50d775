/**
 * Invalidations: Redis tells this instance about every change to a key under the session
 * prefix (server-assisted client-side caching, `CLIENT TRACKING ... BCAST PREFIX`), so the
 * session cache (cache/session-cache.ts) can drop what it holds.
 *
 * Redis commands sent from this file: ROLE (each tracked master of a Cluster, every
 * `heartbeatMs`, on the Cluster's own connection to it), and CLUSTER SLOTS through ioredis's
 * `refreshSlotsCache` while a master is unreachable or demoted, so a failover is learned without
 * waiting for a command of the app's to be MOVED. Each node's own connection
 * (cache/tracking-connection.ts) sends CLIENT ID, ROLE, CLIENT TRACKING, SUBSCRIBE and PING.
 *
 * One tracking connection per node that can hold a session key: the Redis itself (a Sentinel
 * client's duplicate finds the current master through the sentinels), or every master of a
 * Cluster. `ready` is the one thing the cache asks: true only while every one of them is
 * tracked and answered its last heartbeat in time. Every way out of that (a connection lost or
 * silent, a master demoted or not tracked yet) sets it false and then calls `flush`, before
 * anything can set it true again: what the cache held may have changed unheard.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { TRACKING_OPTIONS, TrackingConnection, type LossCause, type TrackingListener } from './tracking-connection.js';

/** Why everything the cache holds must go. */
export type FlushCause = 'flushed' | 'connection-lost' | 'heartbeat' | 'topology' | 'stopped';

export interface InvalidationHooks {
  /**
   * Keys written, deleted, expired or evicted, named in full as Redis names them (the client's
   * own ioredis `keyPrefix`, if any, included). Called synchronously from the socket's data.
   */
  keys(keys: readonly string[]): void;
  /**
   * Anything may have changed unheard: a FLUSHDB/FLUSHALL, or a tracking connection lost,
   * silent past its heartbeat, or a node that can hold sessions not tracked yet. Called BEFORE
   * `ready` can turn true again.
   */
  flush(cause: FlushCause): void;
}

export interface InvalidationOptions {
  /** How often each tracking connection is PINGed, ms. */
  heartbeatMs: number;
  /** A PING unanswered for this long (ms) counts as a lost connection. */
  timeoutMs: number;
  /** Logged warnings (rare: setup refused, connection lost). */
  warn(message: string): void;
}

export { INVALIDATIONS_CONNECTION_NAME } from './tracking-connection.js';

/** What the module asks of each node for the cache to work, for the warnings (CLIENT SETNAME: ioredis names the connection). */
const ACL_FIX = '+client|setname +client|id +role +client|tracking +subscribe +ping &__redis__:invalidate';

/** A Cluster's events after which its masters may differ. */
const TOPOLOGY_EVENTS = ['+node', '-node', 'refresh', 'ready'];

export class SessionInvalidations {
  /** A plain field: the guard reads it on every request. */
  private isReady = false;
  /** Whether `ready` was ever true: until then the cache holds nothing a new master could make stale. */
  private everReady = false;
  private started = false;
  private stopped = false;
  private readonly cluster: Cluster | undefined;
  /** The tracked nodes: one for a plain Redis, each current master (`host:port`) of a Cluster. */
  private readonly nodes = new Map<string, TrackingConnection>();
  private readonly warned = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly listener: TrackingListener;
  private readonly onTopology = (): void => this.reconcile();
  /**
   * The source's connection closed: it may come back on another master, so ours follows (a
   * Sentinel that demotes a master kills its normal clients, and not all versions kill ours).
   */
  private readonly onSourceClosed = (): void => this.nodes.get('redis')?.restart('topology');
  /** The masters a ROLE is on its way to (on the Cluster's own connections). */
  private readonly asking = new Set<string>();

  constructor(
    private readonly source: Redis | Cluster,
    private readonly prefix: string,
    private readonly hooks: InvalidationHooks,
    private readonly options: InvalidationOptions,
  ) {
    const cluster = source instanceof Cluster || (source as { isCluster?: boolean }).isCluster === true;
    this.cluster = cluster ? (source as Cluster) : undefined;
    this.listener = {
      keys: (keys) => hooks.keys(keys),
      // The tracking itself is intact: `ready` stays as it is.
      flushed: () => hooks.flush('flushed'),
      tracked: () => this.update(),
      lost: (node, cause) => this.lost(node, cause),
      refused: (node, step, err) => this.refused(node, step, err),
    };
  }

  /** True only while every node that can hold a session key is tracked and heard from in time. */
  get ready(): boolean {
    return this.isReady;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (!this.cluster) {
      const redis = this.source as Redis;
      redis.on('close', this.onSourceClosed);
      this.add('redis', nodeLabel(redis), () => redis.duplicate(TRACKING_OPTIONS));
      return;
    }
    // ioredis learns a Cluster's masters from CLUSTER SLOTS: each refresh may change them.
    for (const event of TOPOLOGY_EVENTS) this.cluster.on(event, this.onTopology);
    this.timer = setInterval(() => this.check(), this.options.heartbeatMs);
    this.timer.unref();
    this.reconcile();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.isReady = false;
    clearInterval(this.timer);
    if (this.cluster) for (const event of TOPOLOGY_EVENTS) this.cluster.off(event, this.onTopology);
    else this.source.off('close', this.onSourceClosed);
    for (const node of this.nodes.values()) node.stop();
    this.nodes.clear();
    // Nothing will be heard from now on.
    this.hooks.flush('stopped');
  }

  private add(key: string, label: string, open: () => Redis): void {
    const node = new TrackingConnection(label, open, this.prefix, this.listener, this.options);
    this.nodes.set(key, node);
    node.start();
  }

  /** Ready when every node is tracked (a Cluster's set of nodes is its current masters). */
  private update(): void {
    let ready = !this.stopped && this.nodes.size > 0;
    for (const node of this.nodes.values()) ready &&= node.tracked;
    this.isReady = ready;
    if (ready) this.everReady = true;
  }

  private lost(node: TrackingConnection, cause: LossCause): void {
    this.isReady = false;
    this.hooks.flush(cause);
    this.options.warn(
      `Session cache: invalidations from ${node.label} stopped (${cause}); every request reads Redis until they are back.`,
    );
  }

  private refused(node: TrackingConnection, step: string, err: Error): void {
    const key = `${step}: ${err.message}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.warn(
      `Session cache: Redis at ${node.label} refused ${step} (${err.message}), so every request reads Redis. ` +
        `The cache needs Redis 6 or later and, under an ACL, these for the module's user: ${ACL_FIX}. Retrying.`,
    );
  }

  /**
   * The Cluster's periodic check: its view again; a ROLE of each tracked master, on the
   * Cluster's own connection to it (a master demoted by a manual failover keeps every
   * connection, and the Cluster learns of it only when a command of the app's is MOVED, which
   * a cache hit never sends); a fresh view while a master is unreachable or demoted.
   */
  private check(): void {
    const cluster = this.cluster;
    if (!cluster || this.stopped) return;
    this.reconcile();
    for (const connection of cluster.nodes('all')) {
      const key = keyOf(connection.options);
      const node = this.nodes.get(key);
      if (!node?.tracked || this.asking.has(key)) continue;
      this.asking.add(key);
      connection
        .call('ROLE')
        .then((role) => {
          if ((role as unknown[])[0] !== 'master' && this.nodes.get(key) === node) node.restart('topology');
        })
        // Unanswered: the tracking connection's own heartbeat decides.
        .catch(() => undefined)
        .finally(() => this.asking.delete(key));
    }
    const lagging = [...this.nodes.values()].some((node) => node.unreachable);
    if (lagging && cluster.status === 'ready') cluster.refreshSlotsCache();
  }

  /**
   * Tracks every master the Cluster knows of now, and no other node. A new master may have
   * taken writes (for slots failed over or moved to it) before it is tracked: once the cache
   * may hold anything, its appearance is a flush.
   */
  private reconcile(): void {
    const cluster = this.cluster;
    if (!cluster || this.stopped) return;
    const masters = new Map<string, { host: string; port: number }>();
    for (const master of cluster.nodes('master')) {
      const { host = '127.0.0.1', port = 6379 } = master.options;
      masters.set(keyOf(master.options), { host, port });
    }
    // And every slot's owner: ioredis drops a dead master's connection from its pool at once,
    // but its slots stay its own until a refresh names the replica that took them over. Until
    // then that master still counts, unreachable, so `ready` waits for its successor.
    let previous: string | undefined;
    for (const owners of cluster.slots) {
      const key = owners?.[0];
      if (key === undefined || key === previous || masters.has(key)) continue;
      previous = key;
      const colon = key.lastIndexOf(':');
      masters.set(key, { host: key.slice(0, colon), port: Number(key.slice(colon + 1)) });
    }
    // None known (connecting, or between two views): that says nothing of the nodes tracked.
    if (masters.size === 0) return;
    // A node no longer a master: its slots' writes now reach a master tracked or new.
    for (const [key, node] of this.nodes) {
      if (masters.has(key)) continue;
      node.stop();
      this.nodes.delete(key);
    }
    let appeared = false;
    for (const [key, address] of masters) {
      if (this.nodes.has(key)) continue;
      appeared = true;
      this.add(key, key, () => new Redis({ ...cluster.options.redisOptions, ...address, ...TRACKING_OPTIONS }));
    }
    if (appeared && this.everReady) {
      this.isReady = false;
      this.hooks.flush('topology');
    } else {
      this.update();
    }
  }
}

/** A Cluster node's key, as ioredis names it in its slots. */
function keyOf(options: RedisOptions): string {
  return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
}

/** A plain (or Sentinel) client's node, as warnings name it. */
function nodeLabel(redis: Redis): string {
  const options = redis.options;
  if (options.sentinels?.length) return `the Sentinel master '${options.name ?? ''}'`;
  if (options.path) return options.path;
  return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
}
