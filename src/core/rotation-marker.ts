/**
 * What a rotation (`SessionService.rotate`) leaves in Redis besides sessions: text formats and
 * lifetimes only; the store writes and reads them (store-rotate.ts, store-follow.ts).
 *
 * - The marker: `["moving","<newId>",<atMs>,<userId>]` under `<prefix><oldId>`, in place of the
 *   session from a rotation's first step to its last (a few ms). Never a session: its first
 *   element is a string where a session's is the format version 1, so `decodeSession` refuses
 *   it, the guard's `GETEX` answers 401 (setting the marker's own TTL, as one native command
 *   must: never past the idle timeout, and never a session's) and `lua/peek-1.lua` and
 *   `lua/update-1.lua` never take it for one. `atMs` is when the rotation began; `userId` is copied from the session (raw
 *   JSON) by `lua/peek-1.lua`.
 * - The forward: `forwardKey(oldId)` (keys.ts) → the new id, masked by the old one
 *   (`maskId`), written before the old id leaves the user's index, so an operation by id
 *   (revoke, updateUser, list) that read the old id still reaches the session for
 *   `FORWARD_TTL_MS`. Neither id is in it in the clear. A token never uses or reads a session
 *   through it (the old token stops working at the rotation's first step); only an end by the
 *   old token follows it (a logout, `revokeToken`: one that raced the rotate's answer ends the
 *   rotated session, store-follow.ts `endFollowing`).
 */
import { hash } from 'node:crypto';
import { isSessionId } from './token.js';

/** The marker's TTL, and the new key's until the rotation commits: a crash leaves nothing longer. */
export const MARKER_TTL_MS = 5000;

/** How long an old id still leads to its session after a rotation (and its old token can still end it). */
export const FORWARD_TTL_MS = 10_000;

/** A marker, read. */
export interface MovingMarker {
  /** The session's new id. */
  next: string;
  /** When the rotation began (epoch ms, the rotating instance's clock). */
  at: number;
  userId: string | number;
}

/** The marker's text up to its last element (`lua/peek-1.lua` appends `,<userId>]`). */
export function markerHead(next: string, at: number): string {
  return `["moving",${JSON.stringify(next)},${at}`;
}

/** True for a session value (`[1,...`, codec.ts); false for a marker or anything else. */
export function isSessionValue(value: string): boolean {
  return value.startsWith('[1,');
}

/** The marker a value is, or null. */
export function parseMarker(value: string): MovingMarker | null {
  if (!value.startsWith('["moving",')) return null;
  let fields: unknown;
  try {
    fields = JSON.parse(value);
  } catch {
    return null;
  }
  if (!Array.isArray(fields) || fields.length !== 4) return null;
  const [, next, at, userId] = fields as unknown[];
  if (!isSessionId(next) || typeof at !== 'number') return null;
  if (typeof userId !== 'string' && !(typeof userId === 'number' && Number.isSafeInteger(userId))) return null;
  return { next, at, userId };
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * `id` (22 base64url characters) masked by `by`: each character's 6 bits XORed with bits of
 * SHA-256(`forward:<by>`). Its own inverse: `maskId(by, maskId(by, id)) === id`. What the
 * forward of `by` holds for `id`; null for a value that is not 22 base64url characters.
 */
export function maskId(by: string, id: string): string | null {
  if (!isSessionId(id)) return null;
  const pad = hash('sha256', `forward:${by}`, 'buffer');
  let masked = '';
  for (let i = 0; i < id.length; i++) masked += B64URL[B64URL.indexOf(id[i]) ^ (pad[i] & 63)];
  return masked;
}
