import { describe, expect, it } from '@jest/globals';
import { resolveSessionOptions } from './resolve.js';
import { SESSION_DEFAULTS } from './defaults.js';
import { validateSessionOptions } from './validate.js';

const redis = { url: 'redis://localhost:6379' };

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
      maxLiveConnectionsPerSession: 100,
      cache: { http: false, sockets: true, max: 10_000, slideEveryMs: null },
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

  it('resolves csrf options, and false turns it off', () => {
    expect(resolveSessionOptions({ redis, csrf: false }).csrf).toBeNull();
    const csrf = resolveSessionOptions({
      redis,
      csrf: { trustedOrigins: ['https://a.example'], doubleSubmit: true, headerName: 'X-XSRF' },
    }).csrf;
    expect(csrf).toEqual({ trustedOrigins: new Set(['https://a.example']), doubleSubmit: true, headerName: 'x-xsrf' });
  });

  it('resolves durability and replication', () => {
    const resolved = resolveSessionOptions({ redis, durability: 'replicated', replication: { replicas: 2, timeoutMs: 100 } });
    expect(resolved).toMatchObject({ problems: [], durability: 'replicated', replicas: 2, replicationTimeoutMs: 100 });
  });

  it('resolves maxDataBytes (default 4096 bytes)', () => {
    expect(resolveSessionOptions({ redis, maxDataBytes: 65_536 }).maxDataBytes).toBe(65_536);
    expect(resolveSessionOptions({ redis }).maxDataBytes).toBe(4096);
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

  it('resolves maxLiveConnectionsPerSession: 100 by default, 0 (no limit) for null or Infinity', () => {
    const of = (maxLiveConnectionsPerSession?: number | null) =>
      resolveSessionOptions({ redis, maxLiveConnectionsPerSession }).maxLiveConnectionsPerSession;
    expect(of(undefined)).toBe(100);
    expect(of(null)).toBe(0);
    expect(of(Number.POSITIVE_INFINITY)).toBe(0);
    expect(of(3)).toBe(3);
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
      cookie: { name: 'sid', secure: true, sameSite: 'lax', path: '/', persistent: false, hostPrefix: false },
      transport: 'cookie',
      maxSessionsPerUser: 100,
      maxDataBytes: 4096,
      redisTimeoutMs: 1000,
      durability: 'none',
      replication: { replicas: 1, timeoutMs: 250 },
      expiredEvents: false,
      liveRevocation: true,
      maxLiveConnectionsPerSession: 100,
      cache: { max: 10_000 },
      clearSiteData: '"cache", "cookies", "storage"',
      csrf: { trustedOrigins: [], doubleSubmit: false, headerName: 'x-csrf-token' },
      loginThrottle: {
        perUsername: { limit: 10, windowSeconds: 900 },
        perIp: { limit: 100, windowSeconds: 900 },
        delayAfter: 5,
        maxDelayMs: 2000,
      },
      metrics: { prefix: 'session_' },
      binding: { ip: 'off', userAgent: 'off' },
      controller: true,
      globalGuard: false,
      isGlobal: false,
    });
  });

  it('resolves rememberMe and binding', () => {
    const resolved = resolveSessionOptions({ redis, rememberMe: { ttl: 600, absoluteTtl: 86_400 }, binding: { ip: 'report' } });
    expect(resolved.rememberMe).toEqual({ ttlMs: 600_000, absoluteTtlMs: 86_400_000 });
    expect(resolved.binding).toEqual({ ip: 'report', userAgent: 'off' });
  });

  it('resolves the __Host- preset to what browsers require of it', () => {
    const resolved = resolveSessionOptions({ redis, cookie: { hostPrefix: true, name: 'app', sameSite: 'strict' } });
    expect(resolved.cookie).toEqual({
      name: '__Host-app',
      secure: true,
      sameSite: 'strict',
      path: '/',
      domain: undefined,
      persistent: false,
    });
  });

  it('takes an explicit undefined as left out', () => {
    const resolved = resolveSessionOptions({
      redis,
      ttl: undefined,
      metrics: { prefix: undefined },
      csrf: { headerName: undefined },
    });
    expect(resolved.problems).toEqual([]);
    expect(resolved.ttlMs).toBe(1_800_000);
    expect(resolved.metrics).toEqual({ registry: undefined, prefix: 'session_' });
    expect(resolved.csrf?.headerName).toBe('x-csrf-token');
  });
});
