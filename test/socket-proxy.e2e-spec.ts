import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { SESSION_ENDED_CLOSE_CODE } from '../src/index.js';
import { ChatGateway } from './readme-examples/chat.gateway.js';
import { WsChatGateway } from './readme-examples/ws-chat.gateway.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { listeningPort } from './support/http.js';
import { postFrom, startReverseProxy, type ReverseProxy } from './support/proxy.js';

// Behind a reverse proxy every connection comes from the proxy. The HTTP side reads the client
// from X-Forwarded-For under `trust proxy`; a socket handshake must resolve its client the same
// way, or `binding.ip: 'enforce'` ends every session at its first socket message.

@Module({ providers: [ChatGateway] })
class SocketIoModule {}

@Module({ providers: [WsChatGateway] })
class WsModule {}

type Kind = 'socket.io' | 'ws';
const bob = { username: 'bob', password: 'bob-password' };
/** The browser's address: another /24 than the proxy's 127.0.0.1 (every 127.x address is this machine). */
const CLIENT = '127.0.5.5';
/** Another client, on another network again. */
const ELSEWHERE = '127.0.9.9';

/** Opens a socket from `localAddress` to `port` and asks `whoami` once; the answer, or `refused <reason>`. */
async function whoami(kind: Kind, port: number, localAddress: string, headers: Record<string, string>): Promise<string> {
  if (kind === 'socket.io') {
    const socket = io(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      extraHeaders: headers,
      localAddress,
      forceNew: true,
      reconnection: false,
    } as Parameters<typeof io>[1]);
    try {
      return await new Promise<string>((resolve) => {
        socket.on('exception', (error: { reason?: string }) => resolve(`refused ${error.reason}`));
        socket.once('connect', () => {
          setTimeout(() => {
            if (socket.connected) socket.emit('whoami', null, (username: string) => resolve(username));
          }, 150);
        });
        socket.once('connect_error', (err) => resolve(`connect_error ${err.message}`));
      });
    } finally {
      socket.disconnect();
    }
  }
  const socket = new WebSocket(`ws://127.0.0.1:${port}/chat`, { headers, localAddress });
  socket.on('error', () => undefined);
  try {
    return await new Promise<string>((resolve) => {
      socket.once('close', (code: number, reason: Buffer) =>
        resolve(code === SESSION_ENDED_CLOSE_CODE ? `refused ${String(reason)}` : `closed ${code}`),
      );
      socket.once('message', (raw: Buffer) => resolve((JSON.parse(raw.toString()) as { data: string }).data));
      socket.once('open', () => setTimeout(() => socket.send(JSON.stringify({ event: 'whoami' })), 150));
    });
  } finally {
    socket.close();
  }
}

describe.each(ADAPTERS)('socket handshakes behind a reverse proxy (%s)', (adapter) => {
  describe.each<Kind>(['socket.io', 'ws'])('%s', (kind) => {
    let trusted: TestApp;
    let untrusted: TestApp;
    let proxy: ReverseProxy;
    const app = (trustProxy: boolean) =>
      createTestApp({ isGlobal: true, binding: { ip: 'enforce' } }, [kind === 'ws' ? WsModule : SocketIoModule], {
        adapter,
        trustProxy,
        configure: kind === 'ws' ? (a: INestApplication) => a.useWebSocketAdapter(new WsAdapter(a)) : undefined,
      });
    beforeAll(async () => {
      trusted = await app(true);
      untrusted = await app(false);
      proxy = await startReverseProxy(listeningPort(trusted.app.getHttpServer()));
    });
    afterAll(async () => {
      await proxy?.close();
      await trusted?.close();
      await untrusted?.close();
    });

    /** Logs bob in from `localAddress` through `port`; the Cookie header to send back. */
    const login = async (port: number, localAddress: string) => {
      const res = await postFrom(localAddress, port, '/auth/login', bob);
      expect(res.status).toBe(200);
      return res.setCookie.map((line) => line.split(';')[0]).join('; ');
    };

    it('trust proxy on: a handshake through the proxy is the client’s, as the login was; binding holds', async () => {
      const cookie = await login(proxy.port, CLIENT);
      expect(await whoami(kind, proxy.port, CLIENT, { cookie })).toBe('bob');
      // The session is still alive afterwards (enforce would have ended it).
      expect(await whoami(kind, proxy.port, CLIENT, { cookie })).toBe('bob');
    });

    it('trust proxy on: the same cookie from another network, through the proxy, is refused and ends the session', async () => {
      const cookie = await login(proxy.port, CLIENT);
      expect(await whoami(kind, proxy.port, ELSEWHERE, { cookie })).toBe('refused BINDING_MISMATCH');
      expect(await whoami(kind, proxy.port, CLIENT, { cookie })).toBe('refused SESSION_INVALID');
    });

    it('trust proxy off: X-Forwarded-For is not believed, the peer address counts', async () => {
      const port = listeningPort(untrusted.app.getHttpServer());
      const cookie = await login(port, CLIENT);
      expect(await whoami(kind, port, ELSEWHERE, { cookie, 'x-forwarded-for': CLIENT })).toBe('refused BINDING_MISMATCH');
    });
  });
});
