/**
 * The module's subscriber connections, made one way: live revocation's `<prefix>ended`
 * (core/live.ts) and the expiry events' `__keyevent@<db>__:expired`, one per node
 * (integrations/events/expiry-subscriber.ts).
 *
 * Redis commands sent from this file: SUBSCRIBE (and SUBSCRIBE again after a reconnect, when
 * the caller asked to hear of it: `onResubscribed`).
 *
 * A subscriber is a connection of its own, duplicated from the one given: a subscribed
 * connection runs nothing else. It has no command timeout (it waits for messages) and no
 * auto-pipelining; it reconnects by itself, and its errors are not logged (the main client
 * logs outages). On a Cluster, ioredis subscribes on one node's connection of its own making
 * (without a command timeout either), and a message published on any node reaches it.
 */
import { Cluster, type Redis } from 'ioredis';

export interface SubscriberHooks {
  /** A message on one of the subscribed channels. */
  onMessage(channel: string, message: string): void;
  /**
   * The connection was lost and is back, its channels subscribed again (Redis confirmed it):
   * messages published while it was down never arrive, so whatever they would have said must
   * be looked up again. Never called for the first connection. On a Cluster it follows the
   * node connection ioredis subscribes on: when that one ends, ioredis picks another node and
   * subscribes there by itself, and this is called once that is confirmed (also after the
   * Cluster's own reconnects, which replace it too).
   */
  onResubscribed?(): void;
  /**
   * With `maxMessageBytes`: a message longer than that was dropped before it was decoded
   * (`onMessage` never hears of it). `bytes` is its length.
   */
  onOversized?(channel: string, bytes: number): void;
}

export interface SubscriberLimits {
  /**
   * Messages longer than this many bytes are dropped undecoded (`onOversized`): anyone who may
   * PUBLISH on the channel could otherwise make every subscriber decode and scan megabytes.
   */
  maxMessageBytes?: number;
}

export interface RedisSubscriber<C extends Redis | Cluster> {
  /** The connection, for what a caller asks before it subscribes (e.g. CONFIG GET). */
  readonly connection: C;
  /** SUBSCRIBE `channel`; resolves once Redis confirms. ioredis subscribes again after each reconnect. */
  subscribe(channel: string): Promise<void>;
  /** Closes the connection at once (nothing is pending on a subscriber); later calls do nothing. */
  disconnect(): void;
}

/** A new subscriber connection duplicated from `source` (a Redis or a Cluster); `hooks` hear it. */
export function openSubscriber<C extends Redis | Cluster>(
  source: C,
  hooks: SubscriberHooks,
  limits: SubscriberLimits = {},
): RedisSubscriber<C> {
  const cluster = source instanceof Cluster || (source as { isCluster?: boolean }).isCluster === true;
  const connection = (
    cluster
      ? (source as Cluster).duplicate()
      : (source as Redis).duplicate({ lazyConnect: false, enableAutoPipelining: false, commandTimeout: undefined })
  ) as C;
  connection.on('error', () => undefined); // reconnects by itself; the main client logs outages
  const max = limits.maxMessageBytes;
  if (max === undefined) {
    connection.on('message', (channel: string, message: string) => hooks.onMessage(channel, message));
  } else {
    // The Buffer event: its length is known before any decoding (ioredis decodes a message
    // into a string only for 'message' listeners, of which there are none then).
    connection.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (message.length > max) hooks.onOversized?.(channel.toString(), message.length);
      else hooks.onMessage(channel.toString(), message.toString());
    });
  }

  /** The channels Redis confirmed. */
  const channels = new Set<string>();
  let closed = false;
  /** SUBSCRIBE again: its reply, in order on the connection, says the channels are subscribed there. */
  const confirm = (): void => {
    if (closed || !hooks.onResubscribed || channels.size === 0) return;
    connection.subscribe(...channels).then(
      () => {
        if (!closed) hooks.onResubscribed?.();
      },
      () => undefined, // lost again: the next reconnect confirms
    );
  };
  // A Cluster's subscription lives on a node connection ioredis replaces without an event of
  // the Cluster's own; without a way to follow it, the Cluster's reconnects are what is heard.
  const followed =
    cluster && hooks.onResubscribed !== undefined && followClusterSubscriber(connection as Cluster, () => closed, confirm);
  if (!followed) {
    let readyBefore = false;
    connection.on('ready', () => {
      if (!readyBefore) {
        readyBefore = true;
        return;
      }
      // ioredis has sent SUBSCRIBE again already (autoResubscribe); one more is harmless.
      confirm();
    });
  }

  return {
    connection,
    async subscribe(channel: string): Promise<void> {
      await connection.subscribe(channel);
      channels.add(channel);
      if (typeof followed === 'function') followed();
    },
    disconnect(): void {
      // Once: each call of ioredis's disconnect() sets a timer that only the stream's close clears.
      if (closed) return;
      closed = true;
      channels.clear();
      connection.disconnect();
    },
  };
}

/** Where ioredis (5 and 6) keeps a Cluster's subscriber connection: internal, hence looked for with care. */
interface ClusterSubscriberSlot {
  getInstance(): Redis | null;
}

/** How often to look for the Cluster's new subscriber connection while it has none (no node known yet). */
const FOLLOW_RETRY_MS = 200;

/**
 * Follows the node connection a Cluster subscribes on: each time it is replaced (it ended, or
 * the Cluster reconnected), `onReplaced` runs once the new one is ready. Returns the function
 * that starts following (after the first SUBSCRIBE), or false when this ioredis keeps it
 * somewhere else.
 */
function followClusterSubscriber(cluster: Cluster, isClosed: () => boolean, onReplaced: () => void): (() => void) | false {
  const slot = (cluster as unknown as { subscriber?: Partial<ClusterSubscriberSlot> }).subscriber;
  if (typeof slot?.getInstance !== 'function') return false;
  const current = (): Redis | null => slot.getInstance?.() ?? null;
  let followed: Redis | null = null;
  const follow = (): void => {
    if (isClosed()) return;
    const instance = current();
    // None while the Cluster reconnects (or knows no node): look again shortly.
    if (!instance) {
      setTimeout(follow, FOLLOW_RETRY_MS).unref();
      return;
    }
    if (instance === followed) return;
    const replaced = followed !== null;
    followed = instance;
    // ioredis listened first, so by the time this runs it has picked the next connection.
    instance.once('end', follow);
    if (!replaced) return;
    if (instance.status === 'ready') onReplaced();
    else instance.once('ready', onReplaced);
  };
  return follow;
}
