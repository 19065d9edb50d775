import { describe, expect, it } from '@jest/globals';
import { decodeSession, encodeSession } from './codec.js';
import { MAX_USER_AGENT_LENGTH, toPublicUser, toStoredSession } from './stored-user.js';
import type { Session, SessionUser } from './types.js';

const CREATED = Date.UTC(2025, 0, 2, 3, 4, 5, 6);
const DEADLINE = CREATED + 43_200_000;

const store = (user: unknown, context?: { ip?: string; userAgent?: string }) =>
  toStoredSession(user as SessionUser, context, CREATED, DEADLINE, 4096);

/** Every key, at any depth (objects and arrays), of a JSON-like value. */
function allKeys(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) allKeys(item, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const key of Reflect.ownKeys(value)) {
      if (typeof key === 'string') {
        out.push(key);
        allKeys((value as Record<string, unknown>)[key], out);
      }
    }
  }
  return out;
}

const mentionsPassword = (value: unknown) => allKeys(value).some((key) => /password/i.test(key));

/** The Session a stored session turns into (what the service builds). */
function asSession(stored: ReturnType<typeof toStoredSession>): Session {
  const session: Session = {
    id: 'AAAAAAAAAAAAAAAAAAAAAA',
    userId: stored.userId,
    username: stored.username,
    role: stored.role,
    createdAt: new Date(stored.createdAt),
    lastActivityAt: new Date(stored.createdAt),
    expiresAt: new Date(stored.createdAt + 1_800_000),
    absoluteExpiresAt: new Date(stored.absoluteExpiresAt),
    ip: stored.ip,
    userAgent: stored.userAgent,
  };
  if (stored.data !== undefined) session.data = stored.data;
  return session;
}

