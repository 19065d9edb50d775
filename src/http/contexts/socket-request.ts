import type { CacheMemo } from '../../core/cache/session-cache.js';
import type { CacheSlot } from '../../core/cache/cache-map.js';
import type { HttpRequestLike } from '../request.js';
import type { TokenLookup } from '../transport.js';

/** Where a `ws` gateway's socket keeps its upgrade request (set by `SessionSockets.authenticate`). */
export const SOCKET_HANDSHAKE = Symbol.for('nestjs-redis-session:handshake');

interface SocketLike {
  [SOCKET_HANDSHAKE]?: HttpRequestLike;
  /** socket.io */
  handshake?: { headers?: Record<string, string | string[] | undefined>; auth?: Record<string, unknown>; address?: string };
}

/** Where a socket's request carries its `HandshakeMemo`. */
export const HANDSHAKE_MEMO = Symbol('nestjs-redis-session:handshake-memo');

/**
 * What is worked out from a socket's handshake once, for all of its messages (a handshake
 * never changes): the token the transport found, the token's id and deadline (`TokenMemo`),
 * the client address under the app's `trust proxy`, the verdict on its Origin, and the session
 * cache's slot it was last accepted from. Each message of a busy socket would otherwise parse the
 * cookie, hash the token, walk `X-Forwarded-For`, parse the Origin, look the session up and
 * compare its binding again.
 */
export interface HandshakeMemo extends CacheMemo {
  lookup?: TokenLookup;
  /** The transport `lookup` is from. */
  lookupBy?: object;
  /** `SessionClientAddress.of`'s answer; null: none. */
  ip?: string | null;
  /** `SessionCsrf.allowsOrigin`'s answer for the handshake, */
  originAllowed?: boolean;
  /** given by this `SessionCsrf` (one per module). */
  originBy?: object;
  /** The handshake's last acceptance from the session cache that found nothing (`SessionAuthenticator`). */
  accepted?: AcceptedHandshake;
}

/**
 * A socket message accepted from the session cache with no CSRF, origin or binding finding: a
 * later message with the same lookup, under a mode that asks no more, is accepted from the same
 * slot for as long as it lives (`SessionCache.again`), with none of those checks run again. They
 * compare the handshake (which never changes) with the cached session (which the slot pins:
 * any change to it in Redis kills the slot).
 */
export interface AcceptedHandshake {
  /** The `SessionAuthenticator` (one per module) that accepted it. */
  readonly by: object;
  /** The transport's lookup (kept in this memo): the same token, found the same way. */
  readonly lookup: TokenLookup;
  readonly cacheKind: 'http' | 'sockets';
  /** Whether the origin was checked whatever the method (`AuthenticateMode.alwaysChecksOrigin`). */
  readonly checkedOrigin: boolean;
  readonly slot: CacheSlot;
}

/** A socket's request: a handshake's, with its memo. */
export type SocketRequest = HttpRequestLike & { readonly [HANDSHAKE_MEMO]?: HandshakeMemo };

interface Prepared {
  readonly request: HttpRequestLike;
  readonly memo: HandshakeMemo;
}

/** Each handshake's request and memo, built at its socket's first message; gone with the socket. */
const prepared = new WeakMap<object, Prepared>();

/**
 * A socket's handshake as a request the transport and the CSRF check read: socket.io's
 * `handshake` (its `auth.token` as a bearer token), or the upgrade request a `ws` gateway
 * handed to `SessionSockets.authenticate`. A new object per call, so each message is
 * validated on its own (the guard marks the request it validated), sharing the handshake's
 * headers and memo. Undefined when the socket has neither.
 */
export function socketRequestOf(client: unknown): SocketRequest | undefined {
  if (typeof client !== 'object' || client === null) return undefined;
  const { [SOCKET_HANDSHAKE]: stored, handshake } = client as SocketLike;
  const source = stored ?? (handshake?.headers ? handshake : undefined);
  if (source === undefined) return undefined;
  let ready = prepared.get(source);
  if (ready === undefined) {
    ready = { request: stored ?? fromSocketIo(handshake!), memo: {} };
    prepared.set(source, ready);
  }
  const { request, memo } = ready;
  return { method: request.method, headers: request.headers, socket: request.socket, [HANDSHAKE_MEMO]: memo };
}

function fromSocketIo(handshake: NonNullable<SocketLike['handshake']>): HttpRequestLike {
  const headers = { ...handshake.headers };
  const token = handshake.auth?.token;
  if (typeof token === 'string' && token !== '' && headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
  // No `ip`: the peer may be a proxy; SessionClientAddress resolves the client under `trust proxy`.
  return { method: 'GET', headers, socket: { remoteAddress: handshake.address } };
}

/** An upgrade request (Node's IncomingMessage) as the request-like a socket keeps. */
export function handshakeOf(request: {
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string };
}): HttpRequestLike {
  return { method: 'GET', headers: { ...request.headers }, socket: { remoteAddress: request.socket?.remoteAddress } };
}
