import { describe, expect, it } from '@jest/globals';
import { resolveModuleOptions, resolveSessionOptions } from './resolve.js';
import { SESSION_DEFAULTS } from './defaults.js';
import { SessionOptionsError } from './error.js';
import { validateSessionOptions } from './validate.js';
import type { SessionModuleOptions } from './types.js';

const redis = { url: 'redis://localhost:6379' };
const fakeClient = { defineCommand() {}, getex() {} };

/** The problems for the base options with `patch` applied (undefined values delete keys). */
function problemsWith(patch: Record<string, unknown>): string[] {
  const options: Record<string, unknown> = { redis, ...patch };
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  return validateSessionOptions(options);
}

function problemsWithCookie(cookie: Record<string, unknown>): string[] {
  return validateSessionOptions({ redis, cookie });
}

/** Exactly one problem, which names `name` in backquotes (as every message does). */
function expectOneProblemNaming(problems: string[], name: string): string {
  expect(problems).toHaveLength(1);
  expect(problems[0]).toContain(`\`${name}`);
  return problems[0];
}

describe('validateSessionOptions: valid options', () => {
  it.each<[string, Record<string, unknown>]>([
    ['a url', { redis }],
    ['a rediss:// url with credentials and db', { redis: { url: 'rediss://user:secret@cache.internal:6380/2' } }],
    ['a url with extra ioredis options', { redis: { url: 'redis://localhost', options: { db: 1 } } }],
    ['an ioredis client', { redis: { client: fakeClient } }],
    ['a cluster', { redis: { cluster: { nodes: [{ host: '127.0.0.1', port: 7000 }] } } }],
    ['ioredis options', { redis: { host: '127.0.0.1', port: 6379 } }],
    ['sentinel options', { redis: { sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster' } }],
  ])('accepts %s', (_label, options) => {
    expect(validateSessionOptions(options)).toEqual([]);
  });

  it('accepts every option set to a sensible value', () => {
    const options: SessionModuleOptions = {
      redis,
      keyPrefix: 'myapp:sess:',
      ttl: 600,
      absoluteTtl: 86_400,
      cookie: { name: 'app_sid', secure: true, sameSite: 'strict', path: '/', domain: 'example.com', persistent: true },
      transport: 'both',
      validateCredentials: async () => null,
      maxSessionsPerUser: 5,
      controller: false,
      globalGuard: true,
      isGlobal: true,
    };
    expect(validateSessionOptions(options)).toEqual([]);
  });

  it.each<[string, Record<string, unknown>]>([
    ['ttl equal to absoluteTtl', { ttl: 3600, absoluteTtl: 3600 }],
    ['sameSite none with secure true', { cookie: { sameSite: 'none', secure: true } }],
    ['sameSite none with secure left to its default', { cookie: { sameSite: 'none' } }],
    ['secure false with lax', { cookie: { secure: false, sameSite: 'lax' } }],
    ['transport bearer', { transport: 'bearer' }],
    ['transport cookie', { transport: 'cookie' }],
    ['maxSessionsPerUser 1', { maxSessionsPerUser: 1 }],
    ['maxSessionsPerUser null (no limit)', { maxSessionsPerUser: null }],
    ['maxSessionsPerUser Infinity (no limit)', { maxSessionsPerUser: Number.POSITIVE_INFINITY }],
    ['a sub-domain cookie domain with a leading dot', { cookie: { domain: '.app.example.co.uk' } }],
    ['a deeper cookie path', { cookie: { path: '/api/v1' } }],
    ['a synchronous validateCredentials', { validateCredentials: () => null }],
  ])('accepts %s', (_label, patch) => {
    expect(problemsWith(patch)).toEqual([]);
  });
});

describe('validateSessionOptions: each bad option gets a clear message that names it', () => {
  it('rejects options that are not an object', () => {
    for (const raw of [undefined, null, 'redis://localhost', 42, [redis]]) {
      const problems = validateSessionOptions(raw);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/options must be an object/);
    }
  });

  it('requires redis', () => {
    const message = expectOneProblemNaming(validateSessionOptions({}), 'redis');
    expect(message).toMatch(/required/);
    expectOneProblemNaming(validateSessionOptions({ redis: null }), 'redis');
  });

  it.each(['redis://localhost', 42, true])('rejects a redis that is not an object: %j', (value) => {
    expectOneProblemNaming(problemsWith({ redis: value }), 'redis');
  });

  it.each(['localhost:6379', 'http://localhost:6379', 'redis:/localhost', 'redis://', ''])(
    'rejects a bad redis.url: %j',
    (url) => {
      const message = expectOneProblemNaming(problemsWith({ redis: { url } }), 'redis.url');
      expect(message).toContain('redis://');
      expect(message).toContain(JSON.stringify(url));
    },
  );

  it('rejects a redis.url that is not a string', () => {
    expectOneProblemNaming(problemsWith({ redis: { url: 6379 } }), 'redis.url');
  });

  it('rejects a redis.client that is not an ioredis instance', () => {
    expectOneProblemNaming(problemsWith({ redis: { client: {} } }), 'redis.client');
    expectOneProblemNaming(problemsWith({ redis: { client: null } }), 'redis.client');
  });

  it('rejects a cluster without nodes', () => {
    expectOneProblemNaming(problemsWith({ redis: { cluster: { nodes: [] } } }), 'redis.cluster.nodes');
    expectOneProblemNaming(problemsWith({ redis: { cluster: {} } }), 'redis.cluster.nodes');
  });

  it.each<[string, unknown]>([
    ['0', 0],
    ['negative', -1],
    ['a fraction', 1.5],
    ['a string', '1800'],
    ['NaN', Number.NaN],
    ['null', null],
  ])('rejects ttl %s', (_label, ttl) => {
    const message = expectOneProblemNaming(problemsWith({ ttl }), 'ttl`');
    expect(message).toMatch(/seconds/);
  });

  it('rejects an infinite ttl', () => {
    const problems = problemsWith({ ttl: Number.POSITIVE_INFINITY });
    expect(problems.some((p) => p.startsWith('`ttl` must be a whole number'))).toBe(true);
  });

  it('rejects a ttl that looks like milliseconds', () => {
    const message = expectOneProblemNaming(problemsWith({ ttl: 1_800_000_000, absoluteTtl: 43_200 }).slice(0, 1), 'ttl`');
    expect(message).toMatch(/milliseconds/);
    const both = problemsWith({ ttl: 1_800_000_000, absoluteTtl: 43_200_000_000 });
    expect(both).toHaveLength(2);
    expect(both[0]).toMatch(/^`ttl`.*milliseconds/);
    expect(both[1]).toMatch(/^`absoluteTtl`.*milliseconds/);
  });

  it.each<[string, unknown]>([
    ['0', 0],
    ['negative', -43200],
    ['a fraction', 3600.5],
    ['a string', '43200'],
  ])('rejects absoluteTtl %s', (_label, absoluteTtl) => {
    expectOneProblemNaming(problemsWith({ absoluteTtl }), 'absoluteTtl`');
  });

  it('rejects absoluteTtl < ttl, naming both', () => {
    const message = expectOneProblemNaming(problemsWith({ ttl: 3600, absoluteTtl: 600 }), 'absoluteTtl`');
    expect(message).toContain('`ttl`');
    expect(message).toContain('600');
    expect(message).toContain('3600');
  });

  it('rejects a ttl above the default absoluteTtl when absoluteTtl is left out', () => {
    const message = expectOneProblemNaming(problemsWith({ ttl: SESSION_DEFAULTS.absoluteTtl + 1 }), 'absoluteTtl`');
    expect(message).toContain('`ttl`');
  });

  it("rejects sameSite 'none' with secure false", () => {
    const message = expectOneProblemNaming(problemsWithCookie({ sameSite: 'none', secure: false }), "cookie.sameSite: 'none'");
    expect(message).toContain('cookie.secure');
  });

  it.each(['Lax', 'LAX', 'off', '', true, 1])('rejects a bad sameSite: %j', (sameSite) => {
    expectOneProblemNaming(problemsWithCookie({ sameSite }), 'cookie.sameSite`');
  });

  it.each(['Cookie', 'header', 'session', '', 'cookie,bearer', 1, null])('rejects a bad transport: %j', (transport) => {
    const message = expectOneProblemNaming(problemsWith({ transport }), 'transport`');
    expect(message).toMatch(/'cookie', 'bearer' or 'both'/);
  });

  it.each(['my sid', ' sid', 'sid;', 'a;b', 'sid=x', 'sid,x', 'a"b', 'sid\n', 'sïd', '', 'x'.repeat(129)])(
    'rejects a bad cookie name: %j',
    (name) => {
      expectOneProblemNaming(problemsWithCookie({ name }), 'cookie.name`');
    },
  );

  it('rejects a cookie name that is not a string', () => {
    expectOneProblemNaming(problemsWithCookie({ name: 42 }), 'cookie.name`');
  });

  it.each(['api', '', ' /', '/a;b', '/a b', '/a\nb', '/é', 42])('rejects a bad cookie path: %j', (path) => {
    expectOneProblemNaming(problemsWithCookie({ path }), 'cookie.path`');
  });

  it.each([
    'exa mple.com',
    'example.com;',
    'example.com; Secure',
    'https://example.com',
    'example.com/',
    '-example.com',
    'example..com',
    '',
    'exämple.com',
    42,
  ])('rejects a bad cookie domain: %j', (domain) => {
    expectOneProblemNaming(problemsWithCookie({ domain }), 'cookie.domain`');
  });

  it.each([
    ['secure', 'yes'],
    ['persistent', 1],
  ])('rejects a non-boolean cookie.%s', (key, value) => {
    expectOneProblemNaming(problemsWithCookie({ [key]: value }), `cookie.${key}\``);
  });

  it('rejects a cookie that is not an object', () => {
    expectOneProblemNaming(problemsWith({ cookie: 'sid' }), 'cookie`');
  });

  it.each(['ttL', 'keyprefix', 'absoluteTTL', 'maxSessions', 'transports', 'validate', 'cookies'])(
    'rejects an unknown option (typo): %s',
    (key) => {
      const message = expectOneProblemNaming(problemsWith({ [key]: 1 }), key);
      expect(message).toMatch(/unknown option/);
    },
  );

  it.each(['httpOnly', 'maxAge', 'Name', 'samesite', 'expires'])('rejects an unknown cookie key: %s', (key) => {
    const message = expectOneProblemNaming(problemsWithCookie({ [key]: 1 }), `cookie.${key}`);
    expect(message).toMatch(/unknown option/);
  });

  it.each<[string, unknown]>([
    ['0', 0],
    ['negative', -1],
    ['a fraction', 2.5],
    ['a string', '3'],
    ['NaN', Number.NaN],
    ['-Infinity', Number.NEGATIVE_INFINITY],
  ])('rejects maxSessionsPerUser %s', (_label, maxSessionsPerUser) => {
    expectOneProblemNaming(problemsWith({ maxSessionsPerUser }), 'maxSessionsPerUser`');
  });

  it.each(['function', {}, true, null])('rejects a validateCredentials that is not a function: %j', (value) => {
    expectOneProblemNaming(problemsWith({ validateCredentials: value }), 'validateCredentials`');
  });

  it.each(['', 'my prefix:', 'a\nb:', 'é:', 'x'.repeat(101), 42])('rejects a bad keyPrefix: %j', (keyPrefix) => {
    expectOneProblemNaming(problemsWith({ keyPrefix }), 'keyPrefix`');
  });

  it.each([0, 1, 1.5, -1, '4096', 2_000_000, null])('rejects maxDataBytes %p', (value) => {
    expectOneProblemNaming(problemsWith({ maxDataBytes: value }), 'maxDataBytes');
  });

  it('resolves maxDataBytes (default 4096 bytes)', () => {
    expect(resolveSessionOptions({ redis, maxDataBytes: 65_536 }).maxDataBytes).toBe(65_536);
    expect(resolveSessionOptions({ redis }).maxDataBytes).toBe(4096);
  });

  it.each(['controller', 'globalGuard', 'isGlobal'])('rejects a non-boolean %s', (flag) => {
    expectOneProblemNaming(problemsWith({ [flag]: 'yes' }), `${flag}\``);
  });

  it('reports every problem at once', () => {
    const problems = validateSessionOptions({
      ttl: 0,
      transport: 'header',
      cookie: { name: 'a b', sameSite: 'none', secure: false, httpOnly: true },
      keyPrefix: '',
      maxSessionsPerUser: 0,
      validateCredentials: 'nope',
      typo: true,
    });
    const all = problems.join('\n');
    for (const name of [
      '`redis`',
      '`ttl`',
      '`transport`',
      '`cookie.name`',
      "`cookie.sameSite: 'none'`",
      '`cookie.httpOnly`',
      '`keyPrefix`',
      '`maxSessionsPerUser`',
      '`validateCredentials`',
      '`typo`',
    ]) {
      expect(all).toContain(name);
    }
    expect(problems).toHaveLength(10);
  });

  it('never throws, even on odd values', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => validateSessionOptions({ redis: { url: circular } })).not.toThrow();
    expect(validateSessionOptions({ redis: { url: circular } })).toHaveLength(1);
    expect(() => validateSessionOptions({ redis, ttl: 10n })).not.toThrow();
    expect(validateSessionOptions({ redis, ttl: 10n })).toHaveLength(1);
  });
});

