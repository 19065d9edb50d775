import { describe, expect, it } from '@jest/globals';
import { parseCommandLine } from './args.js';
import { redactUrl, safeJson, safeText } from './format.js';

describe('parseCommandLine', () => {
  it('reads each command with its defaults', () => {
    expect(parseCommandLine(['sessions', 'list', '42'])).toEqual({
      kind: 'run',
      invocation: { command: { name: 'list', userId: 42 }, json: false, prefix: 'session:', ttlSeconds: 1800 },
    });
    expect(parseCommandLine(['sessions', 'revoke', 'u-1', 'JHgXiPBG83uITy48GeO61g', '--json', '--prefix=app:s:'])).toEqual({
      kind: 'run',
      invocation: {
        command: { name: 'revoke', userId: 'u-1', sessionId: 'JHgXiPBG83uITy48GeO61g' },
        json: true,
        prefix: 'app:s:',
        ttlSeconds: 1800,
      },
    });
    expect(parseCommandLine(['--ttl', '600', 'sessions', 'revoke-all', '7'])).toMatchObject({
      invocation: { command: { name: 'revoke-all', userId: 7 }, ttlSeconds: 600 },
    });
    expect(parseCommandLine(['stats'])).toMatchObject({ invocation: { command: { name: 'stats' } } });
  });

  it('takes a session id that starts with "-" as it is (ids are random base64url)', () => {
    expect(parseCommandLine(['sessions', 'revoke', 'u-1', '-HgXiPBG83uITy48GeO61g', '--json', '--prefix', 'app:s:'])).toEqual({
      kind: 'run',
      invocation: {
        command: { name: 'revoke', userId: 'u-1', sessionId: '-HgXiPBG83uITy48GeO61g' },
        json: true,
        prefix: 'app:s:',
        ttlSeconds: 1800,
      },
    });
    const dashes = '--yzXiPBG83uITy48GeO6A'; // 22 characters, like every session id
    expect(parseCommandLine(['sessions', 'revoke', '--prefix', 'p:', '42', dashes])).toMatchObject({
      invocation: { command: { name: 'revoke', userId: 42, sessionId: dashes }, prefix: 'p:' },
    });
  });

  it('takes a user id written as a number prints as the number, and one that starts with "-" after --', () => {
    const userIdOf = (...argv: string[]) => {
      const parsed = parseCommandLine(['sessions', 'list', ...argv]);
      return parsed.kind === 'run' && parsed.invocation.command.name === 'list' ? parsed.invocation.command.userId : parsed;
    };
    expect(userIdOf('42')).toBe(42);
    expect(userIdOf('0')).toBe(0);
    expect(userIdOf('--', '-1')).toBe(-1);
    expect(userIdOf('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    // No number id prints as these: they can only be string ids, taken as typed.
    for (const typed of ['007', '-0', '1e3', '1.5', '+1', ' 1', '9007199254740992', '12345678901234567890', 'u-bob', '"1"']) {
      expect(userIdOf('--', typed)).toBe(typed);
    }
  });

  it('--string-id takes a user id that looks like a number as the string id', () => {
    expect(parseCommandLine(['sessions', 'list', '42', '--string-id'])).toMatchObject({
      invocation: { command: { name: 'list', userId: '42' } },
    });
    expect(parseCommandLine(['--string-id', 'sessions', 'revoke-all', '1'])).toMatchObject({
      invocation: { command: { userId: '1' } },
    });
    expect(parseCommandLine(['sessions', 'revoke', '--string-id', '7', 'JHgXiPBG83uITy48GeO61g'])).toMatchObject({
      invocation: { command: { name: 'revoke', userId: '7', sessionId: 'JHgXiPBG83uITy48GeO61g' } },
    });
    expect(parseCommandLine(['sessions', 'list', 'u-bob', '--string-id'])).toMatchObject({
      invocation: { command: { userId: 'u-bob' } },
    });
    expect(parseCommandLine(['sessions', 'revoke', '--string-id', '1', '-HgXiPBG83uITy48GeO61g'])).toMatchObject({
      invocation: { command: { userId: '1', sessionId: '-HgXiPBG83uITy48GeO61g' } },
    });
  });

  it('answers help for -h, --help and help', () => {
    for (const argv of [['-h'], ['--help'], ['help'], ['sessions', 'list', '--help']]) {
      expect(parseCommandLine(argv)).toEqual({ kind: 'help' });
    }
  });

  it.each([
    [[], /No command/],
    [['nope'], /Unknown command `nope`/],
    [['sessions'], /needs a subcommand/],
    [['sessions', 'drop', '1'], /Unknown subcommand/],
    [['sessions', 'list'], /takes 1 argument \(got 0\)/],
    [['sessions', 'revoke', '1'], /takes 2 arguments \(got 1\)/],
    [['sessions', 'list', ''], /must not be empty/],
    [['stats', 'x'], /takes no arguments/],
    [['stats', '--bogus'], /Unknown option '--bogus'/],
    [['stats', '--json=yes'], /--json/],
    [['stats', '--string-id'], /--string-id.* is for the `sessions` commands/],
    [['sessions', 'list', '1', '--string-id=yes'], /--string-id/],
    [['stats', '--ttl', '1.5'], /--ttl must be a whole number/],
    [['stats', '--ttl', '999999999'], /--ttl must be a whole number of seconds from 1 to 315360000/],
  ])('%j is a usage error', (argv, message) => {
    const parsed = parseCommandLine(argv as string[]);
    expect(parsed.kind).toBe('usage-error');
    expect(parsed.kind === 'usage-error' && parsed.message).toMatch(message);
  });
});

describe('output', () => {
  it('escapes control and bidi characters from clients, and truncates', () => {
    expect(safeText('a\u001b[2Jb\u202ec\u0085')).toBe('a\\u001b[2Jb\\u202ec\\u0085');
    expect(safeText(null)).toBe('-');
    expect(safeText('abcdef', 4)).toBe('abc…');
  });

  it('writes JSON that parses back to the same value, with no raw C1 or bidi characters', () => {
    const value = { ua: 'x\u009b31m\u202e\u001b' };
    const text = safeJson(value);
    // eslint-disable-next-line no-control-regex -- the control characters are what it looks for
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('never shows the password of a Redis URL', () => {
    expect(redactUrl('redis://user:s3cret@redis.internal:6380/2')).toBe('redis://user:***@redis.internal:6380/2');
    expect(redactUrl('rediss://:s3cret@h:6379')).toBe('rediss://:***@h:6379');
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379');
  });
});
