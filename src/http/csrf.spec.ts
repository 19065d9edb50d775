import { describe, expect, it } from '@jest/globals';
import { resolveSessionOptions } from '../options/resolve.js';
import { type SessionModuleOptions } from '../options/types.js';
import { HANDSHAKE_MEMO, socketRequestOf } from './contexts/socket-request.js';
import { SessionCsrf } from './csrf.js';

const csrfFor = (options: Partial<SessionModuleOptions> = {}) => {
  const resolved = resolveSessionOptions({ redis: { url: 'redis://localhost:6379' }, ...options });
  expect(resolved.problems).toEqual([]);
  return new SessionCsrf(resolved);
};

/** A browser's socket.io socket: its handshake carries the page's Origin. */
const socketFrom = (origin: string) => ({
  handshake: { headers: { cookie: 'sid=x', origin, host: 'app.example.com' }, address: '10.0.0.1' },
});

describe('SessionCsrf.allowsOrigin on socket messages', () => {
  it("judges a handshake's Origin once for all of its messages: the verdict is kept in its memo", () => {
    const csrf = csrfFor();
    const same = socketFrom('https://app.example.com');
    const first = socketRequestOf(same)!;
    expect(csrf.allowsOrigin(first)).toBe(true);
    expect(first[HANDSHAKE_MEMO]).toMatchObject({ originAllowed: true, originBy: csrf });
    expect(csrf.allowsOrigin(socketRequestOf(same)!)).toBe(true);

    const cross = socketFrom('https://evil.example');
    expect(csrf.allowsOrigin(socketRequestOf(cross)!)).toBe(false);
    expect(csrf.allowsOrigin(socketRequestOf(cross)!)).toBe(false);
  });

  it('gives each module its own verdict on one handshake (each trusts its own origins)', () => {
    const socket = socketFrom('https://partner.example');
    const strict = csrfFor();
    const trusting = csrfFor({ csrf: { trustedOrigins: ['https://partner.example'] } });
    expect(strict.allowsOrigin(socketRequestOf(socket)!)).toBe(false);
    expect(trusting.allowsOrigin(socketRequestOf(socket)!)).toBe(true);
    expect(strict.allowsOrigin(socketRequestOf(socket)!)).toBe(false);
  });

  it('judges every HTTP request on its own (no memo)', () => {
    const csrf = csrfFor();
    const headers = { origin: 'https://evil.example', host: 'app.example.com' };
    expect(csrf.allowsOrigin({ headers })).toBe(false);
    expect(csrf.allowsOrigin({ headers: { ...headers, origin: 'https://app.example.com' } })).toBe(true);
  });
});
