/**
 * One Redis node's invalidation connection (cache/invalidations.ts runs one per node): a
 * connection of its own, tracking the session prefix in broadcast mode with the invalidations
 * redirected to itself, and subscribed to them.
 *
 * Redis commands sent from this file: CLIENT ID, ROLE (the node must be a master: a replica,
 * say a master demoted by a failover, does not hear the writes it has not replicated yet), then
 * CLIENT TRACKING ON REDIRECT <own id> BCAST PREFIX <prefix>, then SUBSCRIBE
 * __redis__:invalidate (once per connection, in that order; a PING before the tracking), and PING (the heartbeat, every
 * `heartbeatMs`). ioredis's own connection setup runs before them (AUTH, SELECT, CLIENT
 * SETNAME/SETINFO, INFO as its ready check; Sentinel lookups).
 *
 * Tracking belongs to a connection: Redis forgets it when the connection ends, and invalidations
 * sent while there is none are lost for good. So a connection is never reconnected or
 * resubscribed by ioredis (the caller's `open` gives one without retries); each new one is a
 * new attempt going through every step again, and only the confirmed SUBSCRIBE makes the node
 * `tracked` again. RESP2 because ioredis 6 under RESP3 drops `invalidate` push frames: on
 * RESP2 they are pub/sub messages on `__redis__:invalidate`, which ioredis delivers.
 */
import type { Redis, RedisOptions } from 'ioredis';

/** The channel Redis publishes invalidations on for RESP2 clients. */
export const INVALIDATION_CHANNEL = '__redis__:invalidate';

/** The CLIENT LIST name of every tracking connection. */
export const INVALIDATIONS_CONNECTION_NAME = 'nestjs-redis-session:invalidations';

/**
 * A tracking connection's options over the source's (address, auth, TLS, Sentinel): RESP2, no
 * reconnect or resubscribe of ioredis's own (a new connection is a new attempt), nothing queued
 * while down, no command timeout (it waits for messages), and no key prefix (the tracked prefix
 * is given whole).
 */
export const TRACKING_OPTIONS: RedisOptions = {
  protocol: 2,
  replyMapping: 'legacy',
  retryStrategy: () => null,
  autoResubscribe: false,
  autoResendUnfulfilledCommands: false,
  enableOfflineQueue: false,
  lazyConnect: true,
  commandTimeout: undefined,
  enableAutoPipelining: false,
  keyPrefix: undefined,
  readOnly: false,
  himportFieldsets: undefined,
  connectionName: INVALIDATIONS_CONNECTION_NAME,
};

/** Why a tracked connection stopped counting ('topology': its node may no longer be the master). */
export type LossCause = 'connection-lost' | 'heartbeat' | 'topology';

/** What a node's connection reports; every call comes from the node's own events. */
export interface TrackingListener {
  /** Keys under the prefix changed (written, deleted, expired or evicted). */
  keys(keys: readonly string[]): void;
  /** A FLUSHDB/FLUSHALL: every key may be gone. The node stays tracked. */
  flushed(): void;
  /** The node's SUBSCRIBE was confirmed: from now on its invalidations arrive. */
  tracked(node: TrackingConnection): void;
  /** A tracked connection was lost: `tracked` is false already. Once per loss. */
  lost(node: TrackingConnection, cause: LossCause): void;
  /** Redis refused a setup step (an error reply, not a lost connection); retried with backoff. */
  refused(node: TrackingConnection, step: string, err: Error): void;
}

export interface TrackingTiming {
  heartbeatMs: number;
  timeoutMs: number;
}

const FIRST_DELAY_MS = 100;
/** Backoff cap after a lost connection: the node usually comes back (restart, failover). */
const LOST_CAP_MS = 5000;
/** Backoff cap after a refusal: only an operator's fix (ACL, upgrade) changes the answer. */
const REFUSED_CAP_MS = 30_000;

