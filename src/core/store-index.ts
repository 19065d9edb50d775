/**
 * The store's reads for listing a user's sessions: one page of the user's index (newest
 * first, pruned of the ids past their absolute deadline), then the sessions that page lists.
 * Both run on the module's main connection (reads, no WAIT). Errors propagate; the store runs
 * each under its deadline and maps a failure to a 503 (`SessionStore#run`).
 *
 * Redis commands sent from this file: the nrsIndexPage script (redis/lua/index-page-1.lua:
 * ZREMRANGEBYSCORE, ZRANGE), GET and PTTL of each listed session (and of the new key of one
 * that is rotating: store-follow.ts follows it), ZREM of the listed ids whose session is gone
 * (its key missing: never one whose value this version cannot read).
 * Every command names one key, so each runs on a Cluster.
 */
import { sessionKey } from './keys.js';
import type { IndexPosition } from './page.js';
import type { SessionRedisClient } from './redis/scripts.js';
import { isSessionValue, parseMarker } from './rotation-marker.js';
import { follow, type FollowTarget, type Step } from './store-follow.js';

/** A stored session value with its remaining time to live. */
export interface StoredEntry {
  value: string;
  pttlMs: number;
}

/**
 * Up to `count` positions of the index after `after` (a position a previous page ended on,
 * whether or not that entry is still there), newest first: score descending, then id
 * descending. One script call, whatever the index holds.
 */
export async function readIndexPage(
  client: SessionRedisClient,
  indexKey: string,
  now: number,
  count: number,
  after: IndexPosition | null,
): Promise<IndexPosition[]> {
  const reply = await client.nrsIndexPage(indexKey, now, count, after?.score ?? '', after?.id ?? '');
  const page: IndexPosition[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) page.push({ id: reply[i], score: reply[i + 1] });
  return page;
}

/**
 * The sessions of `ids`, in the order of `ids`, each with the id it has now: a session that is
 * rotating, or rotated since the index was read, is followed to its new key (store-follow.ts),
 * so a list taken during a rotation shows it once, never missing. Null for each one not shown:
 * gone, or a key that lives with a value this version cannot read (docs/versioning.md, "Rolling
 * upgrades"). Only the ids of sessions gone are dropped from the index (`indexKey`) afterwards:
 * an id whose key lives stays listed, so that `revokeAll` still ends it.
 */
export async function readListed(
  target: FollowTarget,
  indexKey: string,
  ids: string[],
): Promise<Array<{ id: string; result: StoredEntry } | null>> {
  const { client, keyPrefix } = target;
  // `done: null`: the key lives, but holds nothing this version can show.
  const read = async (id: string): Promise<Step<StoredEntry | null>> => {
    const key = sessionKey(keyPrefix, id);
    const [value, pttlMs] = await Promise.all([client.get(key), client.pttl(key)]);
    // -2: it expired between the two reads; -1 (a key without a TTL, never written so) is kept.
    if (value === null || pttlMs === -2) return null;
    if (isSessionValue(value) && pttlMs >= 0) return { done: { value, pttlMs } };
    const marker = parseMarker(value);
    return marker ? { moving: marker.next } : { done: null };
  };
  const entries = await Promise.all(ids.map((id) => follow(target, id, read, true)));
  const gone = ids.filter((_, i) => entries[i] === null);
  if (gone.length > 0) await client.zrem(indexKey, ...gone);
  return entries.map((entry) => (entry?.result ? { id: entry.id, result: entry.result } : null));
}
