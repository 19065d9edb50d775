import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect as tcpConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Cluster, Redis } from 'ioredis';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import type { TestApp } from './app.js';
import { listeningPort } from './http.js';

/* Clients of live connections (socket.io sockets, SSE streams) and what Redis says of the subscribers, for the live revocation suites. */

/** Polls `condition` every 20 ms; throws naming `what` after `ms`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A socket.io client of the app's ChatGateway (test/readme-examples/chat.gateway.ts), with a bearer token or the cookie. */
export function ioConnect(t: TestApp, auth: { token?: string; cookie?: string }): ClientSocket {
  return io(`http://127.0.0.1:${listeningPort(t.app.getHttpServer())}`, {
    transports: ['websocket'],
    extraHeaders: auth.cookie ? { cookie: auth.cookie } : {},
    auth: auth.token ? { token: auth.token } : undefined,
    forceNew: true,
    reconnection: false,
  });
}

/** Connected, and its handshake authenticated (a guarded `whoami` answered: the session is watched by then). */
export async function authenticated(socket: ClientSocket): Promise<string> {
  if (!socket.connected) {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
  }
  return (await socket.timeout(3000).emitWithAck('whoami')) as string;
}

/**
 * One guarded message (the ChatGateway's `whoami` unless told) as a status: 200 when answered,
 * the refusal's code when the gateway said why (an `exception` event), 499 when the socket was
 * closed, 0 when nothing came within 2 s.
 */
export function say(socket: ClientSocket, event = 'whoami'): Promise<number> {
  return new Promise((resolve) => {
    if (!socket.connected) return resolve(499);
    const finish = (status: number) => {
      clearTimeout(timer);
      socket.off('exception', onException);
      socket.off('disconnect', onDisconnect);
      resolve(status);
    };
    const onException = (said: { code?: number }) => finish(said.code ?? 500);
    const onDisconnect = () => finish(499);
    const timer = setTimeout(() => finish(0), 2000);
    socket.once('exception', onException);
    socket.once('disconnect', onDisconnect);
    socket.emit(event, () => finish(200));
  });
}

/** Resolves with `performance.now()` when the server disconnects the socket (Infinity after `withinMs`). */
export function disconnectedAt(socket: ClientSocket, withinMs = 10_000): Promise<number> {
  return new Promise((resolve) => {
    if (!socket.connected && !socket.active) return resolve(performance.now());
    const timer = setTimeout(() => resolve(Number.POSITIVE_INFINITY), withinMs);
    socket.once('disconnect', () => {
      clearTimeout(timer);
      resolve(performance.now());
    });
  });
}

export interface OpenStream {
  status: number;
  /** The body of an answer that is no stream (a refusal). */
  body: Promise<string>;
  /** Resolves with `performance.now()` when the server ends the response. */
  ended: Promise<number>;
  events(): number;
  close(): void;
}

/** GET `path` (the README's SSE route, /events) with the cookie; resolves once the headers arrived. */
export function openStream(t: TestApp, cookie: string, path = '/events'): Promise<OpenStream> {
  const port = listeningPort(t.app.getHttpServer());
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { port, host: '127.0.0.1', path, headers: { cookie, accept: 'text/event-stream' } },
      (res: IncomingMessage) => {
        let events = 0;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          events += chunk.split('\n\n').filter((part) => part.includes('data:')).length;
        });
        const ended = new Promise<number>((done) => {
          res.on('end', () => done(performance.now()));
          res.on('close', () => done(performance.now()));
        });
        const body = ended.then(() => text);
        resolve({ status: res.statusCode ?? 0, body, ended, events: () => events, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** `promise`, or Infinity after `ms`. */
export const within = (promise: Promise<number>, ms: number): Promise<number> =>
  Promise.race([promise, new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), ms))]);

/** How many connections are subscribed to `channel` (PUBSUB NUMSUB). */
export async function subscribers(admin: Redis | Cluster, channel: string): Promise<number> {
  const reply = (await admin.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

/** The ids of the pub/sub connections named `name` (CLIENT LIST TYPE pubsub; subscribers inherit the name of the client they duplicate). */
export async function pubsubClientIds(admin: Redis, name: string): Promise<string[]> {
  const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /^id=(\d+)/.exec(line)?.[1] ?? '')
    .filter(Boolean);
}

/**
 * A TCP hop in front of Redis for one app instance: `hold()` makes new connections wait
 * (accepted, nothing passed on) until `release()`; connections already made go on.
 */
export interface RedisHop {
  readonly url: string;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startRedisHop(target: string): Promise<RedisHop> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let held: Array<() => void> | undefined;
  const server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => sockets.delete(client));
    // A socket starts paused: what the client writes waits in the buffers until it is piped.
    const pass = () => {
      if (client.destroyed) return;
      const upstream = tcpConnect(Number(port), hostname);
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    };
    if (held) held.push(pass);
    else pass();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold: () => (held ??= []),
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      for (const pass of waiting) pass();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
