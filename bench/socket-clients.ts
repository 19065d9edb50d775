/**
 * The bench's socket.io clients (socket-load.ts, socket-slices.ts): `connections` sockets, each
 * with another session's cookie from the app's cookie file, sent as a browser's socket sends it.
 */
import { readFileSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';
import { USER_AGENT } from './seed.js';

/** Opens them all; rejects if any fails to connect. */
export function openSockets(url: string, cookieFile: string, connections: number): Promise<Socket[]> {
  const cookies = (JSON.parse(readFileSync(cookieFile, 'utf8')) as { b: string[] }).b;
  return Promise.all(
    Array.from(
      { length: connections },
      (_, i) =>
        new Promise<Socket>((resolve, reject) => {
          const socket = io(url, {
            transports: ['websocket'],
            forceNew: true,
            reconnection: false,
            // As a browser's socket: its page's Origin (the guard checks it on a cookie-carried socket).
            extraHeaders: { cookie: cookies[i % cookies.length], 'user-agent': USER_AGENT, origin: url },
          });
          socket.once('connect', () => resolve(socket));
          socket.once('connect_error', reject);
        }),
    ),
  );
}
