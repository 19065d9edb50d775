import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import { Module, type INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { ConnectedSocket, SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { io } from 'socket.io-client';
import request from 'supertest';
import WebSocket from 'ws';
import { SessionSockets } from '../src/index.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { listeningPort, sessionCookie } from './support/http.js';
import { usePrivateRedis } from './support/redis.js';

// "Authenticate once, guard few messages": the README's pattern leaves some handlers unguarded,
// trusting handleConnection's authenticate() to disconnect a socket without a session. So no
// message may reach a handler while that authentication is still in flight: messages wait for
// it, and are dropped when it refuses.

/** Messages the unguarded handlers ran, by gateway. */
const handled = { socketIo: 0, ws: 0 };

@WebSocketGateway()
class SocketIoGateway implements OnGatewayConnection {
  constructor(private readonly sockets: SessionSockets) {}

  async handleConnection(@ConnectedSocket() client: Socket): Promise<void> {
    await this.sockets.authenticate(client);
  }

  @SubscribeMessage('note')
  note(): string {
    handled.socketIo++;
    return 'noted';
  }
}

@WebSocketGateway({ path: '/notes' })
class WsGateway implements OnGatewayConnection {
  constructor(private readonly sockets: SessionSockets) {}

  async handleConnection(client: WebSocket, request: IncomingMessage): Promise<void> {
    await this.sockets.authenticate(client, request);
  }

  @SubscribeMessage('note')
  note() {
    handled.ws++;
    return { event: 'noted', data: 'noted' };
  }
}

@Module({ providers: [SocketIoGateway] })
class SocketIoModule {}

@Module({ providers: [WsGateway] })
class WsModule {}

const bob = { username: 'bob', password: 'bob-password' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long Redis is held (SIGSTOP) while the handshake's authentication waits for it. */
const STALL_MS = 300;

describe.each(ADAPTERS)('messages wait for the handshake’s authentication (%s)', (adapter) => {
  const own = usePrivateRedis();
  let socketIoApp: TestApp;
  let wsApp: TestApp;
  beforeAll(async () => {
    const redis = { url: own.server.url };
    socketIoApp = await createTestApp({ redis, isGlobal: true, transport: 'both' }, [SocketIoModule], { adapter });
    wsApp = await createTestApp({ redis, isGlobal: true, transport: 'both' }, [WsModule], {
      adapter,
      configure: (app: INestApplication) => app.useWebSocketAdapter(new WsAdapter(app)),
    });
  });
  afterAll(async () => {
    await socketIoApp?.close();
    await wsApp?.close();
  });

  /** A token that is well formed but no longer valid: logged in, then logged out. */
  const revokedToken = async (t: TestApp) => {
    const res = await request(t.app.getHttpServer()).post('/auth/login').send(bob);
    await request(t.app.getHttpServer()).post('/auth/logout').set('Cookie', sessionCookie(res));
    return res.body.token as string;
  };
  const liveToken = async (t: TestApp) =>
    (await request(t.app.getHttpServer()).post('/auth/login').send(bob)).body.token as string;

  /** Opens a socket.io socket while Redis stalls, sends 5 notes at once; resolves with the acks it got. */
  async function socketIoNotes(token: string): Promise<number> {
    const socket = io(`http://127.0.0.1:${listeningPort(socketIoApp.app.getHttpServer())}`, {
      transports: ['websocket'],
      auth: { token },
      forceNew: true,
      reconnection: false,
    });
    let acks = 0;
    try {
      own.server.signal('SIGSTOP');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      for (let i = 0; i < 5; i++) socket.emit('note', null, () => acks++);
      await sleep(STALL_MS);
      own.server.signal('SIGCONT');
      await sleep(500);
      return acks;
    } finally {
      own.server.signal('SIGCONT');
      socket.disconnect();
    }
  }

  /** The same over ws: resolves with the notes answered. */
  async function wsNotes(token: string): Promise<number> {
    const socket = new WebSocket(`ws://127.0.0.1:${listeningPort(wsApp.app.getHttpServer())}/notes`, {
      headers: { authorization: `Bearer ${token}` },
    });
    socket.on('error', () => undefined);
    let answered = 0;
    socket.on('message', () => answered++);
    try {
      own.server.signal('SIGSTOP');
      await new Promise<void>((resolve) => socket.once('open', () => resolve()));
      for (let i = 0; i < 5; i++) socket.send(JSON.stringify({ event: 'note' }));
      await sleep(STALL_MS);
      own.server.signal('SIGCONT');
      await sleep(500);
      return answered;
    } finally {
      own.server.signal('SIGCONT');
      socket.close();
    }
  }

  it('socket.io: a refused handshake’s messages never reach a handler; an accepted one’s all do', async () => {
    handled.socketIo = 0;
    expect(await socketIoNotes(await revokedToken(socketIoApp))).toBe(0);
    expect(handled.socketIo).toBe(0);
    expect(await socketIoNotes(await liveToken(socketIoApp))).toBe(5);
    expect(handled.socketIo).toBe(5);
  });

  it('ws: a refused handshake’s messages never reach a handler; an accepted one’s all do', async () => {
    handled.ws = 0;
    expect(await wsNotes(await revokedToken(wsApp))).toBe(0);
    expect(handled.ws).toBe(0);
    expect(await wsNotes(await liveToken(wsApp))).toBe(5);
    expect(handled.ws).toBe(5);
  });
});
