import { Injectable, Logger } from '@nestjs/common';
import { SessionStoreUnavailableException } from '../core/errors.js';
import { SessionLive } from '../core/live.js';
import { SessionRefusalCode } from '../core/refusal-codes.js';
import type { Session } from '../core/types.js';
import { isRefusal, SessionAuthenticator } from './authenticate.js';
import { handshakeOf, SOCKET_HANDSHAKE, socketRequestOf } from './contexts/socket-request.js';
import { SESSION_REQUEST_KEY } from './metadata.js';
import { reasonOf } from './refusals.js';
import { holdMessages } from './socket-gate.js';
import { endSocket, endSocketWithSession } from './socket-watch.js';
import { SessionTransport } from './transport.js';

/** The handshake checks of a socket: its origin whatever the method (cross-site WebSocket hijacking), and the session slid. */
const HANDSHAKE = { alwaysChecksOrigin: true, slide: true, cacheKind: 'sockets' } as const;

/** A socket.io socket, as far as `authenticate` reads it: its handshake carries the headers. */
export interface SocketIoClientLike {
  /** socket.io's handshake: the upgrade's headers, the client address, and `auth` (`auth.token` is a bearer token). */
  handshake: { headers: Record<string, string | string[] | undefined>; address?: string; auth?: Record<string, unknown> };
}

/** The upgrade request a `ws` gateway receives as `handleConnection`'s second argument (Node's `IncomingMessage`). */
export interface UpgradeRequestLike {
  /** The upgrade's headers (cookie, origin, authorization, user-agent). */
  headers: Record<string, string | string[] | undefined>;
  /** The TCP connection, for the client address. */
  socket?: { remoteAddress?: string };
}

/**
 * Sessions for WebSocket gateways (`@nestjs/platform-socket.io` or `@nestjs/platform-ws`).
 * In `handleConnection`, `authenticate(client)` (socket.io) or `authenticate(client, request)`
 * (ws) checks the handshake's session (the cookie, with its origin checked, or a bearer token in
 * socket.io's `auth.token` or the `Authorization` header) by the guard's own steps, binding
 * included; refuses the connection without one, saying why (`SessionRefusalCode`), and
 * disconnects the socket when its session ends: logout, revoke, rotate, eviction, expiry, on any
 * instance with `liveRevocation` (the default). Messages stay guarded by `SessionGuard`, one
 * Redis command each, which also slides the session.
 */
@Injectable()
export class SessionSockets {
  private readonly logger = new Logger('SessionModule');
  private warnedNoHandshake = false;

  constructor(
    private readonly authenticator: SessionAuthenticator,
    private readonly transport: SessionTransport,
    private readonly live: SessionLive,
  ) {}

  /**
   * socket.io: the socket's session, or null after disconnecting it (no session, a cross-site
   * cookie, a binding mismatch under `enforce`, or Redis unavailable); the client gets an
   * `exception` event `{ status: 'error', code, message, reason }` first.
   */
  authenticate(client: SocketIoClientLike): Promise<Session | null>;
  /**
   * `ws` (`@nestjs/platform-ws`): the same, for a socket whose handshake is the upgrade
   * `request`, `handleConnection`'s second argument; a refused socket is closed with
   * `SESSION_ENDED_CLOSE_CODE` (or `SESSION_FORBIDDEN_CLOSE_CODE`, `SESSION_UNAVAILABLE_CLOSE_CODE`)
   * and the `SessionRefusalCode` as the close reason.
   */
  authenticate(client: object, request: UpgradeRequestLike): Promise<Session | null>;
  async authenticate(client: object, request?: UpgradeRequestLike): Promise<Session | null> {
    // Before the first await: messages sent meanwhile wait for the answer (see holdMessages).
    const gate = holdMessages(client);
    const socket = client as { [SESSION_REQUEST_KEY]?: Session; [SOCKET_HANDSHAKE]?: unknown };
    if (request) socket[SOCKET_HANDSHAKE] = handshakeOf(request);
    const handshake = socketRequestOf(client);
    let refusedWith: SessionRefusalCode | undefined;
    let session: Session | undefined;
    if (!handshake) {
      this.noHandshake();
      refusedWith = SessionRefusalCode.Missing;
    } else {
      try {
        const result = await this.authenticator.authenticate(handshake, this.transport.extract(handshake), HANDSHAKE);
        if (isRefusal(result)) refusedWith = reasonOf(result) ?? SessionRefusalCode.Invalid;
        else session = result;
      } catch (err) {
        this.logger.warn(`A socket was refused: ${err instanceof Error ? err.message : String(err)}`);
        refusedWith =
          err instanceof SessionStoreUnavailableException ? SessionRefusalCode.RedisUnavailable : SessionRefusalCode.Invalid;
      }
    }
    if (!session) {
      gate.discard();
      endSocket(socket, refusedWith ?? SessionRefusalCode.Invalid);
      return null;
    }
    socket[SESSION_REQUEST_KEY] = session;
    if (!endSocketWithSession(this.live, socket, session)) {
      // Refused past maxLiveConnectionsPerSession (and already told why): nothing it sent goes on.
      gate.discard();
      return null;
    }
    gate.release();
    return session;
  }

  /** A `ws` socket handed over without its upgrade request refuses everyone: said once, loudly, with the fix. */
  private noHandshake(): void {
    if (this.warnedNoHandshake) return;
    this.warnedNoHandshake = true;
    this.logger.error(
      'SessionSockets.authenticate(client) got a socket with no handshake, so every connection is refused. ' +
        "With @nestjs/platform-ws, pass the upgrade request, handleConnection's second argument: " +
        'handleConnection(client, request) { return this.sockets.authenticate(client, request); }',
    );
  }
}