export class TrackingConnection {
  /** True while this node's invalidations are heard (SUBSCRIBE confirmed, heartbeat in time). */
  tracked = false;
  /** True while the last attempt could not track the node: down, or not a master (any more). */
  unreachable = false;
  private connection: Redis | undefined;
  private closed = false;
  private delayMs = FIRST_DELAY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The pending setup's deadline, the wait for the next PING, or the PING's deadline. */
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** Where, for warnings: `host:port`, or the Sentinel master's name. */
    readonly label: string,
    /** A new connection, not yet connected, that never reconnects by itself. */
    private readonly open: () => Redis,
    private readonly prefix: string,
    private readonly listener: TrackingListener,
    private readonly timing: TrackingTiming,
  ) {}

  start(): void {
    if (!this.closed && !this.connection && !this.retryTimer) this.attempt();
  }

  /** Closes the connection and cancels every timer; reports nothing (the caller decides). */
  stop(): void {
    this.closed = true;
    this.tracked = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const connection = this.connection;
    this.connection = undefined;
    clearTimeout(this.timer);
    connection?.disconnect();
  }

  /** Its node may no longer be the master: a new connection, through the whole setup again. */
  restart(cause: LossCause): void {
    if (this.connection) this.drop(this.connection, cause);
  }

  private attempt(): void {
    this.retryTimer = undefined;
    if (this.closed) return;
    const connection = this.open();
    this.connection = connection;
    // An error is followed by a close, which is what counts; without a listener ioredis prints it.
    connection.on('error', () => this.drop(connection, 'connection-lost'));
    connection.on('close', () => this.drop(connection, 'connection-lost'));
    connection.on('end', () => this.drop(connection, 'connection-lost'));
    connection.on('messageBuffer', (channel: Buffer, payload: unknown) => this.message(channel, payload));
    // No command timeout on this connection (it waits for messages): the setup gets the
    // connect timeout plus the heartbeat's, so a server that accepts and never answers is left.
    const connectMs = connection.options.connectTimeout ?? 10_000;
    this.timer = setTimeout(() => this.drop(connection, 'heartbeat'), connectMs + this.timing.timeoutMs);
    this.timer.unref();
    let step = 'the connection';
    const setup = async (): Promise<void> => {
      await connection.connect();
      step = 'CLIENT ID';
      const id = (await connection.call('CLIENT', 'ID')) as number | string;
      step = 'ROLE';
      const role = (await connection.call('ROLE')) as unknown[];
      if (role[0] !== 'master') throw new Error(`${this.label} is a ${String(role[0])}, not a master`);
      // The heartbeat's command, tried before anything is tracked: a PING the ACL refuses would
      // otherwise make every connection live one heartbeat and be dropped, over and over.
      step = 'PING';
      await connection.ping();
      step = 'CLIENT TRACKING';
      // An empty prefix tracks every key (Redis has no empty PREFIX).
      const prefix = this.prefix === '' ? [] : ['PREFIX', this.prefix];
      await connection.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id), 'BCAST', ...prefix);
      step = 'SUBSCRIBE';
      await connection.subscribe(INVALIDATION_CHANNEL);
    };
    setup().then(
      () => this.confirmed(connection),
      (err: unknown) => {
        if (connection !== this.connection) return;
        // An error reply (ioredis's ReplyError) is Redis saying no; anything else is the connection.
        const refused = err instanceof Error && err.name === 'ReplyError';
        if (refused) this.listener.refused(this, step, err);
        this.drop(connection, 'connection-lost', refused);
      },
    );
  }

  private confirmed(connection: Redis): void {
    if (connection !== this.connection) return;
    clearTimeout(this.timer);
    this.delayMs = FIRST_DELAY_MS;
    this.unreachable = false;
    this.tracked = true;
    this.beat(connection);
    this.listener.tracked(this);
  }

  /**
   * The heartbeat: a PING `heartbeatMs` after the last answer. Its answer comes on the same
   * connection as the invalidations, after every one Redis sent before it: an answer in time
   * proves none is stuck, and none in time counts as a lost connection.
   */
  private beat(connection: Redis): void {
    this.timer = setTimeout(() => {
      if (connection !== this.connection) return;
      this.timer = setTimeout(() => this.drop(connection, 'heartbeat'), this.timing.timeoutMs);
      this.timer.unref();
      connection.ping().then(
        () => {
          if (connection !== this.connection) return;
          clearTimeout(this.timer);
          this.beat(connection);
        },
        (err: unknown) => {
          const refused = err instanceof Error && err.name === 'ReplyError';
          if (refused && connection === this.connection) this.listener.refused(this, 'PING', err);
          this.drop(connection, 'connection-lost', refused);
        },
      );
    }, this.timing.heartbeatMs);
    this.timer.unref();
  }

  private message(channel: Buffer, payload: unknown): void {
    if (channel.toString() !== INVALIDATION_CHANNEL) return;
    // RESP2: an array of key names, or null for a FLUSHDB/FLUSHALL (everything).
    if (payload === null) this.listener.flushed();
    else if (Array.isArray(payload)) this.listener.keys(payload.map(String));
    // Anyone allowed to PUBLISH on the channel can send a string: as a key, it only drops more.
    else if (Buffer.isBuffer(payload)) this.listener.keys([payload.toString()]);
  }

  /**
   * Ends `connection` (if it is still this node's) and tries again after the backoff. Once per
   * connection: its error, close and end, a failed step and a missed deadline all land here.
   */
  private drop(connection: Redis, cause: LossCause, refused = false): void {
    if (connection !== this.connection) return;
    this.connection = undefined;
    this.unreachable = !refused;
    clearTimeout(this.timer);
    connection.disconnect();
    const wasTracked = this.tracked;
    this.tracked = false;
    if (wasTracked) this.listener.lost(this, cause);
    if (this.closed) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, refused ? REFUSED_CAP_MS : LOST_CAP_MS);
    this.retryTimer = setTimeout(() => this.attempt(), delay);
    this.retryTimer.unref();
  }
}
