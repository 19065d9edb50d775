import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import request from 'supertest';
import WebSocket from 'ws';
import {
  CurrentSession,
  SESSION_ENDED_CLOSE_CODE,
  SESSION_FORBIDDEN_CLOSE_CODE,
  SessionGuard,
  SessionSockets,
} from '../src/index.js';
import { WsChatGateway } from './readme-examples/ws-chat.gateway.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { listeningPort, sessionCookie } from './support/http.js';
import { uniquePrefix } from './support/redis.js';

/** A gateway that forgot authenticate: its guarded messages are refused, never let through. */
@WebSocketGateway({ path: '/forgot' })
class ForgetfulGateway {
  @UseGuards(SessionGuard)
  @SubscribeMessage('whoami')
  whoami(@CurrentSession('username') username: string) {
    return { event: 'whoami', data: username };
  }
}

/** A ws gateway that hands authenticate the socket alone: its types refuse it, and at run time it is loud. */
@WebSocketGateway({ path: '/no-request' })
class NoRequestGateway implements OnGatewayConnection {
  constructor(private readonly sockets: SessionSockets) {}

  async handleConnection(client: WebSocket): Promise<void> {
    // @ts-expect-error A ws socket has no handshake of its own: authenticate(client, request) is required.
    await this.sockets.authenticate(client);
  }
}

/** Under globalGuard: no decorators, no authenticate. */
@WebSocketGateway({ path: '/global' })
class UndecoratedGateway {
  @SubscribeMessage('whoami')
  whoami(@CurrentSession('username') username: string) {
    return { event: 'whoami', data: username };
  }
}

// The README's `ws` gateway (path /chat): the upgrade request handed to authenticate, every message guarded.
@Module({ providers: [WsChatGateway, ForgetfulGateway, NoRequestGateway] })
class GatewayModule {}

@Module({ providers: [UndecoratedGateway] })
class GlobalGatewayModule {}

const bob = { username: 'bob', password: 'bob-password' };
const withWs = (app: INestApplication) => app.useWebSocketAdapter(new WsAdapter(app));

interface Client {
  socket: WebSocket;
  /** The next message the server sends, parsed (`{ event, data }`), or 'timeout'. */
  next(ms?: number): Promise<unknown>;
  /** Resolves with the close code and reason, and the ms from `since()` when it came. */
  closed: Promise<{ code: number; reason: string; at: number }>;
}

