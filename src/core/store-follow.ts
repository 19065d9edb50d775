/**
 * Finding a session that is rotating, or has just rotated (rotation-marker.ts): an operation
 * on one session key (update, read, end) is tried where its caller thinks the session is,
 * then where a rotation's marker or forward says it went. Nothing is lost to a rotation: a
 * change or an end that meets the marker lands on the new key (or ends the rotation), and
 * one that comes after the rotation finds the new key through the forward: by id (revoke,
 * updateUser, list), or an end by the old token (`endFollowing`: a logout that raced the
 * rotate's answer); a token never reads or uses a session through it.
 * Errors propagate; the store runs each follow under its deadline.
 *
 * Redis commands sent from this file: GETEX without options (a plain read, nothing
 * changed: the forward of an id, keys.ts `forwardKey`) and GET (a marker seen again while its new key is
 * not written yet), on the module's main connection; DEL (on the writer) of a marker whose
 * rotation outlived its own deadline without writing its new key (a crashed app); GETDEL, DEL
 * and ZREM (on the writer) of a session ended by token (`endFollowing`).
 */
import { decodeSession, type StoredSession } from './codec.js';
import { forwardKey, sessionKey, userIndexKey } from './keys.js';
import type { SessionRedisClient } from './redis/scripts.js';
import { maskId, parseMarker, type MovingMarker } from './rotation-marker.js';

/** One try of an operation on one session key. */
export type Step<T> =
  /** The key held the session: the operation did its work (`T` is what it found or made). */
  | { done: T }
  /** The key holds a rotation's marker: the session is moving to `next`. */
  | { moving: string }
  /** Nothing there (never was, ended, expired, or rotated away). */
  | null;

/** Where follows run. */
export interface FollowTarget {
  client: SessionRedisClient;
  writer: SessionRedisClient;
  keyPrefix: string;
  /** A rotation older than this that has not written its new key never will (its deadline passed). */
  stuckMs: number;
}

/** Ids followed (markers and forwards) before giving up: a session rotating that often is a 503, tried again. */
const MAX_HOPS = 100;
/** The wait before looking again at a new key a rotation has not written yet (its next step, one round-trip). */
const WAIT_MS = 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The id a rotated session's old id leads to for a few seconds (its forward), or null. */
export async function forwardOf(target: FollowTarget, id: string): Promise<string | null> {
  const masked = await target.client.getex(forwardKey(target.keyPrefix, id));
  return masked === null ? null : maskId(id, masked);
}

/** Where a follow ended: the key the operation did its work on, and what it found there. */
export interface Followed<T> {
  /** The session's id as the caller may name it: the one it gave, or where forwards led (an index lists it). */
  id: string;
  /** The key's id (the new one while a marker still names it: not yet in any index). */
  at: string;
  result: T;
}

/**
 * Runs `op` on the session `id` names, following markers (a rotation under way) and, with
 * `forwards`, forwards (a rotation done: for operations by id, never by token). Resolves with
 * where the operation did its work and what it found, or null when the session is gone.
 */
export async function follow<T>(
  target: FollowTarget,
  id: string,
  op: (id: string) => Promise<Step<T>>,
  forwards: boolean,
): Promise<Followed<T> | null> {
  let named = id;
  // The key whose marker named `id`: while it still does, `id` may just not be written yet.
  let from: string | null = null;
  for (let hops = 0; hops <= MAX_HOPS;) {
    const step = await op(id);
    if (step !== null && 'done' in step) return { id: named, at: id, result: step.done };
    if (step !== null) {
      from = id;
      id = step.moving;
      hops++;
      continue;
    }
    const next = forwards ? await forwardOf(target, id) : null;
    if (next !== null) {
      from = null;
      id = named = next;
      hops++;
      continue;
    }
    if (from === null) return null;
    const value = await target.client.get(sessionKey(target.keyPrefix, from));
    const marker = value === null ? null : parseMarker(value);
    if (marker === null || marker.next !== id) {
      // The rotation committed or lost: its new key was written before the marker went, so
      // one more look at `id` decides.
      from = null;
      continue;
    }
    if (Date.now() - marker.at > target.stuckMs) {
      // Its rotation is past its deadline and never wrote the new key: it ended (a crash).
      await target.writer.del(sessionKey(target.keyPrefix, from));
      return null;
    }
    await sleep(WAIT_MS);
  }
  throw new Error(`a session rotated more than ${MAX_HOPS} times while it was followed`);
}

/** A session an end by token took: the id it had (the token's, or where forwards led) and its user. */
export interface EndedSession {
  id: string;
  userId: string | number;
}

/**
 * Ends the session a token's id names (a logout, `revokeToken`, the fixation step of a login):
 * `GETDEL` of its key, then its index entry. A marker taken ends its rotation (its commit
 * finds the marker gone and loses; the new key and the forward go here too). A key already
 * gone sends the end through the rotation's forward while it lives (`FORWARD_TTL_MS`): the
 * session it leads to ends the same way (or its own rotation, or the next forward), so a
 * logout that reached Redis after the commit, having raced the rotate's answer, still ends the
 * rotated session. A forward to a session already gone ends nothing. Resolves null when nothing
 * ended.
 */
export async function endFollowing(target: FollowTarget, id: string): Promise<EndedSession | null> {
  const { writer, keyPrefix } = target;
  const take = async (at: string): Promise<Step<StoredSession | MovingMarker>> => {
    const value = await writer.getdel(sessionKey(keyPrefix, at));
    const ended = value === null ? null : (decodeSession(value) ?? parseMarker(value));
    return ended && { done: ended };
  };
  const found = await follow(target, id, take, true);
  if (found === null) return null;
  const { at, result: ended } = found;
  // Session keys first, the index entries last (as every end): never alive and unlisted.
  const ids = at === id ? [at] : [id, at];
  if ('next' in ended) {
    ids.push(ended.next);
    await Promise.all([writer.del(sessionKey(keyPrefix, ended.next)), writer.del(forwardKey(keyPrefix, at))]);
  }
  await writer.zrem(userIndexKey(keyPrefix, ended.userId), ...ids);
  return { id: at, userId: ended.userId };
}
