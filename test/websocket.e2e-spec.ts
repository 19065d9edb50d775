import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, UseGuards } from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import request from 'supertest';
import { CurrentSession, SessionGuard } from '../src/index.js';
import { ChatGateway } from './readme-examples/chat.gateway.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { listeningPort, sessionCookie } from './support/http.js';
import { uniquePrefix } from './support/redis.js';

/** Messages guarded one by one, the connection itself open to anyone (an app of its own). */
@WebSocketGateway()
class OpenGateway {
  @UseGuards(SessionGuard)
  @SubscribeMessage('whoami')
  whoami(@CurrentSession('username') username: string): string {
    return username;
  }
}

@Module({ providers: [ChatGateway] })
class GatewayModule {}

@Module({ providers: [OpenGateway] })
class OpenGatewayModule {}

const bob = { username: 'bob', password: 'bob-password' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function connect(t: TestApp, options: { cookie?: string; origin?: string; token?: string } = {}): ClientSocket {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = options.cookie;
  if (options.origin) headers.origin = options.origin;
  return io(`http://127.0.0.1:${listeningPort(t.app.getHttpServer())}`, {
    transports: ['websocket'],
    extraHeaders: headers,
    auth: options.token ? { token: options.token } : undefined,
    // A connection of its own per socket: sockets to one host otherwise share the first one's headers.
    forceNew: true,
    reconnection: false,
  });
}

/** Resolves with the ms from `since` when the server disconnects the socket (Infinity after `withinMs`). */
function disconnected(socket: ClientSocket, since: () => number, withinMs = 3000): Promise<number> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(Number.POSITIVE_INFINITY), withinMs);
    socket.once('disconnect', () => {
      clearTimeout(timer);
      resolve(since());
    });
  });
}

const connected = (socket: ClientSocket) =>
  new Promise<void>((resolve, reject) => {
    if (socket.connected) return resolve();
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });

describe.each(ADAPTERS)('socket.io gateways (%s)', (adapter) => {
  let a: TestApp;
  let b: TestApp;
  let open: TestApp;
  beforeAll(async () => {
    const keyPrefix = uniquePrefix('ws');
    a = await createTestApp({ keyPrefix, isGlobal: true, transport: 'both' }, [GatewayModule], { adapter });
    b = await createTestApp({ keyPrefix, isGlobal: true, transport: 'both' }, [], { adapter });
    open = await createTestApp({ keyPrefix, isGlobal: true }, [OpenGatewayModule], { adapter });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await open?.close();
  });
  const login = async () => sessionCookie(await request(a.app.getHttpServer()).post('/auth/login').send(bob));

  it('a handshake with the session cookie connects; a guarded message sees @CurrentSession', async () => {
    const socket = connect(a, { cookie: await login() });
    try {
      await connected(socket);
      expect(await socket.timeout(2000).emitWithAck('whoami')).toBe('bob');
    } finally {
      socket.disconnect();
    }
  });

  it("a handshake with a bearer token in socket.io's auth.token (apps without cookies)", async () => {
    const token = (await request(a.app.getHttpServer()).post('/auth/login').send(bob)).body.token as string;
    const socket = connect(a, { token });
    try {
      await connected(socket);
      expect(await socket.timeout(2000).emitWithAck('whoami')).toBe('bob');
    } finally {
      socket.disconnect();
    }
  });

  it('a revoke on another instance (DELETE /auth/sessions/:id) disconnects the socket within a second', async () => {
    const res = await request(a.app.getHttpServer()).post('/auth/login').send(bob);
    const token = res.body.token as string;
    const socket = connect(a, { token });
    try {
      await connected(socket);
      const me = await request(a.app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`);
      let revokedAt = Number.POSITIVE_INFINITY;
      const said = new Promise((resolve) => socket.once('exception', resolve));
      const ended = disconnected(socket, () => performance.now() - revokedAt);
      revokedAt = performance.now();
      const revoke = await request(b.app.getHttpServer())
        .delete(`/auth/sessions/${me.body.sessionId as string}`)
        .set('Authorization', `Bearer ${token}`);
      expect(revoke.status).toBe(204);
      const after = await ended;
      process.stdout.write(
        `websocket (${adapter}): socket on instance A disconnected ${Math.round(after)} ms after the revoke on B\n`,
      );
      expect(after).toBeLessThan(1000);
      expect(await Promise.race([said, sleep(0)])).toMatchObject({ code: 401, reason: 'SESSION_ENDED' });
    } finally {
      socket.close();
    }
  });

  it('a handshake without a session, or with the cookie from another site, is disconnected at once, saying why', async () => {
    for (const [options, reason, code] of [
      [{}, 'SESSION_MISSING', 401],
      [{ token: 'not-a-session-token' }, 'SESSION_INVALID', 401],
      [{ cookie: await login(), origin: 'https://evil.example' }, 'CROSS_SITE', 403],
    ] as const) {
      const socket = connect(a, options);
      const said = new Promise((resolve) => socket.once('exception', resolve));
      const started = performance.now();
      expect(await disconnected(socket, () => performance.now() - started)).toBeLessThan(1000);
      // The reason comes before the disconnect: a client reads it without matching English.
      expect(await Promise.race([said, sleep(0).then(() => 'nothing said')])).toEqual({
        status: 'error',
        code,
        message: expect.any(String),
        reason,
      });
      socket.close();
    }
  });

  it('a logout on another instance disconnects the socket within a second', async () => {
    const cookie = await login();
    const socket = connect(a, { cookie });
    try {
      await connected(socket);
      let logoutAt = Number.POSITIVE_INFINITY;
      const said = new Promise((resolve) => socket.once('exception', resolve));
      const ended = disconnected(socket, () => performance.now() - logoutAt);
      logoutAt = performance.now();
      expect((await request(b.app.getHttpServer()).post('/auth/logout').set('Cookie', cookie)).status).toBe(204);
      const after = await ended;
      process.stdout.write(
        `websocket (${adapter}): socket on instance A disconnected ${Math.round(after)} ms after the logout on B\n`,
      );
      expect(after).toBeLessThan(1000);
      expect(await Promise.race([said, sleep(0)])).toMatchObject({ code: 401, reason: 'SESSION_ENDED' });
    } finally {
      socket.close();
    }
  });

  it('on a connection nobody authenticated, each message is guarded: refused without a session, answered with one', async () => {
    const anonymous = connect(open);
    const withCookie = connect(open, { cookie: await login() });
    try {
      await Promise.all([connected(anonymous), connected(withCookie)]);
      const refusal = new Promise((resolve) => anonymous.once('exception', resolve));
      anonymous.emit('whoami');
      expect(await Promise.race([refusal, sleep(2000)])).toEqual({
        status: 'error',
        code: 401,
        message: 'Authentication required',
        reason: 'SESSION_MISSING',
      });
      expect(await withCookie.timeout(2000).emitWithAck('whoami')).toBe('bob');
    } finally {
      anonymous.close();
      withCookie.close();
    }
  });
});
