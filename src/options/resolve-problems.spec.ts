// resolveModuleOptions, and what is resolved when the options have problems: nothing, so the
// resolve code can trust the types of what it reads.
import { describe, expect, it } from '@jest/globals';
import { resolveModuleOptions, resolveSessionOptions } from './resolve.js';

const redis = { url: 'redis://localhost:6379' };

describe('options with problems', () => {
  it('resolve to the defaults: nothing is taken from them, not even the valid parts', () => {
    const resolved = resolveSessionOptions({ redis, ttl: 60, cookie: { name: 'app' }, transport: 'bearer', typo: 1 });
    expect(resolved.problems).toEqual(['unknown option `typo`.']);
    expect(resolved).toEqual({ ...resolveSessionOptions({ redis }), problems: resolved.problems, redis: undefined });
  });

  it.each<[string, unknown]>([
    ['a rememberMe of BigInts', { redis, rememberMe: { ttl: 10n, absoluteTtl: 20n } }],
    ['a csrf.trustedOrigins that is not an array', { redis, csrf: { trustedOrigins: { length: 1 } } }],
    ['a metrics registry that is a string', { redis, metrics: { registry: 'prom' } }],
    ['a loginThrottle rule that is a number', { redis, loginThrottle: { perIp: 5 } }],
  ])('never throw, whatever the bad value: %s', (_label, options) => {
    expect(() => resolveModuleOptions(options)).not.toThrow();
    expect(resolveModuleOptions(options).problems).not.toEqual([]);
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

  it('names a flag whose value JSON cannot write without throwing', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const controller of [10n, circular]) {
      const problems = resolveModuleOptions({ redis, controller }).problems;
      expect(problems).toHaveLength(2);
      expect(problems[1]).toContain("`controller` came back from forRootAsync's useFactory");
    }
  });

  it('resolves nothing from options with a late flag', () => {
    expect(resolveModuleOptions({ redis, ttl: 60, isGlobal: true }).ttlMs).toBe(1_800_000);
  });
});