describe('resolveSessionOptions', () => {
  it('applies the contract defaults', () => {
    const resolved = resolveSessionOptions({ redis });
    expect(resolved).toEqual({
      problems: [],
      redis,
      keyPrefix: 'session:',
      ttlMs: 1800 * 1000,
      absoluteTtlMs: 43_200 * 1000,
      cookie: { name: 'sid', secure: true, sameSite: 'lax', path: '/', domain: undefined, persistent: false },
      transport: 'cookie',
      validateCredentials: undefined,
      maxSessionsPerUser: 100,
      maxDataBytes: 4096,
      redisTimeoutMs: 1000,
      rememberMe: null,
      binding: { ip: 'off', userAgent: 'off' },
      durability: 'none',
      replicas: 1,
      replicationTimeoutMs: 250,
      expiredEvents: false,
      liveRevocation: true,
      csrf: { trustedOrigins: new Set(), doubleSubmit: false, headerName: 'x-csrf-token' },
      loginThrottle: {
        perUsername: { limit: 10, windowMs: 900_000 },
        perIp: { limit: 100, windowMs: 900_000 },
        delayAfter: 5,
        maxDelayMs: 2000,
      },
      metrics: null,
      clearSiteData: '"cache", "cookies", "storage"',
    });
  });

  it('resolves clearSiteData and refuses a malformed value', () => {
    expect(resolveSessionOptions({ redis, clearSiteData: false }).clearSiteData).toBeNull();
    expect(resolveSessionOptions({ redis, clearSiteData: '"cookies", "storage"' }).clearSiteData).toBe('"cookies", "storage"');
    expect(validateSessionOptions({ redis, clearSiteData: 'cookies' }).join('\n')).toMatch(/`clearSiteData`/);
  });

  it('resolves metrics: true to the default registry and prefix', () => {
    expect(resolveSessionOptions({ redis, metrics: true }).metrics).toEqual({ registry: undefined, prefix: 'session_' });
    expect(validateSessionOptions({ redis, metrics: { prefix: 'bad prefix' } }).join('\n')).toMatch(/`metrics.prefix`/);
    expect(validateSessionOptions({ redis, metrics: { registry: {} } }).join('\n')).toMatch(/`metrics.registry`/);
  });

  it('resolves loginThrottle, and false turns it off', () => {
    expect(resolveSessionOptions({ redis, loginThrottle: false }).loginThrottle).toBeNull();
    expect(
      resolveSessionOptions({ redis, loginThrottle: { perIp: { limit: 5, windowSeconds: 60 }, maxDelayMs: 0 } }).loginThrottle,
    ).toEqual({
      perUsername: { limit: 10, windowMs: 900_000 },
      perIp: { limit: 5, windowMs: 60_000 },
      delayAfter: 5,
      maxDelayMs: 0,
    });
  });

  it.each([
    [{ loginThrottle: true }, /`loginThrottle` must be false or an object/],
    [{ loginThrottle: { perUsername: { limit: 0, windowSeconds: 60 } } }, /`loginThrottle.perUsername`/],
    [{ loginThrottle: { perIp: { limit: 5 } } }, /`loginThrottle.perIp`/],
    [{ loginThrottle: { delayAfter: -1 } }, /`loginThrottle.delayAfter`/],
    [{ loginThrottle: { maxDelayMs: 60_000 } }, /`loginThrottle.maxDelayMs`/],
    [{ loginThrottle: { lockout: true } }, /unknown option `loginThrottle.lockout`/],
  ])('reports bad loginThrottle options: %j', (extra, message) => {
    expect(validateSessionOptions({ redis, ...extra }).join('\n')).toMatch(message);
  });

  it('resolves csrf options, and false turns it off', () => {
    expect(resolveSessionOptions({ redis, csrf: false }).csrf).toBeNull();
    const csrf = resolveSessionOptions({
      redis,
      csrf: { trustedOrigins: ['https://a.example'], doubleSubmit: true, headerName: 'X-XSRF' },
    }).csrf;
    expect(csrf).toEqual({ trustedOrigins: new Set(['https://a.example']), doubleSubmit: true, headerName: 'x-xsrf' });
  });

  it.each([
    [{ csrf: true }, /`csrf` must be false or an object/],
    [{ csrf: { trustedOrigins: 'https://a.example' } }, /`csrf.trustedOrigins` must be an array/],
    [{ csrf: { trustedOrigins: ['https://a.example/'] } }, /is not an origin/],
    [{ csrf: { trustedOrigins: ['a.example'] } }, /is not an origin/],
    [{ csrf: { headerName: 'bad header' } }, /`csrf.headerName`/],
    [{ csrf: { doubleSubmit: 'yes' } }, /`csrf.doubleSubmit`/],
    [{ csrf: { origins: [] } }, /unknown option `csrf.origins`/],
  ])('reports bad csrf options: %j', (extra, message) => {
    expect(validateSessionOptions({ redis, ...extra }).join('\n')).toMatch(message);
  });

  it('resolves durability and replication', () => {
    const resolved = resolveSessionOptions({ redis, durability: 'replicated', replication: { replicas: 2, timeoutMs: 100 } });
    expect(resolved).toMatchObject({ problems: [], durability: 'replicated', replicas: 2, replicationTimeoutMs: 100 });
  });

  it.each([
    [{ durability: 'sync' }, /`durability` must be 'none' or 'replicated'/],
    [{ durability: 'replicated', replication: { replicas: 0 } }, /`replication.replicas`/],
    [{ durability: 'replicated', replication: { timeoutMs: 60_000 } }, /`replication.timeoutMs`/],
    [{ durability: 'replicated', replication: { wait: 1 } }, /unknown option `replication.wait`/],
    [{ rememberMe: { ttl: 60 } }, /`rememberMe` must be \{ ttl, absoluteTtl \}/],
    [{ rememberMe: { ttl: 60, absoluteTtl: 1.5 } }, /`rememberMe.absoluteTtl` must be a whole number of seconds/],
    [{ rememberMe: { ttl: 60, absoluteTtl: 600, days: 3 } }, /unknown option `rememberMe.days`/],
    [{ binding: { ip: 'strict' } }, /`binding.ip` must be 'off', 'report' or 'enforce'/],
    [{ binding: { cookie: 'enforce' } }, /unknown option `binding.cookie`/],
    [{ redisTimeoutMs: 50 }, /`redisTimeoutMs` must be a whole number of ms from 100 to 60000 \(got 50\)/],
    [{ redisTimeoutMs: '1000' }, /`redisTimeoutMs`/],
    [{ replication: { replicas: 1 } }, /only applies with `durability: 'replicated'`/],
    [{ expiredEvents: 'yes' }, /`expiredEvents` must be true or false/],
  ])('reports bad durability and event options: %j', (extra, message) => {
    expect(validateSessionOptions({ redis, ...extra }).join('\n')).toMatch(message);
  });

  it('fills in cookie defaults around the keys that are given', () => {
    const resolved = resolveSessionOptions({ redis, cookie: { name: 'app_session', domain: 'example.com' } });
    expect(resolved.cookie).toEqual({
      name: 'app_session',
      secure: true,
      sameSite: 'lax',
      path: '/',
      domain: 'example.com',
      persistent: false,
    });
  });

  it('keeps given values and converts seconds to milliseconds', () => {
    const validateCredentials = async () => null;
    const resolved = resolveSessionOptions({
      redis,
      keyPrefix: 'app:',
      ttl: 60,
      absoluteTtl: 3600,
      cookie: { secure: false, sameSite: 'strict', path: '/api', persistent: true },
      transport: 'bearer',
      validateCredentials,
      maxSessionsPerUser: 3,
    });
    expect(resolved.problems).toEqual([]);
    expect(resolved.keyPrefix).toBe('app:');
    expect(resolved.ttlMs).toBe(60_000);
    expect(resolved.absoluteTtlMs).toBe(3_600_000);
    expect(resolved.cookie).toEqual({
      name: 'sid',
      secure: false,
      sameSite: 'strict',
      path: '/api',
      domain: undefined,
      persistent: true,
    });
    expect(resolved.transport).toBe('bearer');
    expect(resolved.validateCredentials).toBe(validateCredentials);
    expect(resolved.maxSessionsPerUser).toBe(3);
  });

  it('reports problems instead of throwing, and falls back to defaults for bad numbers', () => {
    const resolved = resolveSessionOptions({ ttl: -5, absoluteTtl: 'long', maxSessionsPerUser: 0 });
    expect(resolved.problems.length).toBeGreaterThanOrEqual(4);
    expect(resolved.problems.join('\n')).toContain('`redis`');
    expect(resolved.ttlMs).toBe(1_800_000);
    expect(resolved.absoluteTtlMs).toBe(43_200_000);
    expect(resolved.maxSessionsPerUser).toBe(100);
  });

  it('resolves maxSessionsPerUser: 100 by default, 0 (no limit) for null or Infinity', () => {
    expect(resolveSessionOptions({ redis }).maxSessionsPerUser).toBe(100);
    expect(resolveSessionOptions({ redis, maxSessionsPerUser: null }).maxSessionsPerUser).toBe(0);
    expect(resolveSessionOptions({ redis, maxSessionsPerUser: Number.POSITIVE_INFINITY }).maxSessionsPerUser).toBe(0);
    expect(resolveSessionOptions({ redis, maxSessionsPerUser: 1000 }).maxSessionsPerUser).toBe(1000);
  });

  it('does not throw on a non-object', () => {
    for (const raw of [undefined, null, 'x', 1]) {
      const resolved = resolveSessionOptions(raw);
      expect(resolved.problems).toHaveLength(1);
      expect(resolved.keyPrefix).toBe('session:');
      expect(resolved.ttlMs).toBe(1_800_000);
    }
  });

  it('matches SESSION_DEFAULTS', () => {
    expect(SESSION_DEFAULTS).toEqual({
      keyPrefix: 'session:',
      ttl: 1800,
      absoluteTtl: 43200,
      cookie: { name: 'sid', secure: true, sameSite: 'lax', path: '/', persistent: false },
      transport: 'cookie',
      maxSessionsPerUser: 100,
      maxDataBytes: 4096,
      redisTimeoutMs: 1000,
      durability: 'none',
      replication: { replicas: 1, timeoutMs: 250 },
      expiredEvents: false,
      liveRevocation: true,
      clearSiteData: '"cache", "cookies", "storage"',
      csrf: { doubleSubmit: false, headerName: 'x-csrf-token' },
      loginThrottle: {
        perUsername: { limit: 10, windowSeconds: 900 },
        perIp: { limit: 100, windowSeconds: 900 },
        delayAfter: 5,
        maxDelayMs: 2000,
      },
      metrics: { prefix: 'session_' },
      controller: true,
      globalGuard: false,
      isGlobal: false,
    });
  });
});

