import { describe, expect, it } from '@jest/globals';
import { resolveSessionOptions } from '../options/resolve.js';
import { type SessionModuleOptions } from '../options/types.js';
import { socketRequestOf } from './contexts/socket-request.js';
import type { HttpRequestLike } from './request.js';
import { SessionTransport } from './transport.js';

const TOKEN = 'k3Jd9s_-ZQ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV.mabc1234';
const OTHER = 'Zz9-_yXwVuTsRqPoNmLkJiHgFeDcBa0123456789AbC.mabc9999';

const transportFor = (options: Partial<SessionModuleOptions> = {}) => {
  const resolved = resolveSessionOptions({ redis: { url: 'redis://localhost:6379' }, ...options });
  expect(resolved.problems).toEqual([]);
  return new SessionTransport(resolved);
};

const request = (headers: Record<string, string | string[] | undefined>): HttpRequestLike => ({ headers });

describe('SessionTransport.extract', () => {
  describe("transport 'cookie' (default)", () => {
    const transport = transportFor();

    it('reads the token from the sid cookie', () => {
      expect([transport.usesCookie, transport.usesBearer]).toEqual([true, false]);
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
      expect(transport.extract(request({ authorization: 'Basic xyz', cookie: `sid=${TOKEN}; sid=${OTHER}` }))).toEqual({
        token: null,
        ambiguous: true,
      });
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
    expect(transportFor().extractAll(request({ authorization: `Bearer ${OTHER}`, cookie: `sid=${TOKEN}` }))).toEqual([TOKEN]);
  });

  it('ignores cookies under the bearer transport', () => {
    const transport = transportFor({ transport: 'bearer' });
    expect(transport.extractAll(request({ authorization: `Bearer ${TOKEN}`, cookie: `sid=${OTHER}` }))).toEqual([TOKEN]);
  });

  it("returns the bearer token and every cookie under 'both'", () => {
    const transport = transportFor({ transport: 'both' });
    const third = OTHER.replace('Zz9', 'Yy8');
    expect(transport.extractAll(request({ authorization: `Bearer ${TOKEN}`, cookie: `sid=${OTHER}; sid=${third}` }))).toEqual([
      TOKEN,
      OTHER,
      third,
    ]);
  });
});

describe('SessionTransport.extract on a socket: the handshake read once for all its messages', () => {
  const client = () => ({ handshake: { headers: { cookie: `sid=${TOKEN}` }, auth: { token: OTHER }, address: '10.0.0.1' } });

  it("a socket.io handshake's auth.token is its bearer token; every message gets a request of its own with the same answer", () => {
    const transport = transportFor({ transport: 'both' });
    const socket = client();
    const first = socketRequestOf(socket)!;
    const second = socketRequestOf(socket)!;
    expect(first).not.toBe(second); // the guard marks the request it validated: never shared by two messages
    expect(transport.extract(first)).toEqual({ token: OTHER, fromCookie: false });
    expect(transport.extract(second)).toBe(transport.extract(first));
    expect(socket.handshake.headers).toEqual({ cookie: `sid=${TOKEN}` }); // socket.io's own handshake untouched
  });

  it('two transports (two modules in one app) each read the handshake their own way', () => {
    const socket = client();
    const cookieOnly = transportFor({ transport: 'cookie' });
    const bearerOnly = transportFor({ transport: 'bearer' });
    expect(cookieOnly.extract(socketRequestOf(socket)!)).toEqual({ token: TOKEN, fromCookie: true });
    expect(bearerOnly.extract(socketRequestOf(socket)!)).toEqual({ token: OTHER, fromCookie: false });
    expect(cookieOnly.extract(socketRequestOf(socket)!)).toEqual({ token: TOKEN, fromCookie: true });
  });

  it('another socket is read on its own', () => {
    const transport = transportFor();
    const one = client();
    const other = { handshake: { headers: { cookie: `sid=${OTHER}` }, address: '10.0.0.2' } };
    expect(transport.extract(socketRequestOf(one)!).token).toBe(TOKEN);
    expect(transport.extract(socketRequestOf(other)!).token).toBe(OTHER);
  });
});
