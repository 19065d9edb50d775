import { UseGuards } from '@nestjs/common';
import { ConnectedSocket, SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { CurrentSession, SessionGuard, SessionSockets } from '../../src/index.js';

// README and docs/transports.md: "WebSocket gateways" (socket.io). test/websocket.e2e-spec.ts runs it.
@WebSocketGateway()
export class ChatGateway implements OnGatewayConnection {
  constructor(private readonly sockets: SessionSockets) {}

  async handleConnection(@ConnectedSocket() client: Socket): Promise<void> {
    await this.sockets.authenticate(client);
  }

  @UseGuards(SessionGuard)
  @SubscribeMessage('whoami')
  whoami(@CurrentSession('username') username: string): string {
    return username;
  }
}
