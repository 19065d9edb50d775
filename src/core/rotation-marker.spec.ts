import { describe, expect, it } from '@jest/globals';
import { decodeSession, encodeSession } from './codec.js';
import { forwardKey } from './keys.js';
import { isSessionValue, markerHead, maskId, parseMarker } from './rotation-marker.js';
import { generateToken, sessionIdOf } from './token.js';

const NEW_ID = sessionIdOf(generateToken(Date.now() + 60_000));
const OLD_ID = sessionIdOf(generateToken(Date.now() + 60_000));

/** The marker lua/peek-1.lua writes: the head, the session's raw userId, `]`. */
const marker = (userIdJson: string) => `${markerHead(NEW_ID, 1_700_000_000_000)},${userIdJson}]`;

describe('a rotation marker', () => {
  it('is never decoded as a session, and never taken for a session value', () => {
    for (const value of [marker('7'), marker('"u-7"'), marker('"a \\"quoted\\", id"')]) {
      expect(decodeSession(value)).toBeNull();
      expect(isSessionValue(value)).toBe(false);
    }
    const session = encodeSession({
      userId: 7,
      username: null,
      role: null,
      createdAt: 1,
      absoluteExpiresAt: 2,
      ip: null,
      userAgent: null,
      data: undefined,
    });
    expect(isSessionValue(session)).toBe(true);
    expect(parseMarker(session)).toBeNull();
  });

  it('reads back the new id, when the rotation began and the userId with its type', () => {
    expect(parseMarker(marker('7'))).toEqual({ next: NEW_ID, at: 1_700_000_000_000, userId: 7 });
    expect(parseMarker(marker('"7"'))).toEqual({ next: NEW_ID, at: 1_700_000_000_000, userId: '7' });
    expect(parseMarker(marker('"a \\"quoted\\", id"'))).toMatchObject({ userId: 'a "quoted", id' });
  });

  it('refuses anything else', () => {
    for (const value of [
      '',
      '["moving"]',
      '["moving","short",1,7]',
      `["moving","${NEW_ID}","1",7]`,
      `["moving","${NEW_ID}",1,1.5]`,
      '["moving",',
    ]) {
      expect(parseMarker(value)).toBeNull();
    }
  });
});

describe('a rotation forward', () => {
  it('holds the new id masked by the old one: neither id in the clear, in the key or the value', () => {
    const masked = maskId(OLD_ID, NEW_ID)!;
    const key = forwardKey('session:', OLD_ID);
    expect(masked).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(masked).not.toBe(NEW_ID);
    for (const text of [key, masked]) {
      expect(text).not.toContain(OLD_ID);
      expect(text).not.toContain(NEW_ID);
    }
    expect(key).toMatch(/^session:moved:[A-Za-z0-9_-]{22}$/);
  });

  it('is unmasked by the old id only', () => {
    const masked = maskId(OLD_ID, NEW_ID)!;
    expect(maskId(OLD_ID, masked)).toBe(NEW_ID);
    expect(maskId(NEW_ID, masked)).not.toBe(NEW_ID);
    expect(maskId(OLD_ID, 'not an id')).toBeNull();
  });
});
