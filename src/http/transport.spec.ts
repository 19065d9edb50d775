import { describe, expect, it } from '@jest/globals';
import { resolveSessionOptions, type SessionModuleOptions } from '../options/options.js';
import { SessionTransport, type HttpRequestLike } from './transport.js';

const TOKEN = 'k3Jd9s_-ZQ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV.mabc1234';
const OTHER = 'Zz9-_yXwVuTsRqPoNmLkJiHgFeDcBa0123456789AbC.mabc9999';
const CLEAR_SUFFIX = '; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT';

const transportFor = (options: Partial<SessionModuleOptions> = {}) => {
  const resolved = resolveSessionOptions({ redis: { url: 'redis://localhost:6379' }, ...options });
  expect(resolved.problems).toEqual([]);
  return new SessionTransport(resolved);
};

const request = (headers: Record<string, string | string[] | undefined>): HttpRequestLike => ({ headers });

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

describe('SessionTransport.extract', () => {
  describe("transport 'cookie' (default)", () => {
    const transport = transportFor();

    it('reads the token from the sid cookie', () => {
      expect(transport.kind).toBe('cookie');
      expect(transport.extract(request({ cookie: `theme=dark; sid=${TOKEN}` }))).toEqual({ token: TOKEN, fromCookie: true });
    });

    it('finds nothing without a cookie', () => {
      expect(transport.extract(request({}))).toEqual({ token: null, ambiguous: false });
      expect(transport.extract(request({ cookie: 'theme=dark' }))).toEqual({ token: null, ambiguous: false });
      expect(transport.extract(request({ cookie: 'sid=' }))).toEqual({ token: null, ambiguous: false });
      expect(transport.extract(request({ cookie: `xsid=${TOKEN}; sid2=${TOKEN}` }))).toEqual({
        token: null,
        ambiguous: false,
      });
    });

    it('ignores a bearer header', () => {
      expect(transport.extract(request({ authorization: `Bearer ${TOKEN}` }))).toEqual({ token: null, ambiguous: false });
      expect(transport.extract(request({ authorization: `Bearer ${OTHER}`, cookie: `sid=${TOKEN}` }))).toEqual({
        token: TOKEN,
        fromCookie: true,
      });
    });

    it('reports duplicate cookies as ambiguous, even when one is valid', () => {
      expect(transport.extract(request({ cookie: `sid=${TOKEN}; sid=${OTHER}` }))).toEqual({
        token: null,
        ambiguous: true,
      });
      expect(transport.extract(request({ cookie: `sid=${TOKEN}; a=1; sid=` }))).toEqual({ token: null, ambiguous: true });
      expect(transport.extract(request({ cookie: `sid=; sid=${TOKEN}` }))).toEqual({ token: null, ambiguous: true });
    });

    it('uses the configured cookie name', () => {
      const named = transportFor({ cookie: { name: '__Host-app' } });
      expect(named.extract(request({ cookie: `sid=${OTHER}; __Host-app=${TOKEN}` }))).toEqual({ token: TOKEN, fromCookie: true });
      expect(named.extract(request({ cookie: `sid=${TOKEN}` }))).toEqual({ token: null, ambiguous: false });
    });

    it('unwraps a quoted cookie', () => {
      expect(transport.extract(request({ cookie: `sid="${TOKEN}"` }))).toEqual({ token: TOKEN, fromCookie: true });
    });
  });

  describe("transport 'bearer'", () => {
    const transport = transportFor({ transport: 'bearer' });

    it('reads the token from Authorization: Bearer', () => {
      expect(transport.extract(request({ authorization: `Bearer ${TOKEN}` }))).toEqual({ token: TOKEN, fromCookie: false });
    });

    it.each(['bearer', 'BEARER', 'BeArEr'])('takes the scheme case-insensitively: %s', (scheme) => {
      expect(transport.extract(request({ authorization: `${scheme} ${TOKEN}` }))).toEqual({ token: TOKEN, fromCookie: false });
    });

    it('trims spaces around the token', () => {
      expect(transport.extract(request({ authorization: `Bearer   ${TOKEN}  ` }))).toEqual({ token: TOKEN, fromCookie: false });
    });

    it.each([
      ['Basic credentials', 'Basic xyz'],
      ['Basic credentials of token length', `Basic ${TOKEN}`],
      ['a bare token', TOKEN],
      ['the scheme alone', 'Bearer'],
      ['the scheme and spaces', 'Bearer    '],
      ['no space after the scheme', `Bearer${TOKEN}`],
      ['a longer scheme', `Bearerx ${TOKEN}`],
      ['another scheme starting with Bearer', `BearerToken ${TOKEN}`],
      ['Digest', 'Digest username="a"'],
      ['empty', ''],
    ])('ignores %s', (_label, authorization) => {
      expect(transport.extract(request({ authorization }))).toEqual({ token: null, ambiguous: false });
    });

    it('ignores the cookie', () => {
      expect(transport.extract(request({ cookie: `sid=${TOKEN}` }))).toEqual({ token: null, ambiguous: false });
      expect(transport.extract(request({ cookie: `sid=${TOKEN}; sid=${OTHER}` }))).toEqual({
        token: null,
        ambiguous: false,
      });
    });

    it('ignores an Authorization header given as an array', () => {
      expect(transport.extract(request({ authorization: [`Bearer ${TOKEN}`, `Bearer ${OTHER}`] }))).toEqual({
        token: null,
        ambiguous: false,
      });
    });
  });

  describe("transport 'both'", () => {
    const transport = transportFor({ transport: 'both' });

    it('reads a bearer header or a cookie', () => {
      expect(transport.extract(request({ authorization: `Bearer ${TOKEN}` }))).toEqual({ token: TOKEN, fromCookie: false });
      expect(transport.extract(request({ cookie: `sid=${TOKEN}` }))).toEqual({ token: TOKEN, fromCookie: true });
    });

    it('prefers the bearer header over the cookie', () => {
      expect(transport.extract(request({ authorization: `Bearer ${TOKEN}`, cookie: `sid=${OTHER}` }))).toEqual({
        token: TOKEN,
        fromCookie: false,
      });
      expect(transport.extract(request({ authorization: `bearer ${TOKEN}`, cookie: `sid=${OTHER}` }))).toEqual({
        token: TOKEN,
        fromCookie: false,
      });
    });

    it('falls back to the cookie under a non-bearer Authorization header', () => {
      expect(transport.extract(request({ authorization: 'Basic xyz', cookie: `sid=${TOKEN}` }))).toEqual({
        token: TOKEN,
        fromCookie: true,
      });
    });

    it('reports duplicate cookies as ambiguous without a bearer header', () => {
      expect(transport.extract(request({ cookie: `sid=${TOKEN}; sid=${OTHER}` }))).toEqual({
        token: null,
        ambiguous: true,
      });
      expect(
        transport.extract(request({ authorization: 'Basic xyz', cookie: `sid=${TOKEN}; sid=${OTHER}` })),
      ).toEqual({ token: null, ambiguous: true });
    });

    it('finds nothing in an empty request', () => {
      expect(transport.extract(request({}))).toEqual({ token: null, ambiguous: false });
    });
  });

  it('says which transports it uses', () => {
    expect([transportFor().usesCookie, transportFor().usesBearer]).toEqual([true, false]);
    const bearer = transportFor({ transport: 'bearer' });
    expect([bearer.usesCookie, bearer.usesBearer]).toEqual([false, true]);
    const both = transportFor({ transport: 'both' });
    expect([both.usesCookie, both.usesBearer]).toEqual([true, true]);
  });
});

