import { describe, expect, it } from '@jest/globals';
import { decodeSession, encodeSession, type StoredSession } from './codec.js';

/** A real Chrome-on-Linux user agent, 104 bytes. */
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.84 Safari/537.36';
const CREATED = Date.UTC(2025, 5, 1, 8, 30, 0, 456);
const DEADLINE = CREATED + 43_200_000;

const session = (patch: Partial<StoredSession> = {}): StoredSession => ({
  userId: 'u_1',
  username: 'alice',
  role: 'admin',
  createdAt: CREATED,
  absoluteExpiresAt: DEADLINE,
  ip: '203.0.113.45',
  userAgent: USER_AGENT,
  data: undefined,
  ...patch,
});

describe('encodeSession / decodeSession', () => {
  it('round-trips a session', () => {
    const original = session();
    expect(decodeSession(encodeSession(original))).toEqual(original);
  });

  it('round-trips a session with custom data', () => {
    const original = session({ data: { tenant: 'acme', flags: [1, 'two', null], nested: { level: 2, ok: true } } });
    expect(decodeSession(encodeSession(original))).toEqual(original);
  });

  it('round-trips nulls', () => {
    const original = session({ username: null, role: null, ip: null, userAgent: null });
    expect(decodeSession(encodeSession(original))).toEqual(original);
  });

  it('round-trips unicode and characters JSON must escape', () => {
    const original = session({
      username: 'zoë "the" \\ admin\n',
      userAgent: 'agent\u0000\u2028 😀',
      data: { 'key with "quotes"': 'ünïcödé' },
    });
    expect(decodeSession(encodeSession(original))).toEqual(original);
  });

  it('stores data only when present', () => {
    const without = JSON.parse(encodeSession(session())) as unknown[];
    expect(without).toHaveLength(8);
    const decoded = decodeSession(encodeSession(session()));
    expect(decoded?.data).toBeUndefined();

    const withData = JSON.parse(encodeSession(session({ data: { tenant: 'acme' } }))) as unknown[];
    expect(withData).toHaveLength(9);
    expect(withData[8]).toEqual({ tenant: 'acme' });
  });

  it('starts with the format version 1', () => {
    expect((JSON.parse(encodeSession(session())) as unknown[])[0]).toBe(1);
  });

  it('keeps a number userId a number and a string userId a string', () => {
    const numeric = decodeSession(encodeSession(session({ userId: 42 })));
    expect(numeric?.userId).toBe(42);
    expect(typeof numeric?.userId).toBe('number');

    const text = decodeSession(encodeSession(session({ userId: '42' })));
    expect(text?.userId).toBe('42');
    expect(typeof text?.userId).toBe('string');

    const big = decodeSession(encodeSession(session({ userId: Number.MAX_SAFE_INTEGER })));
    expect(big?.userId).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeSession(encodeSession(session({ userId: 0 })))?.userId).toBe(0);
  });

  it('keeps timestamps as numbers, to the millisecond', () => {
    const decoded = decodeSession(encodeSession(session()));
    expect(decoded?.createdAt).toBe(CREATED);
    expect(decoded?.absoluteExpiresAt).toBe(DEADLINE);
    expect(typeof decoded?.createdAt).toBe('number');
  });

  it('keeps numbers in data numbers', () => {
    const decoded = decodeSession(encodeSession(session({ data: { count: 3, ratio: 0.5, ids: [1, 2] } })));
    expect(decoded?.data).toEqual({ count: 3, ratio: 0.5, ids: [1, 2] });
    expect(typeof decoded?.data?.count).toBe('number');
  });

  it('is compact: a typical browser session encodes to under 230 bytes', () => {
    expect(Buffer.byteLength(USER_AGENT)).toBe(104);
    const encoded = encodeSession(session({ userId: 'c0a8012e-7f3b-4c1d-9e2a-5b6c7d8e9f01', username: 'alice', role: 'admin' }));
    expect(Buffer.byteLength(encoded)).toBeLessThan(230);
    const numeric = encodeSession(session({ userId: 1234567, username: 'bob', role: 'user' }));
    expect(Buffer.byteLength(numeric)).toBeLessThan(230);
  });

  it.each([
    ['empty', ''],
    ['not JSON', 'hello'],
    ['truncated JSON', encodeSession(session()).slice(0, -1)],
    ['an object', JSON.stringify({ userId: 'u_1' })],
    ['a number', '1'],
    ['null', 'null'],
    ['a string', '"[1]"'],
    ['an empty array', '[]'],
    ['the old hash layout', JSON.stringify(['userId', 'u_1', 'username', 'alice'])],
  ])('returns null for malformed input: %s', (_label, value) => {
    expect(decodeSession(value)).toBeNull();
  });

  const fields = () => JSON.parse(encodeSession(session({ data: { a: 1 } }))) as unknown[];
  const withField = (index: number, value: unknown) => {
    const f = fields();
    f[index] = value;
    return JSON.stringify(f);
  };

  it.each([
    ['version 0', 0],
    ['version 2', 2],
    ['version "1"', '1'],
    ['version null', null],
  ])('returns null for a wrong version: %s', (_label, version) => {
    expect(decodeSession(withField(0, version))).toBeNull();
  });

  it.each<[string, number, unknown]>([
    ['userId boolean', 1, true],
    ['userId null', 1, null],
    ['userId object', 1, { id: 1 }],
    ['userId array', 1, [1]],
    ['userId not an integer', 1, 1.5],
    ['userId past the safe integers', 1, 2 ** 53],
    ['username number', 2, 7],
    ['username object', 2, {}],
    ['role number', 3, 1],
    ['role boolean', 3, false],
    ['createdAt string', 4, String(CREATED)],
    ['createdAt ISO date', 4, new Date(CREATED).toISOString()],
    ['createdAt null', 4, null],
    ['absoluteExpiresAt string', 5, String(DEADLINE)],
    ['absoluteExpiresAt null', 5, null],
    ['ip number', 6, 3405803821],
    ['ip array', 6, ['203.0.113.45']],
    ['userAgent number', 7, 1],
    ['userAgent object', 7, {}],
    ['data array', 8, [1, 2]],
    ['data string', 8, 'data'],
    ['data number', 8, 1],
    ['data null', 8, null],
  ])('returns null for a wrong type: %s', (_label, index, value) => {
    expect(decodeSession(withField(index, value))).toBeNull();
  });

  it('returns null for too few or too many fields', () => {
    const f = fields();
    expect(decodeSession(JSON.stringify(f.slice(0, 7)))).toBeNull();
    expect(decodeSession(JSON.stringify([...f, 'extra']))).toBeNull();
  });

  it('accepts exactly 8 and 9 fields', () => {
    const f = fields();
    expect(decodeSession(JSON.stringify(f.slice(0, 8)))).not.toBeNull();
    expect(decodeSession(JSON.stringify(f))).not.toBeNull();
  });

  it('does not pollute prototypes when data holds __proto__', () => {
    const value = '[1,"u_1",null,null,1,2,null,null,{"__proto__":{"polluted":true}}]';
    const decoded = decodeSession(value);
    expect(decoded).not.toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(decoded?.data)).toBe(Object.prototype);
  });
});
