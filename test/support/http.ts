import type { Response } from 'supertest';

/** The `sid=...` pair of a login response, ready for a Cookie header. */
export function sessionCookie(response: Response, name = 'sid'): string {
  const header = setCookies(response).find((c) => c.startsWith(`${name}=`));
  if (!header) throw new Error(`no ${name} cookie in ${JSON.stringify(response.headers['set-cookie'])}`);
  return header.split(';')[0];
}

export function setCookies(response: Response): string[] {
  const raw = response.headers['set-cookie'] as unknown;
  return Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
}

export function tokenOf(cookie: string): string {
  return cookie.slice(cookie.indexOf('=') + 1);
}

import { connect } from 'node:net';

/**
 * Sends bytes as-is (any header content, control characters, invalid UTF-8) and
 * returns the status code: clients like supertest refuse to send such headers.
 */
export function rawRequest(port: number, head: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (match) {
        resolve(Number(match[1]));
        socket.destroy();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed without a status line: ${JSON.stringify(data)}`)));
    socket.write(head);
  });
}

export function listeningPort(server: { address(): unknown }): number {
  const address = server.address() as { port: number };
  return address.port;
}