describe('SessionOptionsError', () => {
  it('lists every problem in its message', () => {
    const error = new SessionOptionsError(['`ttl` is bad.', '`redis` is required.']);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('SessionOptionsError');
    expect(error.problems).toEqual(['`ttl` is bad.', '`redis` is required.']);
    expect(error.message).toContain('`ttl` is bad.');
    expect(error.message).toContain('`redis` is required.');
  });
});

describe("resolveModuleOptions (what the module runs on forRoot options, or on what forRootAsync's factory returned)", () => {
  it('accepts options without the module-shaping flags (forRoot strips them before)', () => {
    expect(resolveModuleOptions({ redis, ttl: 60 }).problems).toEqual([]);
  });

  it('refuses controller, globalGuard or isGlobal from a factory, saying where they go', () => {
    const [problem, ...rest] = resolveModuleOptions({ redis, controller: false, isGlobal: true }).problems;
    expect(rest).toEqual([]);
    expect(problem).toContain("`controller`, `isGlobal` came back from forRootAsync's useFactory");
    expect(problem).toContain('SessionModule.forRootAsync({ controller: false, isGlobal: true, useFactory })');
  });

  it('keeps the other problems', () => {
    expect(resolveModuleOptions({ redis, ttl: -1, globalGuard: true }).problems).toHaveLength(2);
  });
});
