import { describe, expect, it } from '@jest/globals';
import {
  generateToken,
  isSessionId,
  rememberToken,
  sessionIdOf,
  tokenDeadline,
  tokenIdleTtlMs,
  type TokenMemo,
} from './token.js';

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}\.[0-9a-z]+$/;
const SESSION_ID_SHAPE = /^[A-Za-z0-9_-]{22}$/;
const DEADLINE = Date.UTC(2030, 0, 1, 12, 0, 0, 123);
const SECRET = 'A'.repeat(21) + '_' + 'b-9'.repeat(7); // 43 base64url characters

describe('generateToken', () => {
  it('is 43 base64url characters, a dot and the deadline in base 36', () => {
    const token = generateToken(DEADLINE);
    expect(token).toMatch(TOKEN_SHAPE);
    const [secret, deadline] = token.split('.');
    expect(secret).toHaveLength(43);
    expect(deadline).toBe(DEADLINE.toString(36));
    expect(parseInt(deadline, 36)).toBe(DEADLINE);
  });

  it('never repeats a secret over many tokens', () => {
    const count = 20_000;
    const secrets = new Set<string>();
    for (let i = 0; i < count; i++) {
      const token = generateToken(DEADLINE);
      expect(token).toMatch(TOKEN_SHAPE);
      secrets.add(token.slice(0, 43));
    }
    expect(secrets.size).toBe(count);
  });

  it('uses the whole base64url alphabet (the secret is random, not a counter or hex)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) for (const char of generateToken(DEADLINE).slice(0, 43)) seen.add(char);
    // 64 symbols; 500 × 43 random draws miss one with negligible probability.
    expect(seen.size).toBe(64);
  });
});