describe('SessionTransport.extractAll', () => {
  it('returns every copy of the cookie', () => {
    const transport = transportFor();
    expect(transport.extractAll(request({ cookie: `sid=${TOKEN}; theme=dark; sid=${OTHER}` }))).toEqual([TOKEN, OTHER]);
    expect(transport.extractAll(request({ cookie: ` sid = "${TOKEN}" ;\tsid=${OTHER}` }))).toEqual([TOKEN, OTHER]);
  });

  it('returns a single cookie, and nothing without one', () => {
    const transport = transportFor();
    expect(transport.extractAll(request({ cookie: `sid=${TOKEN}` }))).toEqual([TOKEN]);
    expect(transport.extractAll(request({}))).toEqual([]);
    expect(transport.extractAll(request({ cookie: 'sid=; xsid=a; sid2=b; sid' }))).toEqual([]);
  });

  it('ignores a bearer header under the cookie transport', () => {
    expect(transportFor().extractAll(request({ authorization: `Bearer ${OTHER}`, cookie: `sid=${TOKEN}` }))).toEqual([
      TOKEN,
    ]);
  });

  it('ignores cookies under the bearer transport', () => {
    const transport = transportFor({ transport: 'bearer' });
    expect(transport.extractAll(request({ authorization: `Bearer ${TOKEN}`, cookie: `sid=${OTHER}` }))).toEqual([
      TOKEN,
    ]);
  });

  it("returns the bearer token and every cookie under 'both'", () => {
    const transport = transportFor({ transport: 'both' });
    const third = OTHER.replace('Zz9', 'Yy8');
    expect(
      transport.extractAll(request({ authorization: `Bearer ${TOKEN}`, cookie: `sid=${OTHER}; sid=${third}` })),
    ).toEqual([TOKEN, OTHER, third]);
  });
});

