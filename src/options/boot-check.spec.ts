import { describe, expect, it } from '@jest/globals';
import { resolveSessionOptions } from './resolve.js';
import { type SessionModuleOptions } from './types.js';
import { bootWarnings } from './boot-check.js';

const redis = { url: 'redis://127.0.0.1:6379' };
const lint = (options: Partial<SessionModuleOptions>, env = 'production') =>
  bootWarnings(resolveSessionOptions({ redis, ...options }), env);

describe('bootWarnings', () => {
  it('has nothing to say about the defaults', () => {
    expect(lint({})).toEqual([]);
  });

  it.each<[string, Partial<SessionModuleOptions>, RegExp]>([
    ['secure off in production', { cookie: { secure: false } }, /cookie\.secure is off \(NODE_ENV=production\)/],
    ['SameSite=None', { cookie: { sameSite: 'none' } }, /sameSite is "none"/],
    ['csrf off', { csrf: false }, /csrf is off/],
    ['csrf off, which also ends the WebSocket origin check', { csrf: false }, /cross-site WebSocket hijacking/],
    ['a Domain', { cookie: { domain: 'example.com' } }, /every subdomain/],
    ['a persistent cookie', { cookie: { persistent: true } }, /survives browser restarts/],
    ['throttling off', { loginThrottle: false }, /loginThrottle is off/],
    ['a long idle timeout', { ttl: 2 * 86400, absoluteTtl: 3 * 86400 }, /over a day/],
    ['a long lifetime', { absoluteTtl: 60 * 86400 }, /over 30 days/],
  ])('warns about %s', (_label, options, message) => {
    expect(lint(options).join('\n')).toMatch(message);
  });

  it('does not nag about secure: false in development or tests', () => {
    expect(lint({ cookie: { secure: false } }, 'development')).toEqual([]);
    expect(lint({ cookie: { secure: false } }, 'test')).toEqual([]);
  });

  it('has no cookie advice for bearer-only apps', () => {
    expect(lint({ transport: 'bearer', csrf: false, cookie: { secure: false } })).toEqual([]);
  });
});
