import { describe, expect, it } from '@jest/globals';
import { encodePatch, identityPatch, refusalError, SessionOps, SessionPatchConflictException } from './session-patch.js';

/** The bytes lua/update-1.lua reads: its header documents each form. */
describe('encodePatch with SessionOps', () => {
  it('sends each op as its text next to the JSON key, and plain values as JSON', () => {
    const encoded = encodePatch({
      cart: SessionOps.append('sku-1'),
      recent: SessionOps.append({ id: 7, password: 'x' }, { max: 20 }),
      wish: SessionOps.remove(42),
      visits: SessionOps.increment(),
      credit: SessionOps.increment(-2.5),
      theme: 'dark',
      gone: null,
    });
    expect(encoded).toEqual({
      username: '',
      role: '',
      data: [
        '"cart"',
        'A0:"sku-1"',
        '"recent"',
        'A20:{"id":7}',
        '"wish"',
        'R42',
        '"visits"',
        'I1',
        '"credit"',
        'I-2.5',
        '"theme"',
        '"dark"',
        '"gone"',
        '',
      ],
    });
  });

  it('never lets an op reach a password-ish key, username, role, or a nested value', () => {
    expect(encodePatch({ password: SessionOps.append('x') }).data).toEqual([]);
    expect(() => encodePatch({ role: SessionOps.append('x') as unknown as string })).toThrow(TypeError);
    expect(() => encodePatch({ prefs: { n: SessionOps.increment() } })).toThrow(TypeError);
    expect(() => SessionOps.remove([SessionOps.increment()])).toThrow(TypeError);
  });

  it('an op is an opaque, frozen value: JSON shows nothing of it', () => {
    const op = SessionOps.increment(3);
    expect(Object.isFrozen(op)).toBe(true);
    expect(JSON.stringify(op)).toBe('{}');
  });
});

describe("encodePatch's scopes: identity apart from data (issue 19 item 7)", () => {
  it("'session' (update): username and role are the identity, id and userId a TypeError", () => {
    expect(encodePatch({ role: 'admin', username: null, cart: [1] })).toEqual({
      username: 'null',
      role: '"admin"',
      data: ['"cart"', '[1]'],
    });
    expect(() => encodePatch({ userId: 2 })).toThrow(TypeError);
  });

  it("'data' (updateData, SessionAuth.update): every key is a data key, ops included; the identity is kept", () => {
    expect(encodePatch({ role: 'admin', username: 'alice', id: 1, userId: 1, password: 'x' }, 'data')).toEqual({
      username: '',
      role: '',
      data: ['"role"', '"admin"', '"username"', '"alice"', '"id"', '1', '"userId"', '1'],
    });
    expect(encodePatch({ role: SessionOps.append('admin') } as Record<string, unknown>, 'data')).toEqual({
      username: '',
      role: '',
      data: ['"role"', 'A0:"admin"'],
    });
    expect(() => encodePatch([] as never, 'data')).toThrow('session data must be an object');
  });
});

describe('identityPatch (SessionAuth.setIdentity)', () => {
  it('keeps username and role (null removes, undefined keeps) and refuses anything else', () => {
    expect(identityPatch({ role: 'admin', username: undefined })).toEqual({ role: 'admin' });
    expect(identityPatch({ username: null })).toEqual({ username: null });
    expect(() => identityPatch({ role: 'admin', cart: [] } as never)).toThrow(/username and role only \(got "cart"\)/);
    expect(() => identityPatch({ role: SessionOps.append('x') } as never)).toThrow(TypeError);
    expect(() => identityPatch({ role: 'r'.repeat(257) })).toThrow(TypeError);
    expect(() => identityPatch(null as never)).toThrow(TypeError);
  });
});

describe('refusalError', () => {
  it('maps the script’s refusals to a RangeError (size) and a 409 naming the key (kind)', () => {
    expect(refusalError(['', 5000], 4096)).toBeInstanceOf(RangeError);
    const append = refusalError(['', -2, '"cart"', 'A'], 4096) as SessionPatchConflictException;
    expect(append).toBeInstanceOf(SessionPatchConflictException);
    expect(append.getStatus()).toBe(409);
    expect(append.key).toBe('cart');
    expect(append.message).toContain('not an array');
    expect(refusalError(['', -2, '"n"', 'I'], 4096).message).toContain('not a number');
  });
});
