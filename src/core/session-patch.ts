import { cleanData, FORBIDDEN_KEYS, isPasswordKey, optionalString } from './stored-user.js';
import type { SessionPatch } from './types.js';

/** A patch as the update script takes it (lua/update-1.lua): JSON text, '' for "keep" or "remove". */
export interface EncodedPatch {
  /** The new username as JSON, or '' to keep it. */
  username: string;
  role: string;
  /** Pairs: a data key as a JSON string, then its value as JSON, or '' to remove the key. */
  data: string[];
}

/**
 * Checks a patch and encodes it once, so that a user's many sessions get the same bytes.
 * The rules of login apply: username and role are strings (at most 256 characters) or
 * null/undefined (removed); other keys are custom data, password-ish keys dropped at any
 * depth, `null`/`undefined` removing a key. The user id cannot change (TypeError).
 */
export function encodePatch(patch: SessionPatch): EncodedPatch {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new TypeError('a session patch must be an object');
  }
  const encoded: EncodedPatch = { username: '', role: '', data: [] };
  for (const key of Object.keys(patch)) {
    const value: unknown = patch[key];
    if (key === 'id' || key === 'userId') {
      throw new TypeError(`a session patch cannot change the user (${key}): sign the user in again instead`);
    }
    if (key === 'username' || key === 'role') {
      encoded[key] = JSON.stringify(optionalString(patch, key));
      continue;
    }
    if (isPasswordKey(key) || FORBIDDEN_KEYS.has(key) || typeof value === 'function') continue;
    const json = value === null || value === undefined ? '' : JSON.stringify(cleanData(value, 1));
    encoded.data.push(JSON.stringify(key), json ?? '');
  }
  return encoded;
}