function connect(t: TestApp, path: string, headers: Record<string, string> = {}): Client {
  const socket = new WebSocket(`ws://127.0.0.1:${listeningPort(t.app.getHttpServer())}${path}`, { headers });
  const queue: unknown[] = [];
  const waiting: Array<(message: unknown) => void> = [];
  socket.on('message', (raw: Buffer) => {
    const message: unknown = JSON.parse(raw.toString());
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  socket.on('error', () => undefined);
  return {
    socket,
    next: (ms = 2000) =>
      queue.length > 0
        ? Promise.resolve(queue.shift())
        : new Promise((resolve) => {
            const timer = setTimeout(() => resolve('timeout'), ms);
            waiting.push((message) => {
              clearTimeout(timer);
              resolve(message);
            });
          }),
    closed: new Promise((resolve) =>
      socket.once('close', (code: number, reason: Buffer) => resolve({ code, reason: String(reason), at: performance.now() })),
    ),
  };
}

const opened = (client: Client) =>
  new Promise<void>((resolve, reject) => {
    if (client.socket.readyState === WebSocket.OPEN) return resolve();
    client.socket.once('open', () => resolve());
    client.socket.once('error', reject);
  });

const ask = async (client: Client) => {
  client.socket.send(JSON.stringify({ event: 'whoami' }));
  return client.next();
};

describe.each(ADAPTERS)('ws gateways, @nestjs/platform-ws (%s)', (adapter) => {
  let a: TestApp;
  let b: TestApp;
  let global: TestApp;
  beforeAll(async () => {
    const keyPrefix = uniquePrefix('wsgw');
    a = await createTestApp({ keyPrefix, isGlobal: true, transport: 'both' }, [GatewayModule], { adapter, configure: withWs });
    b = await createTestApp({ keyPrefix, isGlobal: true, transport: 'both' }, [], { adapter });
    global = await createTestApp({ keyPrefix, isGlobal: true, globalGuard: true }, [GlobalGatewayModule], {
      adapter,
      configure: withWs,
    });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await global?.close();
  });
  const login = () => request(a.app.getHttpServer()).post('/auth/login').send(bob);

  it('a handshake with the session cookie: guarded messages see @CurrentSession', async () => {
    const client = connect(a, '/chat', { cookie: sessionCookie(await login()) });
    try {
      await opened(client);
      expect(await ask(client)).toEqual({ event: 'whoami', data: 'bob' });
      expect(await ask(client)).toEqual({ event: 'whoami', data: 'bob' });
    } finally {
      client.socket.close();
    }
  });

  it('a handshake with a bearer token in Authorization (Node and native clients)', async () => {
    const token = (await login()).body.token as string;
    const client = connect(a, '/chat', { authorization: `Bearer ${token}` });
    try {
      await opened(client);
      expect(await ask(client)).toEqual({ event: 'whoami', data: 'bob' });
    } finally {
      client.socket.close();
    }
  });

  it('a handshake without a session (4401), with a bad token (4401) or with the cookie from another site (4403) is closed at once, the reason as the close reason', async () => {
    const refused: Array<[Record<string, string>, number, string]> = [
      [{}, SESSION_ENDED_CLOSE_CODE, 'SESSION_MISSING'],
      [{ authorization: 'Bearer not-a-session-token' }, SESSION_ENDED_CLOSE_CODE, 'SESSION_INVALID'],
      [{ cookie: sessionCookie(await login()), origin: 'https://evil.example' }, SESSION_FORBIDDEN_CLOSE_CODE, 'CROSS_SITE'],
    ];
    for (const [headers, expectedCode, expectedReason] of refused) {
      const client = connect(a, '/chat', headers);
      const started = performance.now();
      const { code, reason, at } = await client.closed;
      expect({ code, reason }).toEqual({ code: expectedCode, reason: expectedReason });
      expect(at - started).toBeLessThan(1000);
    }
  });

  it('a logout on another instance closes the socket within a second; a revoke from another instance too', async () => {
    for (const end of ['logout', 'revoke'] as const) {
      const res = await login();
      const cookie = sessionCookie(res);
      const client = connect(a, '/chat', { cookie });
      await opened(client);
      const me = await request(a.app.getHttpServer()).get('/me').set('Cookie', cookie);
      const endedAt = performance.now();
      const ending =
        end === 'logout'
          ? request(b.app.getHttpServer()).post('/auth/logout').set('Cookie', cookie)
          : request(b.app.getHttpServer())
              .delete(`/auth/sessions/${me.body.sessionId as string}`)
              .set('Authorization', `Bearer ${res.body.token as string}`);
      expect((await ending).status).toBe(204);
      const { code, reason, at } = await Promise.race([
        client.closed,
        sleep(3000).then(() => ({ code: -1, reason: 'none', at: Infinity })),
      ]);
      process.stdout.write(`ws (${adapter}): socket on instance A closed ${Math.round(at - endedAt)} ms after the ${end} on B\n`);
      expect({ code, reason }).toEqual({ code: SESSION_ENDED_CLOSE_CODE, reason: 'SESSION_ENDED' });
      expect(at - endedAt).toBeLessThan(1000);
    }
  });

  it('authenticate(client) without the upgrade request: closed 4401 SESSION_MISSING, and one error log naming the fix', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error');
    try {
      const cookie = sessionCookie(await login());
      for (let i = 0; i < 2; i++) {
        const { code, reason } = await connect(a, '/no-request', { cookie }).closed;
        expect({ code, reason }).toEqual({ code: SESSION_ENDED_CLOSE_CODE, reason: 'SESSION_MISSING' });
      }
      const logged = errors.mock.calls.map(([message]) => String(message)).filter((m) => m.includes('no handshake'));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain('authenticate(client, request)');
    } finally {
      errors.mockRestore();
    }
  });

  it('a message guarded on a socket that kept no handshake is refused (401), never let through, globalGuard too', async () => {
    const cookie = sessionCookie(await login());
    for (const [app, path] of [
      [a, '/forgot'],
      [global, '/global'],
    ] as const) {
      const client = connect(app, path, { cookie });
      try {
        await opened(client);
        expect(await ask(client)).toEqual({
          event: 'exception',
          data: { status: 'error', code: 401, message: 'Authentication required', reason: 'SESSION_MISSING' },
        });
      } finally {
        client.socket.close();
      }
    }
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
