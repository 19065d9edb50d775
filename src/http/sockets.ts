import { Injectable, Logger } from '@nestjs/common';
import { SessionLive } from '../core/live.js';
import { SessionService } from '../core/service.js';
import type { Session } from '../core/types.js';
import { SessionCsrf } from './csrf.js';
import { SESSION_REQUEST_KEY } from './metadata.js';
import { handshakeOf, SOCKET_HANDSHAKE, socketRequestOf } from './socket-request.js';
import { endSocket, endSocketWithSession } from './socket-watch.js';
import { SessionTransport } from './transport.js';

/**
 * Sessions for WebSocket gateways (`@nestjs/platform-socket.io` or `@nestjs/platform-ws`).
 * In `handleConnection`, `authenticate(client)` (socket.io) or `authenticate(client, request)`
 * (ws) checks the handshake's session (the cookie, with its origin checked, or a bearer token in
 * socket.io's `auth.token` or the `Authorization` header), refuses the connection without one,
 * and disconnects the socket when its session ends: logout, revoke, rotate, eviction, expiry,
 * on any instance with `liveRevocation` (the default). Messages stay guarded by `SessionGuard`, one
 * Redis command each, which also slides the session.
 */
@Injectable()
export class SessionSockets {
  private readonly logger = new Logger('SessionModule');

  constructor(
    private readonly sessions: SessionService,
    private readonly transport: SessionTransport,
    private readonly csrf: SessionCsrf,
    private readonly live: SessionLive,
  ) {}

  /**
   * The socket's session, or null after disconnecting it (no session, a cross-site cookie, or
   * Redis unavailable). `request` is the upgrade request `ws` gateways receive as the second
   * argument of `handleConnection`; socket.io needs none.
   */
  async authenticate(
    client: object,
    request?: { headers: Record<string, string | string[] | undefined>; socket?: { remoteAddress?: string } },
  ): Promise<Session | null> {
    const socket = client as { [SESSION_REQUEST_KEY]?: Session; [SOCKET_HANDSHAKE]?: unknown };
    if (request) socket[SOCKET_HANDSHAKE] = handshakeOf(request);
    const handshake = socketRequestOf(client);
    const lookup = handshake ? this.transport.extract(handshake) : null;
    let session: Session | null = null;
    if (handshake && lookup?.token && (!lookup.fromCookie || this.csrf.allowsOrigin(handshake))) {
      try {
        session = await this.sessions.touch(lookup.token);
      } catch (err) {
        this.logger.warn(`A socket was refused: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (!session) {
      endSocket(socket);
      return null;
    }
    socket[SESSION_REQUEST_KEY] = session;
    endSocketWithSession(this.live, socket, session);
    return session;
  }
}
