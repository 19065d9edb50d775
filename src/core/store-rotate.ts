/**
 * A rotation's steps in Redis (`SessionService.rotate`): the session moves from `<prefix><old>`
 * to `<prefix><new>` in ordered single-key steps (Cluster-safe: the two keys, the forward and
 * the index may live on four nodes), so that a change or an end racing it is never lost and an
 * ended session never comes back:
 *
 *   1. `nrsPeek` with a marker (lua/peek-1.lua): the session is replaced by `["moving","<new>",
 *      <at>,<userId>]` (TTL 5 s) in one step; from here the old token is refused (the guard's
 *      GETEX finds no session), and every operation that meets the marker follows it;
 *   2. `SET <new> value PX min(5 s, ttl) NX`: the new key, short-lived until the commit;
 *   3. `SET <forward of old> <new, masked> PX 10 s`: the forward (keys.ts `forwardKey`,
 *      store-follow.ts);
 *   4. `nrsIndexAdd` with `removeId`: the new id replaces the old in the user's index;
 *   5. `GETDEL <old>`, the commit: the marker, untouched, means nothing ended the session
 *      meanwhile; gone means a logout or revocation took it (it deleted the marker): the
 *      rotation loses, and undoes 2-4 (`DEL <new>`, `DEL` the forward, `ZREM` the new id);
 *   6. `GETEX <new> PX ttl`: the session's own TTL; none back means an end (by id, or by the
 *      old token, through the forward) took the new key after the commit, and the rotation
 *      reports it gone.
 *
 * 2-4 go in one round-trip where one connection orders them; on a Cluster each waits for the
 * one before. Errors propagate; the store runs the steps under its deadline.
 *
 * Redis commands sent from this file (on the writer): the nrsPeek and nrsIndexAdd scripts, SET,
 * GETDEL, GETEX, DEL and ZREM.
 */
import { forwardKey, sessionKey } from './keys.js';
import type { SessionRedisClient } from './redis/scripts.js';
import { FORWARD_TTL_MS, MARKER_TTL_MS, markerHead, maskId } from './rotation-marker.js';

/** Where the steps run. */
export interface RotateTarget {
  writer: SessionRedisClient;
  keyPrefix: string;
  isCluster: boolean;
}

/** A rotation past its first step: the session's value and where it goes. */
export interface Rotation {
  oldId: string;
  newId: string;
  value: string;
  /** The session's TTL once moved (ms). */
  pxMs: number;
  indexKey: string;
  absoluteExpiresAt: number;
  now: number;
  maxSessions: number;
}

/** Step 1: the session's value, replaced by the rotation's marker; null when the key holds no session. */
export async function beginRotation(target: RotateTarget, oldId: string, newId: string, now: number): Promise<string | null> {
  const reply = await target.writer.nrsPeek(sessionKey(target.keyPrefix, oldId), markerHead(newId, now), MARKER_TTL_MS);
  return reply === null ? null : reply[0];
}

/** A rotation whose session could not be read: its marker goes, and the session with it (as a `GETDEL` did). */
export async function abandonRotation(target: RotateTarget, oldId: string): Promise<void> {
  await target.writer.del(sessionKey(target.keyPrefix, oldId));
}

/**
 * Steps 2-6. Resolves with the index members the index step returned past the cap (for
 * eviction), or null when an end won (the new key, its forward and its index entry are gone).
 */
export async function finishRotation(target: RotateTarget, r: Rotation): Promise<string[] | null> {
  const { writer, keyPrefix, isCluster } = target;
  const newKey = sessionKey(keyPrefix, r.newId);
  const forward = forwardKey(keyPrefix, r.oldId);
  const write = () => writer.set(newKey, r.value, 'PX', Math.min(MARKER_TTL_MS, r.pxMs), 'NX');
  const link = () => writer.set(forward, maskId(r.oldId, r.newId)!, 'PX', FORWARD_TTL_MS);
  const index = () => writer.nrsIndexAdd(r.indexKey, r.now, r.newId, r.absoluteExpiresAt, r.oldId, r.maxSessions);
  let written: string | null;
  let members: string[];
  if (isCluster) {
    written = await write();
    await link();
    members = await index();
  } else {
    [written, , members] = await Promise.all([write(), link(), index()]);
  }
  if (written !== 'OK') throw new Error('session id collision'); // 2^-132: a broken RNG
  const committed = (await writer.getdel(sessionKey(keyPrefix, r.oldId))) !== null;
  if (committed && (await writer.getex(newKey, 'PX', r.pxMs)) !== null) return members;
  if (!committed) {
    // Session keys first, the index entry last (as every end): never alive and unlisted.
    await Promise.all([writer.del(newKey), writer.del(forward)]);
    await writer.zrem(r.indexKey, r.newId);
  }
  return null;
}
