import { MAX_USER_AGENT_LENGTH } from '../core/stored-user.js';

/** The request shape the module reads; Express and Fastify requests both fit. */
export interface HttpRequestLike {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
  ip?: string;
  socket?: { remoteAddress?: string };
}

/** The three ways a response sets headers: Express, a Fastify reply, a plain Node response. */
type HeaderSetter =
  | { append(name: string, value: string): unknown } // Express
  | { header(name: string, value: string): unknown } // Fastify reply
  | { setHeader(name: string, value: string | string[]): unknown; getHeader(name: string): unknown };

/** Sets a response header on Express or Fastify. */
export function setResponseHeader(response: unknown, name: string, value: string): void {
  const target = response as { setHeader?: (n: string, v: string) => unknown; header?: (n: string, v: string) => unknown };
  if (typeof target.setHeader === 'function' && !('raw' in (response as object))) target.setHeader(name, value);
  else if (typeof target.header === 'function') target.header(name, value);
}

/** Adds one `Set-Cookie` header, keeping those already set (Express, Fastify, Node). */
export function appendSetCookie(response: unknown, value: string): void {
  const target = response as HeaderSetter;
  if ('append' in target && typeof target.append === 'function') {
    target.append('Set-Cookie', value);
  } else if ('header' in target && typeof target.header === 'function') {
    target.header('set-cookie', value); // Fastify appends set-cookie values
  } else if ('setHeader' in target) {
    const previous = target.getHeader('set-cookie');
    const list: string[] =
      previous === undefined ? [] : Array.isArray(previous) ? previous.map(String) : [String(previous as string)];
    target.setHeader('set-cookie', [...list, value]);
  }
}

/** Where a login came from, as stored with its session: the client IP and the user agent (capped). */
export function requestContext(request: HttpRequestLike): { ip: string | undefined; userAgent: string | undefined } {
  const userAgent = request.headers['user-agent'];
  return {
    ip: request.ip ?? request.socket?.remoteAddress,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, MAX_USER_AGENT_LENGTH) : undefined,
  };
}
