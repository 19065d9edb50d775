/**
 * `nestjs-redis-session stats`: counts the keys under the prefix by the rows of core/keys.ts's
 * KEY_LAYOUT (SCAN, never KEYS), their TTLs and their memory.
 *
 * Redis commands sent from this file: SCAN (MATCH the prefix), PTTL and MEMORY USAGE (pipelined
 * per batch of keys), INFO memory and INFO server.
 */
import type { Redis } from 'ioredis';
import { KEY_LAYOUT, kindOfKey, type KeyKind } from '../core/keys.js';
import { Exit } from './args.js';
import type { CommandContext, CommandOutput } from './context.js';
import { bytes, safeJson, safeText } from './format.js';

/** What `stats` reports. Field names are part of the `--json` output. */
export interface Stats {
  prefix: string;
  /** Session keys: `<prefix><22-character id>`. */
  sessions: number;
  /** User index keys (`<prefix>user:<userId>`): users with at least one indexed session. */
  users: number;
  /** Login throttle counters (`<prefix>throttle:ip:…`, `<prefix>throttle:user:…`). */
  throttleCounters: number;
  /** Other keys under the prefix (none of `KEY_LAYOUT`'s shapes): another app sharing the prefix, or hand-made keys. */
  otherKeys: number;
  /** Keys without a TTL (`PTTL` -1), by kind. Every key the module writes has one: all should be 0. */
  withoutTtl: { sessions: number; users: number; throttleCounters: number; otherKeys: number };
  /** Keys of each row of the key layout (`KEY_LAYOUT` of core/keys.ts). */
  layout: Array<{ kind: KeyKind['kind']; pattern: string; type: KeyKind['type']; keys: number }>;
  memory: {
    /** `MEMORY USAGE` averaged over up to `SAMPLE` keys of each kind (null if not allowed or none). */
    sessionBytesAvg: number | null;
    userIndexBytesAvg: number | null;
    sampledSessions: number;
    sampledUsers: number;
    /** sessionBytesAvg × sessions + userIndexBytesAvg × users. */
    estimatedBytes: number | null;
    /** From `INFO memory`: the whole server, not only this prefix. */
    usedMemoryBytes: number | null;
    maxmemoryBytes: number | null;
    maxmemoryPolicy: string | null;
  };
  redisVersion: string | null;
}

/** The `Stats` count each row of the key layout adds to. */
const STATS_FIELD: Record<KeyKind['kind'], 'sessions' | 'users' | 'throttleCounters'> = {
  session: 'sessions',
  'user-index': 'users',
  'throttle-ip': 'throttleCounters',
  'throttle-user': 'throttleCounters',
};

const SAMPLE = 50;
const SCAN_COUNT = 1000;

const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