describe('toStoredSession', () => {
  it('stores id, username, role, times and context', () => {
    const stored = store({ id: 'u_1', username: 'alice', role: 'admin' }, { ip: '203.0.113.45', userAgent: 'curl/8.5' });
    expect(stored).toEqual({
      userId: 'u_1',
      username: 'alice',
      role: 'admin',
      createdAt: CREATED,
      absoluteExpiresAt: DEADLINE,
      ip: '203.0.113.45',
      userAgent: 'curl/8.5',
      data: undefined,
    });
  });

  it('uses null for a missing username, role, ip and user agent', () => {
    const stored = store({ id: 7 });
    expect(stored.username).toBeNull();
    expect(stored.role).toBeNull();
    expect(stored.ip).toBeNull();
    expect(stored.userAgent).toBeNull();
    expect(stored.data).toBeUndefined();
    const empty = store({ id: 7 }, { ip: '', userAgent: '' });
    expect(empty.ip).toBeNull();
    expect(empty.userAgent).toBeNull();
  });

  it('keeps a number id a number and a string id a string', () => {
    expect(store({ id: 42 }).userId).toBe(42);
    expect(store({ id: 0 }).userId).toBe(0);
    expect(store({ id: Number.MAX_SAFE_INTEGER }).userId).toBe(Number.MAX_SAFE_INTEGER);
    expect(store({ id: '42' }).userId).toBe('42');
    expect(typeof store({ id: '42' }).userId).toBe('string');
    expect(store({ id: 'x'.repeat(256) }).userId).toBe('x'.repeat(256));
  });

  it('keeps the id type through the codec', () => {
    expect(decodeSession(encodeSession(store({ id: 42 })))?.userId).toBe(42);
    expect(decodeSession(encodeSession(store({ id: '42' })))?.userId).toBe('42');
  });

  it.each<[string, unknown]>([
    ['an empty string', ''],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a float', 1.5],
    ['an unsafe integer', Number.MAX_SAFE_INTEGER + 1],
    ['an object', { id: 1 }],
    ['an array', [1]],
    ['null', null],
    ['undefined', undefined],
    ['a boolean', true],
    ['a bigint', 1n],
    ['a string over 256 characters', 'x'.repeat(257)],
    ['a 10 KB string', 'x'.repeat(10 * 1024)],
  ])('rejects a bad id with a TypeError: %s', (_label, id) => {
    expect(() => store({ id, username: 'alice' })).toThrow(TypeError);
    expect(() => store({ id, username: 'alice' })).toThrow(/id/);
  });

  it('rejects a missing id and a user that is not an object', () => {
    expect(() => store({ username: 'alice' })).toThrow(TypeError);
    for (const user of [null, undefined, 'alice', 42]) expect(() => store(user)).toThrow(TypeError);
  });

  it.each<[string, unknown]>([
    ['a number', 42],
    ['an object', { first: 'alice' }],
    ['an array', ['alice']],
    ['a boolean', true],
    ['a string over 256 characters', 'a'.repeat(257)],
  ])('rejects a username or role that is %s', (_label, value) => {
    expect(() => store({ id: 1, username: value })).toThrow(TypeError);
    expect(() => store({ id: 1, username: value })).toThrow(/username/);
    expect(() => store({ id: 1, role: value })).toThrow(TypeError);
    expect(() => store({ id: 1, role: value })).toThrow(/role/);
  });

  it('keeps extra keys as custom data', () => {
    const stored = store({ id: 1, username: 'alice', tenant: 'acme', scopes: ['read', 'write'], profile: { age: 30 } });
    expect(stored.data).toEqual({ tenant: 'acme', scopes: ['read', 'write'], profile: { age: 30 } });
    expect(stored.data).not.toHaveProperty('id');
    expect(stored.data).not.toHaveProperty('username');
  });

  it.each(['password', 'passwordHash', 'PASSWORD_digest', 'Password', 'hashedPassword', 'user_password_v2', 'PassWord'])(
    'drops a top-level key named %s',
    (key) => {
      const stored = store({ id: 1, [key]: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA', tenant: 'acme' });
      expect(stored.data).toEqual({ tenant: 'acme' });
      expect(JSON.stringify(stored)).not.toContain('argon2id');
    },
  );

  it('drops password keys at any depth, in objects and arrays', () => {
    const stored = store({
      id: 1,
      creds: { oldPassword: 'hunter2', hint: 'pet' },
      history: [
        { passwordHash: 'x1', at: 1 },
        { PASSWORD_digest: 'x2', at: 2 },
      ],
      deep: { a: { b: { c: { d: { password: 'x3', keep: true } } } } },
    });
    expect(stored.data).toEqual({
      creds: { hint: 'pet' },
      history: [{ at: 1 }, { at: 2 }],
      deep: { a: { b: { c: { d: { keep: true } } } } },
    });
    expect(mentionsPassword(stored)).toBe(false);
    const encoded = encodeSession(stored);
    expect(encoded).not.toMatch(/password/i);
    expect(encoded).not.toMatch(/hunter2|x1|x2|x3/);
  });

  it('leaves data out when only password keys were given', () => {
    expect(store({ id: 1, password: 'p', passwordHash: 'h' }).data).toBeUndefined();
  });

  it('does not touch a username or role whose value mentions password', () => {
    const stored = store({ id: 1, username: 'password_reset_bot', role: 'password-admin' });
    expect(stored.username).toBe('password_reset_bot');
    expect(stored.role).toBe('password-admin');
  });

  it('drops __proto__, constructor and prototype keys at any depth (own properties, from JSON.parse)', () => {
    const user = JSON.parse(
      '{"id":1,"__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":true}},' +
        '"prototype":{"x":1},"nested":{"__proto__":{"isAdmin":true},"constructor":"c","keep":1},"tenant":"acme"}',
    ) as SessionUser;
    expect(Object.keys(user)).toContain('__proto__'); // really an own key
    const stored = store(user);
    expect(stored.data).toEqual({ nested: { keep: 1 }, tenant: 'acme' });
    const keys = allKeys(stored.data);
    expect(keys).not.toContain('__proto__');
    expect(keys).not.toContain('constructor');
    expect(keys).not.toContain('prototype');
    expect((stored.data as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(Object.getPrototypeOf(stored.data)).toBe(Object.prototype);
    expect(Object.getPrototypeOf((stored.data as Record<string, object>).nested)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(encodeSession(stored)).not.toMatch(/__proto__|constructor|isAdmin|polluted/);
  });

  it('leaves out functions and undefined values', () => {
    const stored = store({ id: 1, fn: () => 1, nothing: undefined, nested: { fn() {}, keep: 'k' } });
    expect(stored.data).toEqual({ nested: { keep: 'k' } });
  });

  it('rejects data nested too deeply instead of recursing without bound', () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 100; i++) deep = { next: deep };
    expect(() => store({ id: 1, deep })).toThrow(TypeError);
  });

  it('truncates the user agent to 512 characters', () => {
    expect(MAX_USER_AGENT_LENGTH).toBe(512);
    const long = 'Mozilla/5.0 '.repeat(100);
    const stored = store({ id: 1 }, { userAgent: long });
    expect(stored.userAgent).toHaveLength(512);
    expect(stored.userAgent).toBe(long.slice(0, 512));
    const exact = 'u'.repeat(512);
    expect(store({ id: 1 }, { userAgent: exact }).userAgent).toBe(exact);
    expect(store({ id: 1 }, { userAgent: 'x'.repeat(100_000) }).userAgent).toHaveLength(512);
  });

  it('bounds the stored ip', () => {
    const stored = store({ id: 1 }, { ip: '1'.repeat(10_000) });
    expect(stored.ip!.length).toBeLessThanOrEqual(64);
  });
});

describe('toPublicUser', () => {
  it('gives id, username, role and custom data', () => {
    const session = asSession(store({ id: 42, username: 'alice', role: 'admin', tenant: 'acme' }));
    expect(toPublicUser(session)).toEqual({ id: 42, username: 'alice', role: 'admin', tenant: 'acme' });
  });

  it('leaves out a username or role the session does not have', () => {
    const user = toPublicUser(asSession(store({ id: 'u_1' })));
    expect(user).toEqual({ id: 'u_1' });
    expect(user).not.toHaveProperty('username');
    expect(user).not.toHaveProperty('role');
  });

  it('keeps the id type', () => {
    expect(toPublicUser(asSession(store({ id: 7 }))).id).toBe(7);
    expect(toPublicUser(asSession(store({ id: '7' }))).id).toBe('7');
  });

  it('never contains a password key, whatever validateCredentials returned', () => {
    const fromApp = {
      id: 1,
      username: 'alice',
      password: 'hunter2',
      passwordHash: '$argon2id$...',
      PASSWORD_digest: 'd',
      creds: { oldPassword: 'old', keep: 1 },
      list: [{ Password: 'p' }],
    };
    const user = toPublicUser(asSession(store(fromApp)));
    expect(mentionsPassword(user)).toBe(false);
    expect(JSON.stringify(user)).not.toMatch(/password|hunter2|argon2id/i);
    expect(user).toEqual({ id: 1, username: 'alice', creds: { keep: 1 }, list: [{}] });
  });

  it('never contains a password key after a trip through the codec', () => {
    const stored = decodeSession(encodeSession(store({ id: 1, password: 'p', nested: { passwordHash: 'h', ok: 1 } })))!;
    const user = toPublicUser(asSession(stored));
    expect(mentionsPassword(user)).toBe(false);
    expect(user).toEqual({ id: 1, nested: { ok: 1 } });
  });

  it('lets the session id, username and role win over custom data of the same name', () => {
    const session = asSession(store({ id: 1, username: 'alice' }));
    session.data = { id: 999, username: 'mallory', extra: true };
    const user = toPublicUser(session);
    expect(user.id).toBe(1);
    expect(user.username).toBe('alice');
    expect(user.extra).toBe(true);
  });
});
