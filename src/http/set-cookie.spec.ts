import { describe, expect, it } from '@jest/globals';
import { resolveSessionOptions } from '../options/resolve.js';
import { type SessionModuleOptions } from '../options/types.js';
import { SessionCookies } from './cookies.js';

const TOKEN = 'k3Jd9s_-ZQ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV.mabc1234';
const CLEAR_SUFFIX = '; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT';

const cookiesFor = (options: Partial<SessionModuleOptions> = {}) => {
  const resolved = resolveSessionOptions({ redis: { url: 'redis://localhost:6379' }, ...options });
  expect(resolved.problems).toEqual([]);
  return new SessionCookies(resolved);
};

/** A fake Express response: records `append('Set-Cookie', value)`. */
function expressResponse() {
  const calls: Array<[string, string]> = [];
  return {
    calls,
    append(name: string, value: string) {
      calls.push([name, value]);
      return this;
    },
  };
}

/** A fake Fastify reply: records `header(name, value)`. */
function fastifyReply() {
  const calls: Array<[string, string]> = [];
  return {
    calls,
    header(name: string, value: string) {
      calls.push([name, value]);
      return this;
    },
  };
}

/** A fake Node ServerResponse: `setHeader` / `getHeader`. */
function nodeResponse(initial?: string | string[]) {
  const headers = new Map<string, unknown>();
  if (initial !== undefined) headers.set('set-cookie', initial);
  return {
    headers,
    getHeader: (name: string) => headers.get(name.toLowerCase()),
    setHeader: (name: string, value: string | string[]) => {
      headers.set(name.toLowerCase(), value);
    },
  };
}

/** The attributes of a Set-Cookie value, names lower-cased. */
function attributes(setCookie: string): Map<string, string | true> {
  const [, ...parts] = setCookie.split('; ');
  return new Map<string, string | true>(
    parts.map((part): [string, string | true] => {
      const eq = part.indexOf('=');
      return eq === -1 ? [part.toLowerCase(), true] : [part.slice(0, eq).toLowerCase(), part.slice(eq + 1)];
    }),
  );
}

describe('SessionCookies.setCookie / clearCookie', () => {
  const deadline = () => new Date(Date.now() + 3_600_000);

  it('sets a session cookie on an Express response: HttpOnly, Secure, SameSite=Lax, Path=/, no Max-Age', () => {
    const response = expressResponse();
    cookiesFor().setCookie(response, TOKEN, deadline());
    expect(response.calls).toEqual([['Set-Cookie', `sid=${TOKEN}; Path=/; HttpOnly; Secure; SameSite=Lax`]]);
    const attrs = attributes(response.calls[0][1]);
    expect(attrs.has('max-age')).toBe(false);
    expect(attrs.has('expires')).toBe(false);
  });

  it('gives a persistent cookie a Max-Age up to the absolute deadline', () => {
    const response = expressResponse();
    cookiesFor({ cookie: { persistent: true } }).setCookie(response, TOKEN, deadline());
    const [name, value] = response.calls[0];
    expect(name).toBe('Set-Cookie');
    expect(value.startsWith(`sid=${TOKEN}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=`)).toBe(true);
    const maxAge = Number(attributes(value).get('max-age'));
    expect(Number.isInteger(maxAge)).toBe(true);
    expect(maxAge).toBeGreaterThanOrEqual(3598);
    expect(maxAge).toBeLessThanOrEqual(3600);
  });

  it('never gives a persistent cookie a negative Max-Age', () => {
    const response = expressResponse();
    cookiesFor({ cookie: { persistent: true } }).setCookie(response, TOKEN, new Date(Date.now() - 60_000));
    expect(attributes(response.calls[0][1]).get('max-age')).toBe('0');
  });

  it('uses the configured attributes', () => {
    const response = expressResponse();
    const cookies = cookiesFor({
      cookie: { name: 'app_sid', secure: false, sameSite: 'strict', path: '/api', domain: 'example.com' },
    });
    cookies.setCookie(response, TOKEN, deadline());
    expect(response.calls).toEqual([
      ['Set-Cookie', `app_sid=${TOKEN}; Path=/api; Domain=example.com; HttpOnly; SameSite=Strict`],
    ]);
    cookies.clearCookie(response);
    expect(response.calls[1]).toEqual([
      'Set-Cookie',
      `app_sid=; Path=/api; Domain=example.com; HttpOnly; SameSite=Strict${CLEAR_SUFFIX}`,
    ]);
  });

  it('clears the cookie on an Express response with Max-Age=0 and a 1970 Expires', () => {
    const response = expressResponse();
    cookiesFor().clearCookie(response);
    expect(response.calls).toEqual([['Set-Cookie', `sid=; Path=/; HttpOnly; Secure; SameSite=Lax${CLEAR_SUFFIX}`]]);
    const attrs = attributes(response.calls[0][1]);
    expect(attrs.get('max-age')).toBe('0');
    expect(new Date(attrs.get('expires') as string).getTime()).toBe(0);
  });

  it('clears a persistent cookie the same way (same name, path and domain as when set)', () => {
    const response = expressResponse();
    const cookies = cookiesFor({ cookie: { persistent: true, domain: 'example.com' } });
    cookies.setCookie(response, TOKEN, deadline());
    cookies.clearCookie(response);
    const [set, clear] = response.calls.map(([, value]) => attributes(value));
    expect(clear.get('path')).toBe(set.get('path'));
    expect(clear.get('domain')).toBe(set.get('domain'));
    expect(clear.get('max-age')).toBe('0');
    expect(response.calls[1][1].startsWith('sid=;')).toBe(true);
  });

  it('sets and clears the cookie on a Fastify reply through header()', () => {
    const reply = fastifyReply();
    const cookies = cookiesFor();
    cookies.setCookie(reply, TOKEN, deadline());
    cookies.clearCookie(reply);
    expect(reply.calls).toEqual([
      ['set-cookie', `sid=${TOKEN}; Path=/; HttpOnly; Secure; SameSite=Lax`],
      ['set-cookie', `sid=; Path=/; HttpOnly; Secure; SameSite=Lax${CLEAR_SUFFIX}`],
    ]);
  });

  it('appends to the Set-Cookie headers of a plain Node response', () => {
    const cookies = cookiesFor();
    const empty = nodeResponse();
    cookies.setCookie(empty, TOKEN, deadline());
    expect(empty.headers.get('set-cookie')).toEqual([`sid=${TOKEN}; Path=/; HttpOnly; Secure; SameSite=Lax`]);

    const withOne = nodeResponse('theme=dark');
    cookies.clearCookie(withOne);
    expect(withOne.headers.get('set-cookie')).toEqual([
      'theme=dark',
      `sid=; Path=/; HttpOnly; Secure; SameSite=Lax${CLEAR_SUFFIX}`,
    ]);

    const withTwo = nodeResponse(['a=1', 'b=2']);
    cookies.setCookie(withTwo, TOKEN, deadline());
    expect(withTwo.headers.get('set-cookie')).toEqual(['a=1', 'b=2', `sid=${TOKEN}; Path=/; HttpOnly; Secure; SameSite=Lax`]);
  });
});
