import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger, Module, type INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { Socket as ClientSocket } from 'socket.io-client';
import request from 'supertest';
import WebSocket from 'ws';
import { ChatGateway } from './readme-examples/chat.gateway.js';
import { EventsController } from './readme-examples/events.controller.js';
import { WsChatGateway } from './readme-examples/ws-chat.gateway.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { listeningPort, sessionCookie } from './support/http.js';
import { authenticated, disconnectedAt, ioConnect, openStream, within } from './support/live-clients.js';
import { sleep, uniquePrefix, usePrivateRedis } from './support/redis.js';

/*
 * What one session's live connections may cost an instance (issue 19 items 9a, 9b): one expiry
 * timer and one read per session however many sockets it has, and at most
 * `maxLiveConnectionsPerSession` of them (100 by default): the newest past the cap is refused.
 */

@Module({ providers: [ChatGateway], controllers: [EventsController] })
class LiveModule {}

@Module({ providers: [WsChatGateway] })
class WsModule {}

const bob = { username: 'bob', password: 'bob-password' };

/** The exception event socket.io sends before a disconnect, or 'nothing' after `ms`. */
const exceptionOf = (socket: ClientSocket, ms = 3000) =>
  Promise.race([
    new Promise((resolve) => socket.once('exception', resolve)),
    new Promise((r) => setTimeout(() => r('nothing'), ms)),
  ]);

async function login(t: TestApp) {
  const res = await request(t.app.getHttpServer()).post('/auth/login').send(bob);
  return { cookie: sessionCookie(res), token: res.body.token as string };
}

