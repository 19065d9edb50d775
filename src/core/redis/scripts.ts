/**
 * The Lua scripts, registered on a client with `defineCommand` (sent as EVALSHA, with EVAL
 * after a NOSCRIPT). One file per command in `lua/`, named `<command>-<number of keys>.lua`
 * (bullmq's convention): `index-add-1.lua` becomes `nrsIndexAdd` with one key. Every script
 * touches one key only, so each runs on a Cluster.
 *
 * This file sends nothing; each signature below names the Redis commands its script calls
 * (an ACL rule must allow them: ACL checks the commands inside Lua too).
 *
 * `nrs` (nestjs-redis-session) prefixes the command names because `defineCommand` adds a
 * method to the client object: on a client the app owns and passes in, an unprefixed name
 * such as `indexAdd` could replace one of the app's own commands, or be replaced by it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import type { UpdateReply } from '../session-patch.js';

interface SessionScripts {
  /**
   * Lists a new session in its user's index, pruned, its TTL kept to its last member's; past
   * the cap, every member oldest first. ZREMRANGEBYSCORE, ZREM, ZADD, ZRANGE, PEXPIREAT, ZCARD.
   * See lua/index-add-1.lua.
   */
  nrsIndexAdd(
    indexKey: string,
    now: number,
    id: string,
    absoluteExpiresAt: number,
    removeId: string,
    maxSessions: number,
  ): Promise<string[]>;
  /**
   * Counts (or refunds) a login attempt: `[count, pttl]`. INCRBY, PEXPIRE, PTTL; a refund GET,
   * DECRBY, DEL. See lua/throttle-1.lua.
   */
  nrsThrottle(key: string, delta: number, windowMs: number): Promise<[number, number]>;
  /**
   * Prunes, then up to `count` members after (`afterScore`, `afterId`) newest first: `{id, score, ...}`.
   * ZREMRANGEBYSCORE, ZRANGE. See lua/index-page-1.lua.
   */
  nrsIndexPage(indexKey: string, now: number, count: number, afterScore: string, afterId: string): Promise<string[]>;
  /**
   * A session's value and PTTL without sliding it: `[value, pttl]`, or null when the key holds
   * no session (gone, or a rotation's marker). With `markerHead` (a rotation's first step), the
   * session is replaced by the marker (`markerTtlMs`) in the same step. GET, PTTL; SET for the
   * marker. See lua/peek-1.lua.
   */
  nrsPeek(key: string, markerHead?: string, markerTtlMs?: number): Promise<[string, number] | null>;
  /**
   * Changes a live session in place, `SessionOps` applied: `[value, pttl]`, null when gone,
   * `['', bytes]` past the cap, `['', -2, key, op]` for an op on a value of another kind,
   * `['', -3, newId]` when a rotation's marker holds the key (the session is moving to `newId`).
   * GET, PTTL, SET (KEEPTTL). See lua/update-1.lua.
   */
  nrsUpdate(key: string, username: string, role: string, maxDataBytes: number, ...data: string[]): Promise<UpdateReply | null>;
}

export type SessionRedisClient = (Redis | Cluster) & SessionScripts;

const LUA_DIR = new URL('./lua/', import.meta.url);
const FILE_NAME = /^([a-z]+(?:-[a-z]+)*)-(\d+)\.lua$/;

interface ScriptFile {
  command: string;
  numberOfKeys: number;
  lua: string;
}

/** Read from disk on first use, then shared by every client. */
let scripts: ScriptFile[] | undefined;

function loadScripts(): ScriptFile[] {
  scripts ??= readdirSync(LUA_DIR)
    .map((file) => FILE_NAME.exec(file))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([file, name, keys]) => ({
      command: `nrs${name.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}`,
      numberOfKeys: Number(keys),
      lua: readFileSync(new URL(file, LUA_DIR), 'utf8'),
    }));
  return scripts;
}

/** Registers every script of `lua/` on the client. */
export function defineScripts(client: Redis | Cluster): SessionRedisClient {
  for (const { command, numberOfKeys, lua } of loadScripts()) client.defineCommand(command, { numberOfKeys, lua });
  return client as SessionRedisClient;
}
