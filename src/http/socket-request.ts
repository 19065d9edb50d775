import type { HttpRequestLike } from './request.js';

/** Where a `ws` gateway's socket keeps its upgrade request (set by `SessionSockets.authenticate`). */
export const SOCKET_HANDSHAKE = Symbol.for('nestjs-redis-session:handshake');

interface SocketLike {
  [SOCKET_HANDSHAKE]?: HttpRequestLike;
  /** socket.io */
  handshake?: { headers?: Record<string, string | string[] | undefined>; auth?: Record<string, unknown>; address?: string };
}

/**
 * A socket's handshake as a request the transport and the CSRF check read: socket.io's
 * `handshake` (its `auth.token` as a bearer token), or the upgrade request a `ws` gateway
 * handed to `SessionSockets.authenticate`. A new object per call, so each message is
 * validated on its own. Undefined when the socket has neither.
 */
export function socketRequestOf(client: unknown): HttpRequestLike | undefined {
  if (typeof client !== 'object' || client === null) return undefined;
  const socket = client as SocketLike;
  const stored = socket[SOCKET_HANDSHAKE];
  if (stored) return { ...stored };
  const handshake = socket.handshake;
  if (!handshake?.headers) return undefined;
  const headers = { ...handshake.headers };
  const token = handshake.auth?.token;
  if (typeof token === 'string' && token !== '' && headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
  return { method: 'GET', headers, ip: handshake.address };
}

/** An upgrade request (Node's IncomingMessage) as the request-like a socket keeps. */
export function handshakeOf(request: {
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string };
}): HttpRequestLike {
  return { method: 'GET', headers: { ...request.headers }, ip: request.socket?.remoteAddress };
}