describe('tokenDeadline', () => {
  it('returns the deadline of a generated token', () => {
    expect(tokenDeadline(generateToken(DEADLINE))).toBe(DEADLINE);
    const now = Date.now();
    expect(tokenDeadline(generateToken(now))).toBe(now);
  });

  it('returns the deadline of a hand-made well-formed token', () => {
    expect(tokenDeadline(`${SECRET}.${DEADLINE.toString(36)}`)).toBe(DEADLINE);
    expect(tokenDeadline(`${SECRET}.z`)).toBe(35);
    // 10 base-36 digits still fit in a safe integer.
    expect(tokenDeadline(`${SECRET}.zzzzzzzzzz`)).toBe(36 ** 10 - 1);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', DEADLINE],
    ['a boolean', true],
    ['an object', { token: `${SECRET}.abc` }],
    ['an array', [`${SECRET}.abc`]],
    ['a String object', new String(`${SECRET}.abc`)],
    ['a Buffer', Buffer.from(`${SECRET}.abc`)],
    ['a symbol', Symbol('token')],
    ['a function', () => `${SECRET}.abc`],
  ])('returns -1 for a non-string: %s', (_label, input) => {
    expect(tokenDeadline(input)).toBe(-1);
  });

  const valid = `${SECRET}.${DEADLINE.toString(36)}`;
  it.each([
    ['empty', ''],
    ['a dot only', '.'],
    ['10 KB', 'a'.repeat(10 * 1024)],
    ['10 KB that starts like a token', valid + 'a'.repeat(10 * 1024)],
    ['1 MB', `${SECRET}.` + '1'.repeat(1024 * 1024)],
    ['no dot', SECRET + DEADLINE.toString(36)],
    ['only the secret', SECRET],
    ['nothing after the dot', `${SECRET}.`],
    ['nothing before the dot', `.${DEADLINE.toString(36)}`],
    ['three dots', `${SECRET}.${DEADLINE.toString(36)}.1.1`],
    ['nothing after the second dot', `${SECRET}.${DEADLINE.toString(36)}.`],
    ['an idle timeout of 8 digits', `${SECRET}.${DEADLINE.toString(36)}.12345678`],
    ['an idle timeout in capitals', `${SECRET}.${DEADLINE.toString(36)}.AB`],
    ['a 42-character secret', `${SECRET.slice(1)}.${DEADLINE.toString(36)}`],
    ['a 44-character secret', `${SECRET}A.${DEADLINE.toString(36)}`],
    ['standard base64 "+"', `+${SECRET.slice(1)}.${DEADLINE.toString(36)}`],
    ['standard base64 "/"', `/${SECRET.slice(1)}.${DEADLINE.toString(36)}`],
    ['base64 padding', `${SECRET.slice(1)}=.${DEADLINE.toString(36)}`],
    ['an upper-case deadline', `${SECRET}.${DEADLINE.toString(36).toUpperCase()}`],
    ['a negative deadline', `${SECRET}.-${DEADLINE.toString(36)}`],
    ['a deadline with a sign', `${SECRET}.+${DEADLINE.toString(36)}`],
    ['a decimal point in the idle timeout', `${SECRET}.${DEADLINE.toString(36)}.1.5`],
    ['a leading space', ` ${valid}`],
    ['a trailing space', `${valid} `],
    ['a space inside', `${SECRET.slice(0, 20)} ${SECRET.slice(21)}.${DEADLINE.toString(36)}`],
    ['a trailing newline', `${valid}\n`],
    ['a trailing CRLF', `${valid}\r\n`],
    ['a leading newline', `\n${valid}`],
    ['a NUL byte', `${valid}\u0000`],
    ['a NUL byte inside the secret', `${SECRET.slice(0, 20)}\u0000${SECRET.slice(21)}.${DEADLINE.toString(36)}`],
    ['a tab', `${valid}\t`],
    ['a DEL character', `${valid}\u007f`],
    ['an accented letter', `${SECRET.slice(0, 42)}é.${DEADLINE.toString(36)}`],
    ['an emoji', `${SECRET.slice(0, 41)}😀.${DEADLINE.toString(36)}`],
    ['full-width digits in the deadline', `${SECRET}.１２３`],
    ['Arabic-Indic digits in the deadline', `${SECRET}.١٢٣`],
    ['a zero-width space', `${valid}\u200b`],
    ['a Kelvin sign (case-folds to k)', `${SECRET}.\u212a`],
    ['a 12-digit deadline', `${SECRET}.${'1'.repeat(12)}`],
    ['a deadline past Number.MAX_SAFE_INTEGER', `${SECRET}.zzzzzzzzzzz`],
    ['the first unsafe deadline', `${SECRET}.${(Number.MAX_SAFE_INTEGER + 1).toString(36)}`],
    ['a URL-encoded token', encodeURIComponent(`${SECRET}.${DEADLINE.toString(36)}`).replace('.', '%2E')],
    ['a quoted token', `"${valid}"`],
    ['a Bearer header instead of a token', `Bearer ${valid}`],
  ])('returns -1 for a bad shape: %s', (_label, input) => {
    expect(tokenDeadline(input)).toBe(-1);
  });

  it.each(['=', '.', ' ', '!', '+', '/', 'A', 'Z', '\n', '\u0000', 'é', '%'])(
    'returns -1 for a valid token with %j appended',
    (char) => {
      const token = generateToken(DEADLINE);
      expect(tokenDeadline(token)).toBe(DEADLINE);
      expect(tokenDeadline(token + char)).toBe(-1);
    },
  );

  it('never reads back the original deadline from a token with a base-36 digit appended', () => {
    // `<secret>.<deadline>x` is still shaped like a token, but it names another
    // deadline and (through the hash) another, absent, session.
    const token = generateToken(DEADLINE);
    for (const char of ['0', '9', 'a', 'z']) {
      expect(tokenDeadline(token + char)).not.toBe(DEADLINE);
      expect(sessionIdOf(token + char)).not.toBe(sessionIdOf(token));
    }
  });

  it('returns -1 for a valid token with a character removed', () => {
    const token = generateToken(DEADLINE);
    expect(tokenDeadline(token.slice(1))).toBe(-1);
    expect(tokenDeadline(token.slice(0, 42) + token.slice(43))).toBe(-1);
  });

  it('rejects hostile input quickly (no backtracking)', () => {
    const inputs = [
      'A'.repeat(100_000),
      `${'A'.repeat(43)}.${'1'.repeat(100_000)}`,
      `${'A'.repeat(43)}.`.repeat(10_000),
      '.'.repeat(100_000),
    ];
    const started = performance.now();
    for (let i = 0; i < 10; i++) for (const input of inputs) expect(tokenDeadline(input)).toBe(-1);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('tokenIdleTtlMs (remember me)', () => {
  it('reads the idle timeout a token carries, and 0 for a token without one', () => {
    const deadline = Date.now() + 3_600_000;
    const remembered = generateToken(deadline, 604_800);
    expect(remembered.split('.')).toHaveLength(3);
    expect(tokenDeadline(remembered)).toBe(deadline);
    expect(tokenIdleTtlMs(remembered)).toBe(604_800_000);
    const plain = generateToken(deadline);
    expect(tokenDeadline(plain)).toBe(deadline);
    expect(tokenIdleTtlMs(plain)).toBe(0);
  });
});

describe('sessionIdOf', () => {
  it('is 22 base64url characters (132 bits)', () => {
    for (let i = 0; i < 100; i++) {
      const id = sessionIdOf(generateToken(DEADLINE));
      expect(id).toMatch(SESSION_ID_SHAPE);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });

  it('is deterministic', () => {
    const token = generateToken(DEADLINE);
    expect(sessionIdOf(token)).toBe(sessionIdOf(token));
    expect(sessionIdOf(`${SECRET}.abc`)).toBe(sessionIdOf(`${SECRET}.abc`));
  });

  it('differs for different tokens, including the same secret with another deadline', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5_000; i++) ids.add(sessionIdOf(generateToken(DEADLINE)));
    expect(ids.size).toBe(5_000);
    expect(sessionIdOf(`${SECRET}.abc`)).not.toBe(sessionIdOf(`${SECRET}.abd`));
    expect(sessionIdOf(`${SECRET}.abc`)).not.toBe(sessionIdOf(`${SECRET.slice(0, 42)}B.abc`));
  });

  it('never equals, contains or is contained in the token', () => {
    for (let i = 0; i < 1_000; i++) {
      const token = generateToken(DEADLINE);
      const id = sessionIdOf(token);
      expect(id).not.toBe(token);
      expect(id.includes(token)).toBe(false);
      expect(token.includes(id)).toBe(false);
      // No long run of the secret leaks into the id either.
      expect(id.includes(token.slice(0, 8))).toBe(false);
    }
  });

  it('is not itself a token', () => {
    const id = sessionIdOf(generateToken(DEADLINE));
    expect(tokenDeadline(id)).toBe(-1);
  });
});

describe('isSessionId', () => {
  it('accepts what sessionIdOf returns', () => {
    for (let i = 0; i < 100; i++) expect(isSessionId(sessionIdOf(generateToken(DEADLINE)))).toBe(true);
    expect(isSessionId('A'.repeat(22))).toBe(true);
    expect(isSessionId('abc_DEF-0123456789xyzW')).toBe(true);
  });

  it.each([
    ['a token', generateToken(DEADLINE)],
    ['empty', ''],
    ['21 characters', 'A'.repeat(21)],
    ['23 characters', 'A'.repeat(23)],
    ['10 KB', 'A'.repeat(10 * 1024)],
    ['a "+"', `+${'A'.repeat(21)}`],
    ['a "/"', `/${'A'.repeat(21)}`],
    ['padding', `${'A'.repeat(20)}==`],
    ['a dot', `${'A'.repeat(21)}.`],
    ['a space', ` ${'A'.repeat(21)}`],
    ['a trailing newline', `${'A'.repeat(22)}\n`],
    ['a NUL byte', `${'A'.repeat(21)}\u0000`],
    ['unicode', `${'A'.repeat(21)}é`],
    ['a path traversal', `../${'A'.repeat(19)}`],
    ['a Redis glob', `${'A'.repeat(21)}*`],
  ])('rejects a string that is not an id: %s', (_label, value) => {
    expect(isSessionId(value)).toBe(false);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', { id: 'A'.repeat(22) }],
    ['an array', ['A'.repeat(22)]],
    ['a String object', new String('A'.repeat(22))],
  ])('rejects a non-string: %s', (_label, value) => {
    expect(isSessionId(value)).toBe(false);
  });
});

describe('rememberToken: a token worked out once for many calls (a socket)', () => {
  it('keeps the deadline and id of the token it was given', () => {
    const token = generateToken(DEADLINE);
    const memo: TokenMemo = {};
    rememberToken(memo, token);
    expect(memo).toEqual({ token, deadline: DEADLINE, id: sessionIdOf(token) });
  });

  it('works them out anew for another token (a guard hook may read a token per message), never reusing the first id', () => {
    const first = generateToken(DEADLINE);
    const second = generateToken(DEADLINE + 1);
    const memo: TokenMemo = {};
    rememberToken(memo, first);
    rememberToken(memo, second);
    expect(memo).toEqual({ token: second, deadline: DEADLINE + 1, id: sessionIdOf(second) });
    expect(memo.id).not.toBe(sessionIdOf(first));
  });

  it('keeps no id for a malformed token', () => {
    const memo: TokenMemo = {};
    rememberToken(memo, 'not-a-token');
    expect(memo).toEqual({ token: 'not-a-token', deadline: -1, id: undefined });
  });
});
