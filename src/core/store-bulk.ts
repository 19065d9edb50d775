/**
 * The store's steps over many sessions of one user (eviction past the cap, revokeAll),
 * bounded per step so a user with 50,000 sessions never queues 50,000 commands at once
 * ahead of other users' requests. Each step keeps the store's order: sessions are deleted
 * before their index entries, so a failure half-way leaves every session dead or still
 * listed, never alive and unlisted. Errors propagate; the store runs the steps under its
 * deadline and maps a failure to a 503.
 *
 * Redis commands sent from this file (on the writer connection): EXISTS and DEL of session
 * keys (a multi-key DEL only where all keys share a node), ZRANGE and ZREM of the user's index.
 */
import type { SessionRedisClient } from './redis/scripts.js';
import { sessionKey } from './keys.js';

/** Ids per step of `revokeAll` (and of the liveness check when evicting past the cap). */
const REVOKE_CHUNK = 1000;

/** Where the steps run: the writer connection, the key prefix, and whether keys may live on several nodes. */
export interface BulkTarget {
  writer: SessionRedisClient;
  keyPrefix: string;
  isCluster: boolean;
}

/**
 * After a login listed `newId`, revokes the oldest live sessions past `maxSessions` and
 * unlists the dead ones. `members` is what the index script returned: `[id, score, ...]`,
 * oldest first. Returns the ids evicted.
 */
export async function evictOldest(
  target: BulkTarget,
  indexKey: string,
  newId: string,
  members: string[],
  maxSessions: number,
): Promise<string[]> {
  const { writer, keyPrefix } = target;
  const others: string[] = [];
  for (let i = 0; i < members.length; i += 2) if (members[i] !== newId) others.push(members[i]);
  // A chunk at a time: an index far past the cap (the cap lowered, or a user who piled up
  // sessions while there was none) must not queue one EXISTS per member at once.
  const alive: number[] = [];
  for (let i = 0; i < others.length; i += REVOKE_CHUNK) {
    const chunk = others.slice(i, i + REVOKE_CHUNK);
    for (const exists of await Promise.all(chunk.map((other) => writer.exists(sessionKey(keyPrefix, other))))) alive.push(exists);
  }
  const live = others.filter((_, i) => alive[i] === 1);
  const dead = others.filter((_, i) => alive[i] !== 1);
  // Members come oldest first; the new session always stays.
  const excess = Math.max(0, live.length + 1 - maxSessions);
  const evicted = live.slice(0, excess);
  // Sessions first, index after: if Redis fails half-way, an evicted session is either
  // dead or still listed, never alive and unlisted.
  const stale = [...dead, ...evicted];
  const evict = new Set(evicted);
  for (let i = 0; i < stale.length; i += REVOKE_CHUNK) {
    const chunk = stale.slice(i, i + REVOKE_CHUNK);
    await Promise.all(chunk.filter((id) => evict.has(id)).map((other) => writer.del(sessionKey(keyPrefix, other))));
    await writer.zrem(indexKey, ...chunk);
  }
  return evicted;
}

/**
 * Revokes every session of an index but `exceptId`, `REVOKE_CHUNK` ids at a time, oldest
 * first: read the ids, delete their sessions, then take exactly those ids out of the index.
 * Only ids with a deadline no later than the newest one indexed when it began are taken: a
 * login that ends after it began is left alone and stays listed (its key was written before
 * its index entry). Returns the ids taken out of the index and how many were live sessions.
 */
export async function revokeIndexed(
  target: BulkTarget,
  indexKey: string,
  exceptId: string,
): Promise<{ ids: string[]; deleted: number }> {
  const { writer } = target;
  // [id, score] flat (RESP2) or [[id, score]] (RESP3): flattened either way.
  const newest = ((await writer.zrange(indexKey, 0, '0', 'REV', 'WITHSCORES')) as unknown[]).flat();
  const ids: string[] = [];
  let deleted = 0;
  if (newest.length < 2) return { ids, deleted };
  const upTo = String(newest[1]);
  for (;;) {
    // Each pass takes the oldest ids left (the ones before were just removed); `except` is
    // the only one that stays, so one more than a chunk is read.
    const batch = await writer.zrange(indexKey, '-inf', upTo, 'BYSCORE', 'LIMIT', 0, REVOKE_CHUNK + 1);
    const chunk = batch.filter((id) => id !== exceptId).slice(0, REVOKE_CHUNK);
    if (chunk.length === 0) break;
    deleted += await deleteSessions(target, chunk);
    await writer.zrem(indexKey, ...chunk);
    for (const id of chunk) ids.push(id);
  }
  return { ids, deleted };
}

/**
 * Deletes many session keys; returns how many existed. One DEL per 500 keys where all
 * keys share a node (10,000 single-key DELs cost ~100 ms of client CPU); one DEL per
 * key on a Cluster, where a multi-key DEL must stay within one hash slot.
 */
async function deleteSessions({ writer, keyPrefix, isCluster }: BulkTarget, ids: string[]): Promise<number> {
  const keys = ids.map((id) => sessionKey(keyPrefix, id));
  const batches: Promise<number>[] = [];
  if (isCluster) {
    for (const key of keys) batches.push(writer.del(key));
  } else {
    for (let i = 0; i < keys.length; i += 500) batches.push(writer.del(...keys.slice(i, i + 500)));
  }
  const deleted = await Promise.all(batches);
  return deleted.reduce((sum, n) => sum + n, 0);
}
