import type { SessionLive } from '../core/live.js';
import { SessionRefusalCode } from '../core/refusal-codes.js';
import type { Session } from '../core/types.js';
import { refusalMessage, refusalStatus } from './refusals.js';

/**
 * The close code a `ws` socket (and a graphql-ws connection) gets when its session ends or is
 * refused for want of a valid session (4000–4999 are the app's; graphql-ws reads 4401 as
 * Unauthorized and does not retry). The close reason is the `SessionRefusalCode`.
 */
export const SESSION_ENDED_CLOSE_CODE = 4401;
/** The close code of a `ws` socket refused with a 403: a cross-site handshake (`CROSS_SITE`). */
export const SESSION_FORBIDDEN_CLOSE_CODE = 4403;
/**
 * The close code of a `ws` socket refused because Redis could not answer (`REDIS_UNAVAILABLE`):
 * 1013, "Try Again Later" (RFC 6455 registry), so clients reconnect after a pause.
 */
export const SESSION_UNAVAILABLE_CLOSE_CODE = 1013;
/**
 * The close code of a socket refused because its session already holds
 * `maxLiveConnectionsPerSession` live connections on this instance (4000 + HTTP's 429; graphql-ws
 * does not retry it), with the close reason `TOO_MANY_CONNECTIONS`.
 */
export const SESSION_TOO_MANY_CLOSE_CODE = 4429;

/** What the socket kinds have in common, as far as ending them goes: socket.io's and `ws`'s (also graphql-ws's). */
interface ClosableSocket {
  /** socket.io */
  disconnect?: (close?: boolean) => unknown;
  emit?: (event: string, data: unknown) => unknown;
  /** ws */
  close?: (code?: number, reason?: string) => unknown;
  once?: (event: string, listener: () => void) => unknown;
}

/** The session each socket is already watched for: a second operation on one connection adds no watch. */
const watched = new WeakMap<object, Set<string>>();

/**
 * Ends a socket and says why, in a way its client can read without matching English:
 * - socket.io: an `exception` event `{ status: 'error', code, message, reason }` (as Nest's
 *   gateway exceptions), delivered before the disconnect;
 * - `ws`: the close code (`SESSION_ENDED_CLOSE_CODE`, `SESSION_FORBIDDEN_CLOSE_CODE`,
 *   `SESSION_UNAVAILABLE_CLOSE_CODE`, `SESSION_TOO_MANY_CLOSE_CODE`) with the reason as the close reason.
 */
export function endSocket(socket: object, reason: SessionRefusalCode): void {
  const target = socket as ClosableSocket;
  const status = refusalStatus(reason);
  if (typeof target.disconnect === 'function') {
    target.emit?.('exception', { status: 'error', code: status, message: refusalMessage(reason), reason });
    target.disconnect(true);
  } else if (typeof target.close === 'function') {
    target.close(CLOSE_CODES[status], reason);
  }
}

/** The `ws` close code of each status. */
const CLOSE_CODES = {
  401: SESSION_ENDED_CLOSE_CODE,
  403: SESSION_FORBIDDEN_CLOSE_CODE,
  429: SESSION_TOO_MANY_CLOSE_CODE,
  503: SESSION_UNAVAILABLE_CLOSE_CODE,
} as const;

/**
 * Ends the socket when its session ends (on any instance with `liveRevocation`) or expires;
 * stops watching when the socket closes first. Once per socket and session. False when the
 * socket was refused instead: its session already holds `maxLiveConnectionsPerSession` live
 * connections on this instance (ended with `TOO_MANY_CONNECTIONS`).
 */
export function endSocketWithSession(live: SessionLive, socket: object, session: Pick<Session, 'id' | 'expiresAt'>): boolean {
  let ids = watched.get(socket);
  if (ids?.has(session.id)) return true;
  const stop = live.watch(session.id, session.expiresAt, () => endSocket(socket, SessionRefusalCode.Ended));
  if (!stop) {
    // Its session holds maxLiveConnectionsPerSession live connections here: the newest goes, the open ones stay.
    endSocket(socket, SessionRefusalCode.TooManyConnections);
    return false;
  }
  if (!ids) watched.set(socket, (ids = new Set()));
  ids.add(session.id);
  const target = socket as ClosableSocket;
  target.once?.(typeof target.disconnect === 'function' ? 'disconnect' : 'close', stop);
  return true;
}
