import { ConflictException } from '@nestjs/common';
import { cleanData, FORBIDDEN_KEYS, isPasswordKey, OP_TEXT, optionalString } from './stored-user.js';
import type { SessionPatch } from './types.js';

/** A patch as the update script takes it (lua/update-1.lua): JSON text, '' for "keep" or "remove". */
export interface EncodedPatch {
  /** The new username as JSON, or '' to keep it. */
  username: string;
  role: string;
  /** Pairs: a data key as a JSON string, then its value as JSON, '' to remove the key, or an op's text. */
  data: string[];
}

/** The update script's reply: `[value, pttl]`, or `['', bytes]`, `['', -1]`, `['', -2, key, op]` when nothing was written. */
export type UpdateReply = [value: string, pttlOrBytes: number, key?: string, op?: string];

/**
 * A change to one data key that Redis makes to the value it holds, inside the update's one
 * script call, so that concurrent ones all land. Made by `SessionOps`; only a top-level data
 * key of an update patch takes one (`update`, `updateUser`, `SessionAuth.update`).
 */
export interface SessionOp {
  /** The op as lua/update-1.lua reads it: internal, made by `SessionOps`. */
  readonly [OP_TEXT]: string;
}

const op = (text: string): SessionOp => Object.freeze({ [OP_TEXT]: text });

/** An element of a data array as JSON (password-ish keys dropped, as in any data). */
function elementJson(value: unknown, name: string): string {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    throw new TypeError(`SessionOps.${name} takes a JSON value (got ${typeof value})`);
  }
  return JSON.stringify(cleanData(value, 2));
}

/**
 * Operators for a patch's data keys, applied by Redis to the value the session holds, in the
 * same atomic script call as the rest of the patch: `update(token, { cart:
 * SessionOps.append(sku), visits: SessionOps.increment() })`. A read in the handler followed by
 * an update with the whole value loses concurrent changes; an op does not. A value of another
 * kind (append to a string, increment an array) is refused: `SessionPatchConflictException`
 * (409), nothing written. `maxDataBytes` applies after the op (RangeError, nothing written).
 */
export const SessionOps = Object.freeze({
  /**
   * Adds `value` at the end of the array under the key; a missing (or null) key becomes
   * `[value]`. `max` (a whole number ≥ 1) keeps the last `max` elements, dropping the oldest.
   */
  append(value: unknown, options?: { max?: number }): SessionOp {
    const max = options?.max;
    if (max !== undefined && !(Number.isSafeInteger(max) && max >= 1)) {
      throw new TypeError(`SessionOps.append: max must be a whole number ≥ 1 (got ${String(max)})`);
    }
    return op(`A${max ?? 0}:${elementJson(value, 'append')}`);
  },
  /**
   * Drops every element of the array under the key that equals `value`, compared as JSON text:
   * meant for primitives (ids, SKUs); `1` and `'1'` differ, and objects match only with their
   * keys in the same order. A missing key stays missing.
   */
  remove(value: unknown): SessionOp {
    return op(`R${elementJson(value, 'remove')}`);
  },
  /**
   * Adds `by` (a finite number, default 1; negative to subtract) to the number under the key; a
   * missing (or null) key counts from 0. Sums are doubles, as in JavaScript: whole numbers are
   * exact up to 2^53.
   */
  increment(by: number = 1): SessionOp {
    if (typeof by !== 'number' || !Number.isFinite(by)) {
      throw new TypeError(`SessionOps.increment takes a finite number (got ${String(by)})`);
    }
    return op(`I${JSON.stringify(by)}`);
  },
});

/**
 * A `SessionOps` operator met a value of another kind under its key (append or remove on what
 * is no array, increment on what is no number, or a sum past the largest number): nothing of
 * the patch was written. A 409, so that a handler passing it on answers 409, not 500.
 */
export class SessionPatchConflictException extends ConflictException {
  constructor(
    /** The data key whose value the operator does not apply to. */
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

/** The error of an update that wrote nothing: past `maxDataBytes` (RangeError), or an op of the wrong kind (409). */
export function refusalError([, bytes, key = '""', name]: UpdateReply, maxDataBytes: number): Error {
  if (bytes >= 0) {
    return new RangeError(`session data would be ${bytes} bytes encoded (JSON), over maxDataBytes (${maxDataBytes})`);
  }
  const dataKey = JSON.parse(key) as string;
  const [what, kind] =
    name === 'I' ? ['increment', 'a number (or the sum is past the largest one)'] : ['append/remove', 'an array'];
  return new SessionPatchConflictException(
    dataKey,
    `session data ${key} is not ${kind}: SessionOps.${what} does not apply to it (nothing written)`,
  );
}

/**
 * What a patch may change: `'session'` (`SessionService.update`, `updateUser`): `username` and
 * `role` are the session's identity, other keys its data; `'data'` (`updateData`,
 * `SessionAuth.update`): every key is a data key, `username` and `role` included, so a patch
 * built from what a client sent can never change who the session is.
 */
export type PatchScope = 'session' | 'data';

/**
 * Checks a patch and encodes it once, so that a user's many sessions get the same bytes.
 * The rules of login apply: username and role are strings (at most 256 characters) or
 * null/undefined (removed); other keys are custom data, password-ish keys dropped at any
 * depth, `null`/`undefined` removing a key, a `SessionOp` sent as its text. The user id cannot
 * change (TypeError). With `scope` `'data'`, every key is a data key (`username`, `role`, `id`
 * and `userId` too): the identity is never changed.
 */
export function encodePatch(patch: SessionPatch, scope: PatchScope = 'session'): EncodedPatch {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new TypeError(scope === 'data' ? 'session data must be an object' : 'a session patch must be an object');
  }
  const encoded: EncodedPatch = { username: '', role: '', data: [] };
  for (const key of Object.keys(patch)) {
    const value: unknown = patch[key];
    if (scope === 'session' && (key === 'id' || key === 'userId')) {
      throw new TypeError(`a session patch cannot change the user (${key}): sign the user in again instead`);
    }
    if (scope === 'session' && (key === 'username' || key === 'role')) {
      encoded[key] = JSON.stringify(optionalString(patch, key));
      continue;
    }
    if (isPasswordKey(key) || FORBIDDEN_KEYS.has(key) || typeof value === 'function') continue;
    if (typeof value === 'object' && value !== null && OP_TEXT in value) {
      encoded.data.push(JSON.stringify(key), (value as SessionOp)[OP_TEXT]);
      continue;
    }
    const json = value === null || value === undefined ? '' : JSON.stringify(cleanData(value, 1));
    encoded.data.push(JSON.stringify(key), json ?? '');
  }
  return encoded;
}

/**
 * `SessionAuth.setIdentity`'s patch: `username` and `role` only, each a string of at most 256
 * characters, `null` to remove it, or left out (or `undefined`) to keep it. TypeError for any
 * other key (data goes through the data-only calls) and for a value of another kind (a
 * `SessionOps` operator included).
 */
export function identityPatch(identity: Pick<SessionPatch, 'username' | 'role'>): SessionPatch {
  if (typeof identity !== 'object' || identity === null || Array.isArray(identity)) {
    throw new TypeError('a session identity must be an object: { username?, role? }');
  }
  const patch: SessionPatch = {};
  for (const key of Object.keys(identity)) {
    if (key !== 'username' && key !== 'role') {
      throw new TypeError(`setIdentity changes username and role only (got ${JSON.stringify(key)}): data goes through update`);
    }
    if (identity[key] !== undefined) patch[key] = optionalString(identity, key);
  }
  return patch;
}
