import { describe, expect, it } from '@jest/globals';
import { AMBIGUOUS, cookieAttributeSuffix, readCookie } from './cookies.js';

const TOKEN = 'k3Jd9s_-ZQ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV.mabc1234';

/** Median of a few runs, so one garbage-collection pause does not decide a timing test. */
function medianMs(run: () => void, times = 5): number {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    run();
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b)[Math.floor(times / 2)];
}

/** `segment` repeated until the header is at least `bytes` long. */
const repeatTo = (segment: string, bytes: number) => segment.repeat(Math.ceil(bytes / segment.length));

describe('readCookie', () => {
  it('returns null without a header', () => {
    expect(readCookie(undefined, 'sid')).toBeNull();
    expect(readCookie('', 'sid')).toBeNull();
  });

  it('returns null when the cookie is not in the header', () => {
    expect(readCookie('theme=dark', 'sid')).toBeNull();
    expect(readCookie('theme=dark; lang=en', 'sid')).toBeNull();
    expect(readCookie(';;; ;', 'sid')).toBeNull();
  });

  it('finds the cookie alone, first, in the middle and last', () => {
    expect(readCookie(`sid=${TOKEN}`, 'sid')).toBe(TOKEN);
    expect(readCookie(`sid=${TOKEN}; theme=dark`, 'sid')).toBe(TOKEN);
    expect(readCookie(`a=1; sid=${TOKEN}; b=2`, 'sid')).toBe(TOKEN);
    expect(readCookie(`a=1; b=2; sid=${TOKEN}`, 'sid')).toBe(TOKEN);
    expect(readCookie(`a=1;sid=${TOKEN};b=2`, 'sid')).toBe(TOKEN);
  });

  it('uses the configured name', () => {
    expect(readCookie(`sid=other; __Host-app=${TOKEN}`, '__Host-app')).toBe(TOKEN);
    expect(readCookie(`my.session=${TOKEN}`, 'my.session')).toBe(TOKEN);
  });

  it('does not match similar names', () => {
    expect(readCookie(`xsid=${TOKEN}`, 'sid')).toBeNull();
    expect(readCookie(`sid2=${TOKEN}`, 'sid')).toBeNull();
    expect(readCookie(`si=${TOKEN}`, 'sid')).toBeNull();
    expect(readCookie(`SID=${TOKEN}`, 'sid')).toBeNull();
    expect(readCookie(`s id=${TOKEN}`, 'sid')).toBeNull();
    expect(readCookie(`xsid=a; sid2=b; sid=${TOKEN}; sidsid=c`, 'sid')).toBe(TOKEN);
  });

  it('does not take a value that merely contains the name', () => {
    expect(readCookie('theme=sid=evil', 'sid')).toBeNull();
    expect(readCookie(`other=x; sid=${TOKEN}; theme=sid=evil`, 'sid')).toBe(TOKEN);
  });

  it('keeps "=" inside the value', () => {
    expect(readCookie('sid=a=b==', 'sid')).toBe('a=b==');
  });

  it('ignores spaces and tabs around names and values', () => {
    expect(readCookie(`  sid  =  ${TOKEN}  `, 'sid')).toBe(TOKEN);
    expect(readCookie(`a=1;\tsid\t=\t${TOKEN}\t;b=2`, 'sid')).toBe(TOKEN);
    expect(readCookie(`a=1 ;  sid=${TOKEN} ; b=2`, 'sid')).toBe(TOKEN);
    expect(readCookie(` \t sid= \t${TOKEN}`, 'sid')).toBe(TOKEN);
  });

  it('unwraps a quoted value', () => {
    expect(readCookie(`sid="${TOKEN}"`, 'sid')).toBe(TOKEN);
    expect(readCookie(`a=1; sid = "${TOKEN}" ; b=2`, 'sid')).toBe(TOKEN);
  });

  it('leaves a lone or unbalanced quote in place', () => {
    expect(readCookie('sid="', 'sid')).toBe('"');
    expect(readCookie(`sid="${TOKEN}`, 'sid')).toBe(`"${TOKEN}`);
  });

  it('returns an empty string for an empty value (no token)', () => {
    expect(readCookie('sid=', 'sid')).toBe('');
    expect(readCookie('sid=; a=1', 'sid')).toBe('');
    expect(readCookie('sid=   ', 'sid')).toBe('');
    expect(readCookie('sid=""', 'sid')).toBe('');
  });

  it('answers AMBIGUOUS when the name appears twice', () => {
    expect(readCookie('sid=a; sid=b', 'sid')).toBe(AMBIGUOUS);
    expect(readCookie(`sid=${TOKEN}; sid=${TOKEN}`, 'sid')).toBe(AMBIGUOUS);
    expect(readCookie(`a=1; sid=${TOKEN}; b=2; sid=attacker; c=3`, 'sid')).toBe(AMBIGUOUS);
    expect(readCookie('sid=a;sid=b;sid=c', 'sid')).toBe(AMBIGUOUS);
  });

  it('answers AMBIGUOUS even when one copy is valid and the other empty or malformed', () => {
    expect(readCookie(`sid=${TOKEN}; sid=`, 'sid')).toBe(AMBIGUOUS);
    expect(readCookie(`sid=; sid=${TOKEN}`, 'sid')).toBe(AMBIGUOUS);
    expect(readCookie(`sid=garbage; sid=${TOKEN}`, 'sid')).toBe(AMBIGUOUS);
    expect(readCookie(` sid = x ; sid="${TOKEN}"`, 'sid')).toBe(AMBIGUOUS);
  });

  it('covers repeated Cookie headers as Node joins them', () => {
    // Node joins a request's repeated Cookie headers with '; '.
    expect(readCookie(['sid=a', `sid=${TOKEN}`].join('; '), 'sid')).toBe(AMBIGUOUS);
  });

  it('skips a cookie without "="', () => {
    expect(readCookie(`flag; sid=${TOKEN}`, 'sid')).toBe(TOKEN);
    expect(readCookie(`sid=${TOKEN}; flag`, 'sid')).toBe(TOKEN);
    expect(readCookie(`sid; other=${TOKEN}`, 'sid')).toBeNull();
    expect(readCookie('sid', 'sid')).toBeNull();
    expect(readCookie(`sid; sid=${TOKEN}`, 'sid')).toBe(TOKEN);
    expect(readCookie(`a; b; c; sid=${TOKEN}; d; e`, 'sid')).toBe(TOKEN);
  });

  it('does not confuse a "=" of a later cookie with one of a cookie without "="', () => {
    // The '=' that follows belongs to `x`, not to `sid`.
    expect(readCookie('sid; x=1', 'sid')).toBeNull();
    expect(readCookie('sid;=1', 'sid')).toBeNull();
  });

  it('does not decode the value', () => {
    expect(readCookie('sid=a%20b', 'sid')).toBe('a%20b');
  });

  it('parses a 100 KB header of many cookies in linear time (< 50 ms)', () => {
    const header = `${repeatTo('preference_12=value_abcdef; ', 100 * 1024)}sid=${TOKEN}`;
    expect(header.length).toBeGreaterThanOrEqual(100 * 1024);
    expect(readCookie(header, 'sid')).toBe(TOKEN);
    expect(medianMs(() => readCookie(header, 'sid'))).toBeLessThan(50);
  });

  it('parses a 100 KB header of many copies of the name quickly (stops at the second)', () => {
    const header = repeatTo(`sid=${TOKEN}; `, 100 * 1024);
    expect(readCookie(header, 'sid')).toBe(AMBIGUOUS);
    expect(medianMs(() => readCookie(header, 'sid'))).toBeLessThan(50);
  });

  it('parses a 100 KB header of cookies without "=" in < 50 ms', () => {
    const header = `${repeatTo('a; ', 100 * 1024)}sid=${TOKEN}`;
    expect(readCookie(header, 'sid')).toBe(TOKEN);
    expect(medianMs(() => readCookie(header, 'sid'))).toBeLessThan(50);
  });

  it('stays linear on 1 MB of cookies without "=" (< 100 ms)', () => {
    // A quadratic scan (each cookie looking for the next '=' to the end of the
    // header) takes seconds here; a linear one takes a few milliseconds.
    for (const segment of [';', 'a;', 'flag; ']) {
      const header = `${repeatTo(segment, 1024 * 1024)}sid=${TOKEN}`;
      let value: ReturnType<typeof readCookie> = null;
      const ms = medianMs(() => {
        value = readCookie(header, 'sid');
      }, 1);
      expect(value).toBe(TOKEN);
      expect(ms).toBeLessThan(100);
    }
  });

  it('stays linear on 1 MB of ordinary cookies (< 100 ms)', () => {
    const header = `${repeatTo('a=1; ', 1024 * 1024)}sid=${TOKEN}`;
    expect(readCookie(header, 'sid')).toBe(TOKEN);
    expect(medianMs(() => readCookie(header, 'sid'), 3)).toBeLessThan(100);
  });
});

