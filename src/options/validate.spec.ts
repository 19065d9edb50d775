// validateSessionOptions on the top-level options (the nested ones: validate-cookie.spec.ts,
// validate-sections.spec.ts). The wording of the messages is part of the contract.
import { describe, expect, it } from '@jest/globals';
import { SESSION_DEFAULTS } from './defaults.js';
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
    ['maxLiveConnectionsPerSession 1', { maxLiveConnectionsPerSession: 1 }],
    ['maxLiveConnectionsPerSession null (no limit)', { maxLiveConnectionsPerSession: null }],
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

  it.each(['Cookie', 'header', 'session', '', 'cookie,bearer', 1, null])('rejects a bad transport: %j', (transport) => {
    const message = expectOneProblemNaming(problemsWith({ transport }), 'transport`');
    expect(message).toMatch(/'cookie', 'bearer' or 'both'/);
  });

  it.each(['ttL', 'keyprefix', 'absoluteTTL', 'maxSessions', 'transports', 'validate', 'cookies'])(
    'rejects an unknown option (typo): %s',
    (key) => {
      const message = expectOneProblemNaming(problemsWith({ [key]: 1 }), key);
      expect(message).toMatch(/unknown option/);
    },
  );

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

  it.each<[string, unknown]>([
    ['0', 0],
    ['a fraction', 2.5],
    ['a string', '3'],
    ['NaN', Number.NaN],
  ])('rejects maxLiveConnectionsPerSession %s', (_label, maxLiveConnectionsPerSession) => {
    const message = expectOneProblemNaming(problemsWith({ maxLiveConnectionsPerSession }), 'maxLiveConnectionsPerSession`');
    expect(message).toContain('(default 100)');
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

  it('takes maxDataBytes up to 64 KiB; past it (1 MiB was the maximum before) the message says what it costs Redis', () => {
    expect(problemsWith({ maxDataBytes: 65_536 })).toEqual([]);
    for (const maxDataBytes of [65_537, 1_048_576]) {
      const message = expectOneProblemNaming(problemsWith({ maxDataBytes }), 'maxDataBytes`');
      expect(message).toBe(
        `\`maxDataBytes\` must be a whole number of bytes from 2 to 65536 (got ${maxDataBytes}). Every update rewrites ` +
          'the data inside Redis, which serves no one else meanwhile (about 0.2 ms per KiB of JSON objects: 64 KiB costs ' +
          '10-17 ms, 1 MiB up to 300 ms), and every guarded request reads it all: keep large data in your database and ' +
          'its id in the session.',
      );
    }
    expect(problemsWith({ maxDataBytes: 1 })).toEqual([
      '`maxDataBytes` must be a whole number of bytes from 2 to 65536 (got 1).',
    ]);
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