async function collectStats(ctx: CommandContext): Promise<Stats> {
  const { client, store } = ctx;
  const sessionPrefix = store.sessionKey('');
  const counts = { sessions: 0, users: 0, throttleCounters: 0, otherKeys: 0 };
  const withoutTtl = { sessions: 0, users: 0, throttleCounters: 0, otherKeys: 0 };
  const byKind = new Map<KeyKind['kind'], number>(KEY_LAYOUT.map((row) => [row.kind, 0]));
  const samples = { sessions: [] as string[], users: [] as string[] };
  // SCAN may return a key twice (while Redis resizes its table): count each once.
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${escapeGlob(sessionPrefix)}*`, 'COUNT', SCAN_COUNT);
    cursor = next;
    const keys = [...new Set(batch)].filter((key) => !seen.has(key));
    if (keys.length === 0) continue;
    const pttls = await client.pipeline(keys.map((key) => ['pttl', key])).exec();
    keys.forEach((key, i) => {
      seen.add(key);
      const [err, pttl] = pttls?.[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      if (pttl === -2) return; // expired since SCAN saw it
      const layoutKind = kindOfKey(ctx.prefix, key);
      if (layoutKind !== null) byKind.set(layoutKind, (byKind.get(layoutKind) ?? 0) + 1);
      const kind = layoutKind === null ? 'otherKeys' : STATS_FIELD[layoutKind];
      counts[kind]++;
      if (pttl === -1) withoutTtl[kind]++;
      if ((kind === 'sessions' || kind === 'users') && samples[kind].length < SAMPLE) samples[kind].push(key);
    });
  } while (cursor !== '0');

  const [sessionBytesAvg, userIndexBytesAvg] = await Promise.all([
    averageUsage(client, samples.sessions),
    averageUsage(client, samples.users),
  ]);
  const [memoryInfo, serverInfo] = await Promise.all([client.info('memory'), client.info('server')]);
  const field = (info: string, name: string) => new RegExp(`^${name}:(.*?)\\r?$`, 'm').exec(info)?.[1] ?? null;
  const numberField = (info: string, name: string) => {
    const value = field(info, name);
    return value === null || !/^\d+$/.test(value) ? null : Number(value);
  };
  const estimatedBytes =
    (counts.sessions > 0 && sessionBytesAvg === null) || (counts.users > 0 && userIndexBytesAvg === null)
      ? null
      : Math.round((sessionBytesAvg ?? 0) * counts.sessions + (userIndexBytesAvg ?? 0) * counts.users);
  return {
    prefix: ctx.prefix,
    ...counts,
    withoutTtl,
    layout: KEY_LAYOUT.map(({ kind, pattern, type }) => ({ kind, pattern, type, keys: byKind.get(kind) ?? 0 })),
    memory: {
      sessionBytesAvg,
      userIndexBytesAvg,
      sampledSessions: samples.sessions.length,
      sampledUsers: samples.users.length,
      estimatedBytes,
      usedMemoryBytes: numberField(memoryInfo, 'used_memory'),
      maxmemoryBytes: numberField(memoryInfo, 'maxmemory'),
      maxmemoryPolicy: field(memoryInfo, 'maxmemory_policy'),
    },
    redisVersion: field(serverInfo, 'redis_version'),
  };
}

/** Mean `MEMORY USAGE` of the keys, or null (none, or the command is not allowed, e.g. renamed on a managed Redis). */
async function averageUsage(client: Redis, keys: string[]): Promise<number | null> {
  if (keys.length === 0) return null;
  const replies = await client.pipeline(keys.map((key) => ['memory', 'USAGE', key])).exec();
  const sizes = (replies ?? []).flatMap(([err, size]) => (!err && typeof size === 'number' ? [size] : []));
  return sizes.length === 0 ? null : Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length);
}

export async function stats(ctx: CommandContext): Promise<CommandOutput> {
  const s = await collectStats(ctx);
  if (ctx.json) return { exitCode: Exit.Ok, stdout: safeJson(s), stderr: '' };
  const m = s.memory;
  const noTtl = s.withoutTtl.sessions + s.withoutTtl.users + s.withoutTtl.throttleCounters + s.withoutTtl.otherKeys;
  const lines: Array<[string, string]> = [
    ['Key prefix', safeText(s.prefix)],
    ['Sessions', `${s.sessions}`],
    ['Users', `${s.users} (user index keys)`],
    ['Throttle counters', `${s.throttleCounters} (failed logins per IP and per username)`],
    [
      'Other keys',
      `${s.otherKeys}${s.otherKeys > 0 ? " (under the prefix but not the module's: another app sharing the prefix?)" : ''}`,
    ],
    [
      'Without TTL',
      `${noTtl} (sessions ${s.withoutTtl.sessions}, user indexes ${s.withoutTtl.users}, ` +
        `throttle counters ${s.withoutTtl.throttleCounters}, other ${s.withoutTtl.otherKeys})` +
        (noTtl > 0 ? ': should be 0, the module gives every key a TTL; check what wrote these' : ': ok'),
    ],
    [
      'Memory',
      m.estimatedBytes === null
        ? 'unknown (MEMORY USAGE not available)'
        : `~${bytes(m.estimatedBytes)} for these keys` +
          (m.sessionBytesAvg !== null ? `; ${m.sessionBytesAvg} B per session (${m.sampledSessions} sampled)` : '') +
          (m.userIndexBytesAvg !== null ? `, ${m.userIndexBytesAvg} B per user index (${m.sampledUsers} sampled)` : ''),
    ],
    [
      'Redis',
      `${s.redisVersion ?? 'version unknown'}, used_memory ${bytes(m.usedMemoryBytes)}, maxmemory ${
        m.maxmemoryBytes === 0 ? 'unlimited' : bytes(m.maxmemoryBytes)
      }, policy ${safeText(m.maxmemoryPolicy)}` +
        (m.maxmemoryPolicy !== null && m.maxmemoryPolicy !== 'noeviction'
          ? ' (noeviction is advised on a Redis dedicated to sessions: see docs/operations.md, "Persistence and memory")'
          : ''),
    ],
  ];
  const width = Math.max(...lines.map(([label]) => label.length));
  const patternWidth = Math.max(...s.layout.map((row) => row.pattern.length));
  const layout = s.layout.map((row) => `  ${row.pattern.padEnd(patternWidth)}  ${row.type.padEnd(6)}  ${row.keys}`);
  const stdout =
    lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n') +
    `\n\nKey layout (<prefix> = ${safeText(s.prefix)}):\n${layout.join('\n')}\n`;
  return { exitCode: Exit.Ok, stdout, stderr: '' };
}