describe('cookieAttributeSuffix', () => {
  it('gives Path, HttpOnly, Secure and SameSite by default', () => {
    expect(cookieAttributeSuffix({ path: '/', domain: undefined, secure: true, sameSite: 'lax' })).toBe(
      '; Path=/; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it('adds Domain when set', () => {
    expect(cookieAttributeSuffix({ path: '/', domain: 'example.com', secure: true, sameSite: 'lax' })).toBe(
      '; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it('leaves Domain out when it is empty', () => {
    expect(cookieAttributeSuffix({ path: '/', domain: '', secure: true, sameSite: 'lax' })).not.toContain('Domain');
  });

  it('leaves Secure out when secure is false, and keeps HttpOnly', () => {
    const suffix = cookieAttributeSuffix({ path: '/', domain: undefined, secure: false, sameSite: 'lax' });
    expect(suffix).toBe('; Path=/; HttpOnly; SameSite=Lax');
    expect(suffix).not.toMatch(/Secure/);
  });

  it('capitalises every SameSite value', () => {
    const base = { path: '/', domain: undefined, secure: true } as const;
    expect(cookieAttributeSuffix({ ...base, sameSite: 'lax' })).toMatch(/; SameSite=Lax$/);
    expect(cookieAttributeSuffix({ ...base, sameSite: 'strict' })).toMatch(/; SameSite=Strict$/);
    expect(cookieAttributeSuffix({ ...base, sameSite: 'none' })).toMatch(/; SameSite=None$/);
  });

  it('uses the configured path', () => {
    expect(cookieAttributeSuffix({ path: '/api', domain: undefined, secure: true, sameSite: 'strict' })).toBe(
      '; Path=/api; HttpOnly; Secure; SameSite=Strict',
    );
  });

  it('starts with "; " so it can follow name=value', () => {
    const suffix = cookieAttributeSuffix({ path: '/', domain: 'a.example', secure: false, sameSite: 'none' });
    expect(suffix.startsWith('; ')).toBe(true);
    expect(suffix.split('; ').slice(1)).toEqual(['Path=/', 'Domain=a.example', 'HttpOnly', 'SameSite=None']);
  });
});
