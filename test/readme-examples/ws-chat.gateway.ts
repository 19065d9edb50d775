import type { IncomingMessage } from 'node:http';
import { UseGuards } from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import { CurrentSession, SessionGuard, SessionSockets } from '../../src/index.js';

// docs/transports.md: "WebSocket gateways" (@nestjs/platform-ws). test/websocket-ws.e2e-spec.ts runs it.
@WebSocketGateway({ path: '/chat' })
export class WsChatGateway implements OnGatewayConnection {
  constructor(private readonly sockets: SessionSockets) {}

  async handleConnection(client: WebSocket, request: IncomingMessage): Promise<void> {
    await this.sockets.authenticate(client, request); // ws: hand over the upgrade request
  }

  @UseGuards(SessionGuard)
  @SubscribeMessage('whoami')
  whoami(@CurrentSession('username') username: string) {
    return { event: 'whoami', data: username };
  }
}
