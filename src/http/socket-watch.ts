import type { SessionLive } from '../core/live.js';
import type { Session } from '../core/types.js';

/** The close code a `ws` socket gets when its session ends or is refused (4000–4999 are the app's; graphql-ws reads 4401 as Unauthorized and does not retry). */
export const SESSION_ENDED_CLOSE_CODE = 4401;

/** What the socket kinds have in common, as far as ending them goes: socket.io's and `ws`'s (also graphql-ws's). */
interface ClosableSocket {
  /** socket.io */
  disconnect?: (close?: boolean) => unknown;
  /** ws */
  close?: (code?: number, reason?: string) => unknown;
  once?: (event: string, listener: () => void) => unknown;
}

/** The session each socket is already watched for: a second operation on one connection adds no watch. */
const watched = new WeakMap<object, Set<string>>();

/** Disconnects a socket.io socket, closes a `ws` one with `SESSION_ENDED_CLOSE_CODE`. */
export function endSocket(socket: object): void {
  const target = socket as ClosableSocket;
  if (typeof target.disconnect === 'function') target.disconnect(true);
  else if (typeof target.close === 'function') target.close(SESSION_ENDED_CLOSE_CODE, 'Session ended');
}

/**
 * Ends the socket when its session ends (on any instance with `liveRevocation`) or expires;
 * stops watching when the socket closes first. Once per socket and session.
 */
export function endSocketWithSession(live: SessionLive, socket: object, session: Pick<Session, 'id' | 'expiresAt'>): void {
  let ids = watched.get(socket);
  if (ids?.has(session.id)) return;
  if (!ids) watched.set(socket, (ids = new Set()));
  ids.add(session.id);
  const stop = live.watch(session.id, session.expiresAt, () => endSocket(socket));
  const target = socket as ClosableSocket;
  target.once?.(typeof target.disconnect === 'function' ? 'disconnect' : 'close', stop);
}