describe('SessionTransport.setCookie / clearCookie', () => {
  const deadline = () => new Date(Date.now() + 3_600_000);

  it('sets a session cookie on an Express response: HttpOnly, Secure, SameSite=Lax, Path=/, no Max-Age', () => {
    const response = expressResponse();
    transportFor().setCookie(response, TOKEN, deadline());
    expect(response.calls).toEqual([['Set-Cookie', `sid=${TOKEN}; Path=/; HttpOnly; Secure; SameSite=Lax`]]);
    const attrs = attributes(response.calls[0][1]);
    expect(attrs.has('max-age')).toBe(false);
    expect(attrs.has('expires')).toBe(false);
  });

  it('gives a persistent cookie a Max-Age up to the absolute deadline', () => {
    const response = expressResponse();
    transportFor({ cookie: { persistent: true } }).setCookie(response, TOKEN, deadline());
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
    transportFor({ cookie: { persistent: true } }).setCookie(response, TOKEN, new Date(Date.now() - 60_000));
    expect(attributes(response.calls[0][1]).get('max-age')).toBe('0');
  });

  it('uses the configured attributes', () => {
    const response = expressResponse();
    const transport = transportFor({
      cookie: { name: 'app_sid', secure: false, sameSite: 'strict', path: '/api', domain: 'example.com' },
    });
    transport.setCookie(response, TOKEN, deadline());
    expect(response.calls).toEqual([
      ['Set-Cookie', `app_sid=${TOKEN}; Path=/api; Domain=example.com; HttpOnly; SameSite=Strict`],
    ]);
    transport.clearCookie(response);
    expect(response.calls[1]).toEqual([
      'Set-Cookie',
      `app_sid=; Path=/api; Domain=example.com; HttpOnly; SameSite=Strict${CLEAR_SUFFIX}`,
    ]);
  });

  it('clears the cookie on an Express response with Max-Age=0 and a 1970 Expires', () => {
    const response = expressResponse();
    transportFor().clearCookie(response);
    expect(response.calls).toEqual([['Set-Cookie', `sid=; Path=/; HttpOnly; Secure; SameSite=Lax${CLEAR_SUFFIX}`]]);
    const attrs = attributes(response.calls[0][1]);
    expect(attrs.get('max-age')).toBe('0');
    expect(new Date(attrs.get('expires') as string).getTime()).toBe(0);
  });

  it('clears a persistent cookie the same way (same name, path and domain as when set)', () => {
    const response = expressResponse();
    const transport = transportFor({ cookie: { persistent: true, domain: 'example.com' } });
    transport.setCookie(response, TOKEN, deadline());
    transport.clearCookie(response);
    const [set, clear] = response.calls.map(([, value]) => attributes(value));
    expect(clear.get('path')).toBe(set.get('path'));
    expect(clear.get('domain')).toBe(set.get('domain'));
    expect(clear.get('max-age')).toBe('0');
    expect(response.calls[1][1].startsWith('sid=;')).toBe(true);
  });

  it('sets and clears the cookie on a Fastify reply through header()', () => {
    const reply = fastifyReply();
    const transport = transportFor();
    transport.setCookie(reply, TOKEN, deadline());
    transport.clearCookie(reply);
    expect(reply.calls).toEqual([
      ['set-cookie', `sid=${TOKEN}; Path=/; HttpOnly; Secure; SameSite=Lax`],
      ['set-cookie', `sid=; Path=/; HttpOnly; Secure; SameSite=Lax${CLEAR_SUFFIX}`],
    ]);
  });

  it('appends to the Set-Cookie headers of a plain Node response', () => {
    const transport = transportFor();
    const empty = nodeResponse();
    transport.setCookie(empty, TOKEN, deadline());
    expect(empty.headers.get('set-cookie')).toEqual([`sid=${TOKEN}; Path=/; HttpOnly; Secure; SameSite=Lax`]);

    const withOne = nodeResponse('theme=dark');
    transport.clearCookie(withOne);
    expect(withOne.headers.get('set-cookie')).toEqual([
      'theme=dark',
      `sid=; Path=/; HttpOnly; Secure; SameSite=Lax${CLEAR_SUFFIX}`,
    ]);

    const withTwo = nodeResponse(['a=1', 'b=2']);
    transport.setCookie(withTwo, TOKEN, deadline());
    expect(withTwo.headers.get('set-cookie')).toEqual(['a=1', 'b=2', `sid=${TOKEN}; Path=/; HttpOnly; Secure; SameSite=Lax`]);
  });
});
