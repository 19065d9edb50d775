import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ConnectedSocket, SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { CurrentSession, Roles, SessionDto, SessionGuard, SessionSockets, type Session } from '../src/index.js';

/** The demo's protected routes: any logged-in user, and admins only. */
@ApiTags('demo')
@ApiCookieAuth()
@ApiBearerAuth()
@Controller()
@UseGuards(SessionGuard)
export class DemoController {
  /** 200 with the current session, 401 without one. */
  @ApiResponse({ status: 200, description: 'The current session', type: SessionDto })
  @Get('me')
  // Personal data: no browser or proxy should keep a copy.
  @Header('Cache-Control', 'no-store')
  me(@CurrentSession() session: Session): Session {
    return session;
  }

  /** 200 for role `admin`, 403 for other roles, 401 without a session. */
  @Get('admin')
  @Roles('admin')
  @Header('Cache-Control', 'no-store')
  admin(@CurrentSession() session: Session): { message: string; username: string | null } {
    return { message: 'Welcome to the admin area', username: session.username };
  }
}

/**
 * The same, over socket.io (what the /live page connects to): a socket needs a session to
 * connect, and is disconnected when that session ends (logout, revoke, expiry).
 */
@WebSocketGateway()
export class LiveGateway implements OnGatewayConnection {
  constructor(private readonly sockets: SessionSockets) {}

  async handleConnection(@ConnectedSocket() client: Socket): Promise<void> {
    await this.sockets.authenticate(client);
  }

  /** The session's username, through the ack; a socket whose session ended gets an `exception` event instead. */
  @UseGuards(SessionGuard)
  @SubscribeMessage('whoami')
  whoami(@CurrentSession('username') username: string | null): string | null {
    return username;
  }
}
