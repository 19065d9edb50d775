import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { WsAdapter } from '@nestjs/platform-ws';
import { Registry } from 'prom-client';
import { io } from 'socket.io-client';
import request from 'supertest';
import WebSocket from 'ws';
import {
  SESSION_ENDED_CLOSE_CODE,
  SessionEvent,
  type BindingMode,
  type SessionBindingMismatchEvent,
  type SessionRevokedEvent,
} from '../src/index.js';
import { ChatGateway } from './readme-examples/chat.gateway.js';
import { WsChatGateway } from './readme-examples/ws-chat.gateway.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { listeningPort, sessionCookie } from './support/http.js';
import { uniquePrefix } from './support/redis.js';

// A socket handshake goes through the guard's own steps, binding included: a stolen cookie
// used from another network or another browser must not open a socket that receives pushes.

const bob = { username: 'bob', password: 'bob-password' };
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
/** Where the login says it came from (the app trusts X-Forwarded-For); the sockets come from 127.0.0.1. */
const FAR_AWAY = '198.51.100.7';

@Module({ providers: [ChatGateway] })
class SocketIoModule {}

@Module({ providers: [WsChatGateway] })
class WsModule {}

type Kind = 'socket.io' | 'ws';

interface Bound {
  t: TestApp;
  registry: Registry;
  mismatches: SessionBindingMismatchEvent[];
  revoked: SessionRevokedEvent[];
}

/**
 * What a handshake came to: refused (the socket closed before it sent anything), or the username
 * its first guarded message was answered with (or what happened to that message instead).
 */
type Outcome = { refused: string } | { whoami: string };

/** How long a socket stays quiet after connecting: a refused one is closed well before. */
const QUIET_MS = 300;

/** Opens a socket with these headers; once it has been open `QUIET_MS` without a word, asks `whoami`. */
async function handshake(kind: Kind, t: TestApp, headers: Record<string, string>): Promise<Outcome> {
  const port = listeningPort(t.app.getHttpServer());
  let asked = false;
  /** Closed before a word: refused, with the reason the server gave (`SessionRefusalCode`). */
  const closed = (reason: string): Outcome => (asked ? { whoami: 'closed after the message' } : { refused: reason });
  if (kind === 'socket.io') {
    const socket = io(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      extraHeaders: headers,
      forceNew: true,
      reconnection: false,
    });
    try {
      return await new Promise<Outcome>((resolve) => {
        // A refusal is an `exception` event with its reason, then the disconnect.
        let reason = 'no reason given';
        socket.once('disconnect', () => resolve(closed(reason)));
        socket.once('connect_error', () => resolve(closed(reason)));
        socket.on('exception', (error: { message: string; reason: string }) => {
          if (asked) resolve({ whoami: `exception: ${error.message}` });
          else reason = error.reason;
        });
        socket.once('connect', () => {
          setTimeout(() => {
            if (!socket.connected) return;
            asked = true;
            socket.emit('whoami', null, (username: string) => resolve({ whoami: username }));
          }, QUIET_MS);
        });
      });
    } finally {
      socket.disconnect();
    }
  }
  const socket = new WebSocket(`ws://127.0.0.1:${port}/chat`, { headers });
  socket.on('error', () => undefined);
  try {
    return await new Promise<Outcome>((resolve) => {
      socket.once('close', (code: number, reason: Buffer) =>
        resolve(code === SESSION_ENDED_CLOSE_CODE ? closed(String(reason)) : { whoami: `closed with ${code}` }),
      );
      socket.once('message', (raw: Buffer) => {
        const message = JSON.parse(raw.toString()) as { event: string; data: string | { message: string } };
        resolve({ whoami: typeof message.data === 'string' ? message.data : `exception: ${message.data.message}` });
      });
      socket.once('open', () =>
        setTimeout(() => {
          if (socket.readyState !== WebSocket.OPEN) return;
          asked = true;
          socket.send(JSON.stringify({ event: 'whoami' }));
        }, QUIET_MS),
      );
    });
  } finally {
    socket.close();
  }
}

