// validateSessionOptions on the nested options but `cookie` (validate-cookie.spec.ts).
import { describe, expect, it } from '@jest/globals';
import { validateSessionOptions } from './validate.js';

const redis = { url: 'redis://localhost:6379' };

describe('validateSessionOptions: nested options', () => {
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
});
