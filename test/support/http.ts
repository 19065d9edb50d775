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
