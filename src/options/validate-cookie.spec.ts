// validateSessionOptions on `cookie`, including the rules browsers enforce on prefixed cookies.
import { describe, expect, it } from '@jest/globals';
import { validateSessionOptions } from './validate.js';

const redis = { url: 'redis://localhost:6379' };

function problemsWithCookie(cookie: unknown): string[] {
  return validateSessionOptions({ redis, cookie });
}

/** Exactly one problem, which names `name` in backquotes (as every message does). */
function expectOneProblemNaming(problems: string[], name: string): string {
  expect(problems).toHaveLength(1);
  expect(problems[0]).toContain(`\`${name}`);
  return problems[0];
}

describe('validateSessionOptions: cookie', () => {
  it("rejects sameSite 'none' with secure false", () => {
    const message = expectOneProblemNaming(problemsWithCookie({ sameSite: 'none', secure: false }), "cookie.sameSite: 'none'");
    expect(message).toContain('cookie.secure');
  });

  it.each(['Lax', 'LAX', 'off', '', true, 1])('rejects a bad sameSite: %j', (sameSite) => {
    expectOneProblemNaming(problemsWithCookie({ sameSite }), 'cookie.sameSite`');
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
    expectOneProblemNaming(problemsWithCookie('sid'), 'cookie`');
  });

  it.each(['httpOnly', 'maxAge', 'Name', 'samesite', 'expires'])('rejects an unknown cookie key: %s', (key) => {
    const message = expectOneProblemNaming(problemsWithCookie({ [key]: 1 }), `cookie.${key}`);
    expect(message).toMatch(/unknown option/);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      'a __Host- name with secure false, a domain and a path',
      { name: '__Host-sid', secure: false, domain: 'example.com', path: '/api' },
      [
        'a `__Host-` cookie must be Secure: remove `cookie.secure: false`.',
        'a `__Host-` cookie cannot have a Domain: remove `cookie.domain`.',
        'a `__Host-` cookie must have Path=/: remove `cookie.path`.',
      ],
    ],
    [
      'hostPrefix with secure false',
      { hostPrefix: true, secure: false },
      ['a `__Host-` cookie must be Secure: remove `cookie.secure: false`.'],
    ],
    [
      'a __Secure- name with secure false',
      { name: '__Secure-sid', secure: false },
      ['a `__Secure-` cookie must be Secure: remove `cookie.secure: false`.'],
    ],
    [
      'hostPrefix with a prefixed name',
      { hostPrefix: true, name: '__Host-sid' },
      ["with `cookie.hostPrefix: true`, give `cookie.name` without a prefix (e.g. 'sid'): it becomes '__Host-sid'."],
    ],
  ])('refuses what browsers would drop: %s', (_label, cookie, problems) => {
    expect(problemsWithCookie(cookie)).toEqual(problems);
  });

  it.each([{ hostPrefix: true }, { name: '__Host-sid', path: '/' }, { name: '__Secure-sid' }])(
    'accepts a prefixed cookie that keeps its rules: %j',
    (cookie) => {
      expect(problemsWithCookie(cookie)).toEqual([]);
    },
  );
});