describe.each(ADAPTERS)('the cost of one session on an instance (%s)', (adapter) => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('item 9a: expiry re-checks', () => {
    const own = usePrivateRedis();
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ ttl: 1, isGlobal: true, transport: 'both', redis: { url: own.server.url } }, [LiveModule], {
        adapter,
        assertionClient: false,
      });
    });
    afterAll(() => t?.close());

    /** The script calls Redis ran (the expiry re-check reads a session with one). */
    async function scriptCalls(): Promise<number> {
      const info = await own.admin.info('commandstats');
      let calls = 0;
      for (const match of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(match[1]);
      return calls;
    }

    it('50 sockets of one session slid by requests cost one read per TTL period, not one per socket', async () => {
      const { token } = await login(t);
      const sockets = Array.from({ length: 50 }, () => ioConnect(t, { token }));
      const http = request(t.app.getHttpServer());
      try {
        await Promise.all(sockets.map(async (socket) => expect(await authenticated(socket)).toBe('bob')));
        await own.admin.config('RESETSTAT');
        // Requests keep the 1 s idle session alive; the sockets' watches look at it when it should have run out.
        const until = Date.now() + 3000;
        while (Date.now() < until) {
          expect((await http.get('/me').set('Authorization', `Bearer ${token}`)).status).toBe(200);
          await sleep(250);
        }
        const reads = await scriptCalls();
        process.stdout.write(`live (${adapter}): 50 sockets of one session, ${reads} expiry reads in 3 s\n`);
        expect(reads).toBeLessThanOrEqual(8);
        expect(sockets.every((socket) => socket.connected)).toBe(true);
      } finally {
        for (const socket of sockets) socket.close();
      }
    });
  });

  describe('item 9b: live connections per session, by default', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ isGlobal: true, transport: 'both' }, [LiveModule], { adapter });
    });
    afterAll(() => t?.close());

    it('by default 100 sockets of one session connect; the 101st is refused (429, TOO_MANY_CONNECTIONS) and the 100 go on', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const { token } = await login(t);
      const sockets: ClientSocket[] = [];
      try {
        for (let i = 0; i < 100; i += 25) {
          const batch = Array.from({ length: 25 }, () => ioConnect(t, { token }));
          sockets.push(...batch);
          await Promise.all(batch.map(async (socket) => expect(await authenticated(socket)).toBe('bob')));
        }
        const refused: ClientSocket[] = [ioConnect(t, { token }), ioConnect(t, { token })];
        sockets.push(...refused);
        const said = refused.map((socket) => exceptionOf(socket));
        const ended = refused.map((socket) => within(disconnectedAt(socket), 3000));
        for (let i = 0; i < refused.length; i++) {
          expect(await ended[i]).toBeLessThan(Number.POSITIVE_INFINITY);
          expect(await said[i]).toEqual({
            status: 'error',
            code: 429,
            message: 'Too many live connections for this session',
            reason: 'TOO_MANY_CONNECTIONS',
          });
        }
        expect(sockets.slice(0, 100).every((socket) => socket.connected)).toBe(true);
        expect(await sockets[0].timeout(2000).emitWithAck('whoami')).toBe('bob');
        // Logged once for both refusals (at most a line a minute).
        expect(warn.mock.calls.filter(([line]) => String(line).includes('maxLiveConnectionsPerSession (100)'))).toHaveLength(1);
      } finally {
        for (const socket of sockets) socket.close();
      }
    });
  });

  describe('item 9b: live connections per session, maxLiveConnectionsPerSession', () => {
    let capped: TestApp;
    let ws: TestApp;
    beforeAll(async () => {
      const keyPrefix = uniquePrefix('live-cap');
      capped = await createTestApp({ keyPrefix, isGlobal: true, maxLiveConnectionsPerSession: 2 }, [LiveModule], { adapter });
      ws = await createTestApp({ keyPrefix, isGlobal: true, maxLiveConnectionsPerSession: 1 }, [WsModule], {
        adapter,
        configure: (app: INestApplication) => app.useWebSocketAdapter(new WsAdapter(app)),
      });
    });
    afterAll(async () => {
      await capped?.close();
      await ws?.close();
    });

    it('2 counts streams and sockets together; a stream past it is a 429; a closed one frees its place', async () => {
      const { cookie } = await login(capped);
      const first = await openStream(capped, cookie);
      const second = await openStream(capped, cookie);
      let socket: ClientSocket | undefined;
      try {
        expect([first.status, second.status]).toEqual([200, 200]);
        const refused = await openStream(capped, cookie);
        expect(refused.status).toBe(429);
        expect(JSON.parse(await refused.body)).toMatchObject({ statusCode: 429, reason: 'TOO_MANY_CONNECTIONS' });
        socket = ioConnect(capped, { cookie });
        const said = exceptionOf(socket);
        expect(await within(disconnectedAt(socket), 3000)).toBeLessThan(Number.POSITIVE_INFINITY);
        expect(await said).toMatchObject({ code: 429, reason: 'TOO_MANY_CONNECTIONS' });
        const before = first.events();
        await sleep(250);
        expect(first.events()).toBeGreaterThan(before);

        second.close();
        await sleep(200);
        const third = await openStream(capped, cookie);
        expect(third.status).toBe(200);
        third.close();
      } finally {
        first.close();
        second.close();
        socket?.close();
      }
    });

    it('1: a ws socket past it is closed with 4429 and the reason TOO_MANY_CONNECTIONS; the first one goes on', async () => {
      const { cookie } = await login(ws);
      const url = `ws://127.0.0.1:${listeningPort(ws.app.getHttpServer())}/chat`;
      const open = (socket: WebSocket) => new Promise((resolve) => socket.once('open', resolve));
      const first = new WebSocket(url, { headers: { cookie } });
      const firstMessages: string[] = [];
      first.on('message', (raw: Buffer) => firstMessages.push(String(raw)));
      try {
        await open(first);
        first.send(JSON.stringify({ event: 'whoami' }));
        await sleep(300);
        expect(firstMessages).toEqual([JSON.stringify({ event: 'whoami', data: 'bob' })]);
        const second = new WebSocket(url, { headers: { cookie } });
        const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
          second.once('close', (code: number, reason: Buffer) => resolve({ code, reason: String(reason) })),
        );
        expect(closed).toEqual({ code: 4429, reason: 'TOO_MANY_CONNECTIONS' });
        first.send(JSON.stringify({ event: 'whoami' }));
        await sleep(300);
        expect(firstMessages).toHaveLength(2);
      } finally {
        first.close();
      }
    });
  });
});