describe.each(ADAPTERS)('binding on socket handshakes (%s)', (adapter) => {
  describe.each<Kind>(['socket.io', 'ws'])('%s', (kind) => {
    let enforce: Bound;
    let report: Bound;
    const boundApp = async (mode: BindingMode): Promise<Bound> => {
      const registry = new Registry();
      const t = await createTestApp(
        { keyPrefix: uniquePrefix('sockbind'), isGlobal: true, binding: { ip: mode, userAgent: mode }, metrics: { registry } },
        [EventEmitterModule.forRoot(), kind === 'ws' ? WsModule : SocketIoModule],
        {
          adapter,
          trustProxy: true,
          configure: kind === 'ws' ? (app: INestApplication) => app.useWebSocketAdapter(new WsAdapter(app)) : undefined,
        },
      );
      const bound: Bound = { t, registry, mismatches: [], revoked: [] };
      const emitter = t.app.get(EventEmitter2);
      emitter.on(SessionEvent.BindingMismatch, (event: SessionBindingMismatchEvent) => bound.mismatches.push(event));
      emitter.on(SessionEvent.Revoked, (event: SessionRevokedEvent) => bound.revoked.push(event));
      return bound;
    };
    beforeAll(async () => {
      enforce = await boundApp('enforce');
      report = await boundApp('report');
    });
    afterAll(async () => {
      await enforce?.t.close();
      await report?.t.close();
    });

    /** Logs bob in as a browser would: from `ip` (X-Forwarded-For) when given, else from 127.0.0.1. */
    const login = async (app: Bound, userAgent: string, ip?: string) => {
      const req = request(app.t.app.getHttpServer()).post('/auth/login').set('User-Agent', userAgent);
      if (ip) void req.set('X-Forwarded-For', ip);
      return sessionCookie(await req.send(bob));
    };
    /** Whether the session still works over HTTP, asked as its own browser would. */
    const alive = async (app: Bound, cookie: string, userAgent: string, ip?: string) => {
      const req = request(app.t.app.getHttpServer()).get('/me').set('Cookie', cookie).set('User-Agent', userAgent);
      if (ip) void req.set('X-Forwarded-For', ip);
      return (await req).status === 200;
    };

    it('enforce: a handshake from the login’s network and browser connects', async () => {
      const cookie = await login(enforce, FIREFOX);
      expect(await handshake(kind, enforce.t, { cookie, 'user-agent': FIREFOX })).toEqual({ whoami: 'bob' });
      expect(enforce.mismatches).toEqual([]);
    });

    it('enforce: a handshake from another network is refused and the session ends', async () => {
      const cookie = await login(enforce, FIREFOX, FAR_AWAY);
      expect(await handshake(kind, enforce.t, { cookie, 'user-agent': FIREFOX })).toEqual({ refused: 'BINDING_MISMATCH' });
      expect(await alive(enforce, cookie, FIREFOX, FAR_AWAY)).toBe(false);
      expect(enforce.revoked).toContainEqual(expect.objectContaining({ reason: 'binding' }));
      expect(enforce.mismatches.at(-1)).toMatchObject({ field: 'ip', mode: 'enforce', expected: FAR_AWAY });
    });

    it('enforce: a handshake from another browser is refused and the session ends', async () => {
      const cookie = await login(enforce, FIREFOX);
      expect(await handshake(kind, enforce.t, { cookie, 'user-agent': CHROME })).toEqual({ refused: 'BINDING_MISMATCH' });
      expect(await alive(enforce, cookie, FIREFOX)).toBe(false);
      expect(enforce.mismatches.at(-1)).toMatchObject({ field: 'userAgent', mode: 'enforce', expected: FIREFOX, actual: CHROME });
    });

    it('report: the handshake connects, each differing field is counted, the session lives on', async () => {
      const cookie = await login(report, FIREFOX, FAR_AWAY);
      expect(await handshake(kind, report.t, { cookie, 'user-agent': CHROME })).toEqual({ whoami: 'bob' });
      // The handshake and the guarded message each compare: two of each field.
      expect(report.mismatches.map((event) => event.field).sort()).toEqual(['ip', 'ip', 'userAgent', 'userAgent']);
      const metrics = await report.registry.metrics();
      expect(metrics).toContain('session_binding_mismatches_total{field="ip",mode="report"} 2');
      expect(metrics).toContain('session_binding_mismatches_total{field="userAgent",mode="report"} 2');
      expect(report.revoked).toEqual([]);
      expect(await alive(report, cookie, FIREFOX, FAR_AWAY)).toBe(true);
    });
  });
});
