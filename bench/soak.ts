/**
 * `npm run soak` (3 minutes; `-- --duration <s>`; `-- --quick` for 15 s, which CI runs).
 *
 * Starts its own redis-server (never 6379), the app in one process (bench/soak-server.ts)
 * and the load generator in another (bench/soak-load.ts: many concurrent loops of logins,
 * guarded requests, lists, logouts, revocations and logout-all, every answer checked).
 * Every few seconds it samples throughput, answers by status, latency, the app's
 * event-loop delay, RSS and heap (after a forced GC), Redis `used_memory`, and every key
 * under the prefix with its TTL. At the end it prints the samples, writes
 * bench/results/soak-latest.json, and exits non-zero unless:
 *   - no answer was a 5xx, and none differed from what the load generator expected;
 *   - no key ever lacked a TTL;
 *   - the session keys in Redis are exactly the sessions the load generator holds (once
 *     its last requests are answered; within the requests in flight at each sample), and
 *     so are the per-user indexes;
 *   - heap and RSS are flat after warm-up (the first half), and Redis memory follows the
 *     number of live sessions.
 * Options: --duration <s>, --interval <s>, --connections <n> (concurrent loops), --users <n>.
 */
import 'reflect-metadata';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { spawnRedisServer, trackChild } from '../test/support/servers/redis-server.js';
import type { LoadFinal, LoadSample, LoadSpec } from './soak-load.js';
import type { SoakAppSample } from './soak-server.js';
import { announcedPort } from './processes.js';
import { redisVersion, usedMemory } from './redis-stats.js';

const PREFIX = 'session:';
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

const quick = process.argv.includes('--quick');
const settings = {
  durationSeconds: option('duration', quick ? 15 : 180),
  intervalSeconds: option('interval', quick ? 1.5 : 5),
  connections: option('connections', 256),
  users: option('users', 4000),
};

/**
 * How much the heap (after a forced GC), RSS and off-heap memory (`external`: Buffers and
 * the like) may grow over the steady half, fitted as a robust straight line (Theil–Sen:
 * the median of the slopes between every two samples, so a few spikes do not tilt it).
 * Full run: 4 MiB of heap over 90 s of ~3,000 requests/s (~270,000 requests) is ~15 bytes
 * per request, while anything kept per request or per session would be far more (a
 * session object alone is ~1 KB). RSS swings by ±40 MiB from one sample to the next
 * under this load (the young generation and the allocator's free lists), so it gets
 * 32 MiB (15%): still ~120 bytes per request, and native memory is also watched through
 * `external`. The quick run's steady half lasts 7.5 s right after start-up (JIT, pools
 * still growing): it checks the wiring, with wider margins.
 */
const tolerance = quick
  ? {
      heapBytes: 12 * 2 ** 20,
      heapShare: 0.25,
      rssBytes: 64 * 2 ** 20,
      rssShare: 0.4,
      externalBytes: 8 * 2 ** 20,
      externalShare: 0.25,
    }
  : {
      heapBytes: 4 * 2 ** 20,
      heapShare: 0.05,
      rssBytes: 32 * 2 ** 20,
      rssShare: 0.15,
      externalBytes: 4 * 2 ** 20,
      externalShare: 0.1,
    };
/** Redis bytes per live session (its key, its share of the index, allocator overhead): README measures ~346 + index. */
const REDIS_BYTES_PER_SESSION = { min: 250, max: 900 };

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RedisSample {
  usedMemory: number;
  sessionKeys: number;
  indexKeys: number;
  indexMembers: number;
  throttleKeys: number;
  otherKeys: number;
  keysWithoutTtl: string[];
}

interface Sample {
  t: number;
  rps: number;
  requests: number;
  /** Answers in this interval by status. */
  statuses: Record<string, number>;
  latency: LoadSample['latency'];
  unexpected: number;
  live: number;
  inFlight: number;
  lag: SoakAppSample['lag'];
  rss: number;
  heapUsed: number;
  external: number;
  redis: RedisSample;
}

async function main(): Promise<void> {
  const redis = await spawnRedisServer();
  const admin = new Redis(redis.url);
  let app: ChildProcess | undefined;
  let load: ChildProcess | undefined;
  try {
    log(
      `soak: ${quick ? 'quick' : 'full'} run, ${settings.durationSeconds} s, ${settings.connections} concurrent loops over ${settings.users} users; redis-server ${await redisVersion(admin)} on ${redis.url}`,
    );
    const started = await startApp(redis.url);
    app = started.child;
    const base = `http://127.0.0.1:${started.port}`;
    await appSample(base); // connected, GC'd: the baseline is the idle app
    const baselineRedis = await usedMemory(admin);

    const spec: LoadSpec = { base, workers: settings.connections, users: settings.users, userAgent: USER_AGENT };
    load = fork(here('./soak-load.js'), [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    trackChild(load);
    const startedAt = Date.now();
    const samples: Sample[] = [];
    let previous: { at: number; counts: LoadSample['counts']; requests: number } = { at: startedAt, counts: {}, requests: 0 };
    const take = async (): Promise<Sample> => {
      const [loadSample, appStats, redisStats] = await Promise.all([
        ask<LoadSample>(load!, 'sample'),
        appSample(base),
        redisSample(admin),
      ]);
      const at = Date.now();
      const sample: Sample = {
        t: Math.round((at - startedAt) / 100) / 10,
        rps: (loadSample.requests - previous.requests) / ((at - previous.at) / 1000),
        requests: loadSample.requests,
        statuses: statusDelta(previous.counts, loadSample.counts),
        latency: loadSample.latency,
        unexpected: loadSample.unexpected,
        live: loadSample.live,
        inFlight: loadSample.inFlight,
        lag: appStats.lag,
        rss: appStats.memory.rss,
        heapUsed: appStats.memory.heapUsed,
        external: appStats.memory.external,
        redis: redisStats,
      };
      previous = { at, counts: structuredClone(loadSample.counts), requests: loadSample.requests };
      log(`soak: ${row(sample)}`);
      return sample;
    };
    for (
      let next = startedAt + settings.intervalSeconds * 1000;
      next <= startedAt + settings.durationSeconds * 1000 + 1;
      next += settings.intervalSeconds * 1000
    ) {
      await sleep(next - Date.now());
      samples.push(await take());
    }

    // Stop the load; once every loop has its last answer, Redis must hold exactly what the loops believe.
    const final = await ask<LoadFinal>(load, 'stop', 'final');
    await sleep(200);
    const after = await redisSample(admin);
    const afterApp = await appSample(base);
    const storedSessions = await sessionIds(admin);
    const storedIndexes = await indexMembers(admin);

    const analysis = analyse(samples, final, after, storedSessions, storedIndexes, baselineRedis);
    const results = {
      date: new Date().toISOString(),
      mode: quick ? 'quick' : 'full',
      machine: {
        cpus: availableParallelism(),
        cpuModel: cpus()[0]?.model ?? 'unknown',
        node: process.version,
        redis: await redisVersion(admin),
      },
      settings: {
        ...settings,
        loadGenerator:
          'bench/soak-load.ts in its own process: concurrent loops over node:http keep-alive, each loop owning its users',
        mix: '80% GET /me, 3% list, 1% current session, 6% login, 4% logout, 2% revoke, 0.5% logout-all, 1.5% ended session, 2% bad token',
        logins: 'POST /auth/login with a plain-password check (no argon2), login throttling on (one client IP per loop)',
        tolerance,
        redisBytesPerSession: REDIS_BYTES_PER_SESSION,
      },
      baseline: { redisUsedMemory: baselineRedis },
      totals: { requests: final.requests, byOp: final.counts, unexpected: final.unexpected, examples: final.examples },
      final: { believedSessions: final.live, redis: after, app: afterApp },
      summary: analysis.summary,
      checks: analysis.checks,
      samples,
    };
    mkdirSync(here('../../bench/results'), { recursive: true });
    writeFileSync(here('../../bench/results/soak-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(report(samples, results.totals, analysis, after, final.live, afterApp));
    if (analysis.checks.some((check) => !check.ok)) process.exitCode = 1;
  } finally {
    load?.kill('SIGKILL');
    app?.kill('SIGTERM');
    admin.disconnect();
    await redis.stop();
  }
}

async function startApp(redisUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--expose-gc', here('./soak-server.js')], {
    env: { ...process.env, REDIS_URL: redisUrl, USERS: String(settings.users), NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  trackChild(child);
  const port = await announcedPort(child, 'soak server');
  return { child, port };
}

function ask<T>(child: ChildProcess, type: 'sample' | 'stop', answer: string = type): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string }) => {
      if (message.type !== answer) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as T);
    };
    const onExit = (code: number | null) => reject(new Error(`load generator exited (${code}) before answering '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ type });
  });
}

async function appSample(base: string): Promise<SoakAppSample> {
  const response = await fetch(`${base}/__soak`);
  return (await response.json()) as SoakAppSample;
}

/** Every key under the prefix, by kind, with its TTL (SCAN: the harness may; the module never does). */
async function scanKeys(admin: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 2000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

const isIndex = (key: string) => key.startsWith(`${PREFIX}user:`);
const isThrottle = (key: string) => key.startsWith(`${PREFIX}throttle:`);
const isSession = (key: string) => /^[A-Za-z0-9_-]{22}$/.test(key.slice(PREFIX.length));

async function redisSample(admin: Redis): Promise<RedisSample> {
  const [memory, keys] = await Promise.all([usedMemory(admin), scanKeys(admin)]);
  const pipeline = admin.pipeline();
  for (const key of keys) pipeline.pttl(key);
  const indexKeys = keys.filter(isIndex);
  for (const key of indexKeys) pipeline.zcard(key);
  const replies = ((await pipeline.exec()) ?? []).map(([, value]) => Number(value));
  const pttls = replies.slice(0, keys.length);
  return {
    usedMemory: memory,
    sessionKeys: keys.filter(isSession).length,
    indexKeys: indexKeys.length,
    indexMembers: replies.slice(keys.length).reduce((sum, n) => sum + n, 0),
    throttleKeys: keys.filter(isThrottle).length,
    otherKeys: keys.filter((key) => !isIndex(key) && !isThrottle(key) && !isSession(key)).length,
    // -1: no TTL. (-2: expired between SCAN and PTTL, fine.)
    keysWithoutTtl: keys.filter((_, i) => pttls[i] === -1),
  };
}

async function sessionIds(admin: Redis): Promise<Set<string>> {
  return new Set((await scanKeys(admin)).filter(isSession).map((key) => key.slice(PREFIX.length)));
}

async function indexMembers(admin: Redis): Promise<Map<string, string[]>> {
  const keys = (await scanKeys(admin)).filter(isIndex);
  const pipeline = admin.pipeline();
  for (const key of keys) pipeline.zrange(key, 0, '-1');
  const replies = (await pipeline.exec()) ?? [];
  return new Map(keys.map((key, i) => [key.slice(`${PREFIX}user:`.length), replies[i][1] as string[]]));
}

function statusDelta(before: LoadSample['counts'], now: LoadSample['counts']): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [op, byStatus] of Object.entries(now)) {
    for (const [status, n] of Object.entries(byStatus)) {
      const d = n - (before[op]?.[status] ?? 0);
      if (d > 0) delta[status] = (delta[status] ?? 0) + d;
    }
  }
  return delta;
}

/** Theil–Sen slope of y over x: the median of the slopes between every two points. */
function slope(xs: number[], ys: number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) if (xs[j] !== xs[i]) slopes.push((ys[j] - ys[i]) / (xs[j] - xs[i]));
  }
  if (slopes.length === 0) return 0;
  slopes.sort((a, b) => a - b);
  const mid = Math.floor(slopes.length / 2);
  return slopes.length % 2 ? slopes[mid] : (slopes[mid - 1] + slopes[mid]) / 2;
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

function analyse(
  samples: Sample[],
  final: LoadFinal,
  after: RedisSample,
  stored: Set<string>,
  indexes: Map<string, string[]>,
  baselineRedis: number,
) {
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

  // Answers.
  const byStatus: Record<string, number> = {};
  for (const ops of Object.values(final.counts))
    for (const [status, n] of Object.entries(ops)) byStatus[status] = (byStatus[status] ?? 0) + n;
  const fiveXx = Object.entries(byStatus).filter(([status]) => !/^\d+$/.test(status) || Number(status) >= 500);
  check(
    'no 5xx (nor a request without an answer)',
    fiveXx.length === 0,
    fiveXx.length === 0
      ? `${final.requests} answers: ${JSON.stringify(byStatus)}`
      : `got ${JSON.stringify(Object.fromEntries(fiveXx))}${byStatus['503'] ? ' (503: Redis did not answer within the 500 ms command timeout, on a healthy Redis)' : ''}`,
  );
  check(
    'every answer as expected (no 401 for a held session, lists exact, ended sessions stay dead)',
    final.unexpected === 0,
    final.unexpected === 0
      ? `${final.requests} answers checked`
      : `${final.unexpected} unexpected, e.g. ${final.examples.slice(0, 5).join(' | ')}`,
  );

  // TTLs.
  const noTtl = [...samples.flatMap((s) => s.redis.keysWithoutTtl), ...after.keysWithoutTtl];
  check(
    'every key has a TTL (SCAN + PTTL at every sample and at the end)',
    noTtl.length === 0,
    noTtl.length === 0 ? `${samples.length + 1} scans` : `without TTL: ${[...new Set(noTtl)].slice(0, 10).join(', ')}`,
  );

  // Keys against the load generator's belief.
  const believed = new Set(Object.values(final.sessions).flat());
  const missing = [...believed].filter((id) => !stored.has(id));
  const extra = [...stored].filter((id) => !believed.has(id));
  check(
    'session keys = sessions the load generator holds (after the last answer)',
    missing.length === 0 && extra.length === 0,
    `${stored.size} keys, ${believed.size} believed; missing ${missing.length}${missing.length ? ` (${missing.slice(0, 3).join(', ')})` : ''}, extra ${extra.length}${extra.length ? ` (${extra.slice(0, 3).join(', ')})` : ''}`,
  );
  const indexDiffs: string[] = [];
  for (const userId of new Set([...indexes.keys(), ...Object.keys(final.sessions)])) {
    const a = [...(indexes.get(userId) ?? [])].sort().join();
    const b = [...(final.sessions[userId] ?? [])].sort().join();
    if (a !== b) indexDiffs.push(`user ${userId}: index [${a}] vs held [${b}]`);
  }
  check(
    "each user index = that user's sessions",
    indexDiffs.length === 0,
    indexDiffs.length === 0 ? `${indexes.size} indexes, ${after.indexMembers} members` : indexDiffs.slice(0, 3).join(' | '),
  );
  // During the run the scan and the load generator's count are taken at slightly different
  // moments; the gap is bounded by the requests in flight plus the churn of a scan's length.
  const drift = samples.map((s) => Math.abs(s.redis.sessionKeys - s.live));
  const maxDrift = Math.max(...drift);
  check(
    'during the run, session keys ≈ sessions held (within 2 × concurrent loops)',
    maxDrift <= 2 * settings.connections,
    `largest gap ${maxDrift} (allowed ${2 * settings.connections})`,
  );

  // Memory.
  const steady = samples.filter((s) => s.t >= settings.durationSeconds / 2);
  const span = steady.length > 1 ? steady[steady.length - 1].t - steady[0].t : 0;
  const ts = steady.map((s) => s.t);
  const trend = (values: number[]) => slope(ts, values) * span;
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const heapGrowth = trend(steady.map((s) => s.heapUsed));
  const heapAllowed = Math.max(tolerance.heapBytes, tolerance.heapShare * mean(steady.map((s) => s.heapUsed)));
  check(
    'heap (after GC) flat after warm-up',
    steady.length >= 3 && heapGrowth <= heapAllowed,
    `${mib(heapGrowth)} trend over the last ${span.toFixed(0)} s (allowed ${mib(heapAllowed)}); ${mib(Math.min(...steady.map((s) => s.heapUsed)))}–${mib(Math.max(...steady.map((s) => s.heapUsed)))}`,
  );
  const rssGrowth = trend(steady.map((s) => s.rss));
  const rssAllowed = Math.max(tolerance.rssBytes, tolerance.rssShare * mean(steady.map((s) => s.rss)));
  check(
    'RSS flat after warm-up',
    steady.length >= 3 && rssGrowth <= rssAllowed,
    `${mib(rssGrowth)} trend over the last ${span.toFixed(0)} s (allowed ${mib(rssAllowed)}); ${mib(Math.min(...steady.map((s) => s.rss)))}–${mib(Math.max(...steady.map((s) => s.rss)))}`,
  );
  const externalGrowth = trend(steady.map((s) => s.external));
  const externalAllowed = Math.max(tolerance.externalBytes, tolerance.externalShare * mean(steady.map((s) => s.external)));
  check(
    'off-heap memory (external) flat after warm-up',
    steady.length >= 3 && externalGrowth <= externalAllowed,
    `${mib(externalGrowth)} trend over the last ${span.toFixed(0)} s (allowed ${mib(externalAllowed)}); ${mib(Math.min(...steady.map((s) => s.external)))}–${mib(Math.max(...steady.map((s) => s.external)))}`,
  );
  const perSession = steady.map((s) => (s.redis.usedMemory - baselineRedis) / Math.max(1, s.redis.sessionKeys));
  const finalPerSession = (after.usedMemory - baselineRedis) / Math.max(1, after.sessionKeys);
  const inBand = (v: number) => v >= REDIS_BYTES_PER_SESSION.min && v <= REDIS_BYTES_PER_SESSION.max;
  check(
    'Redis memory follows the live sessions',
    perSession.every(inBand) && inBand(finalPerSession),
    `(used_memory − idle baseline) / session keys: ${Math.round(Math.min(...perSession))}–${Math.round(Math.max(...perSession))} B during the steady half, ${Math.round(finalPerSession)} B at the end (allowed ${REDIS_BYTES_PER_SESSION.min}–${REDIS_BYTES_PER_SESSION.max})`,
  );

  const summary = {
    requests: final.requests,
    seconds: settings.durationSeconds,
    meanRps: final.requests / settings.durationSeconds,
    steadyRps: mean(steady.map((s) => s.rps)),
    byStatus,
    heapGrowthBytes: heapGrowth,
    rssGrowthBytes: rssGrowth,
    externalGrowthBytes: externalGrowth,
    steadySeconds: span,
    redisBytesPerSession: { min: Math.min(...perSession), max: Math.max(...perSession), final: finalPerSession },
    lagP99MaxMs: Math.max(...samples.map((s) => s.lag.p99)),
    lagMaxMs: Math.max(...samples.map((s) => s.lag.max)),
  };
  return { checks, summary };
}

const MiB = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function statusText(statuses: Record<string, number>): string {
  return Object.entries(statuses)
    .map(([status, n]) => `${status}:${n}`)
    .join(' ');
}

function row(s: Sample): string {
  const other = Object.entries(s.statuses).filter(([status]) => !['200', '204', '401'].includes(status));
  return [
    `${s.t.toFixed(1).padStart(6)}`,
    `${s.rps.toFixed(0).padStart(6)}`,
    `${String(s.latency.p50).padStart(6)}`,
    `${String(s.latency.p99).padStart(6)}`,
    `${String(s.statuses['401'] ?? 0).padStart(5)}`,
    `${(other.length ? other.map(([st, n]) => `${st}:${n}`).join(',') : '0').padStart(6)}`,
    `${String(s.unexpected).padStart(4)}`,
    `${`${s.lag.p99.toFixed(0)}/${s.lag.max.toFixed(0)}`.padStart(8)}`,
    `${MiB(s.rss).padStart(6)}`,
    `${MiB(s.heapUsed).padStart(5)}`,
    `${MiB(s.redis.usedMemory).padStart(6)}`,
    `${`${s.redis.sessionKeys}/${s.live}`.padStart(11)}`,
    `${String(s.redis.indexKeys).padStart(6)}`,
    `${String(s.redis.throttleKeys).padStart(5)}`,
    `${String(s.redis.keysWithoutTtl.length).padStart(4)}`,
  ].join(' |');
}

const HEADER = [
  '   t s',
  ' req/s',
  'p50 ms',
  'p99 ms',
  '  401',
  ' other',
  'unex',
  ' lag p99/max',
  '   RSS',
  ' heap',
  'Redis',
  'keys/held',
  'index',
  'thrtl',
  'noTTL',
];

function report(
  samples: Sample[],
  totals: { requests: number; byOp: LoadSample['counts'] },
  analysis: ReturnType<typeof analyse>,
  after: RedisSample,
  believed: number,
  app: SoakAppSample,
): string {
  const s = analysis.summary;
  return [
    '',
    `nestjs-redis-session soak (${quick ? 'quick' : 'full'}): ${settings.durationSeconds} s, ${settings.connections} concurrent loops, ${settings.users} users; ${availableParallelism()} CPUs shared by the load generator, the app and Redis`,
    '',
    '(401: expected ones, for ended sessions and bad tokens; other: any other status but 200/204; unex: unexpected answers so far;',
    ' lag: event-loop delay in the app, ms; RSS, heap (after GC), Redis used_memory: MiB; keys/held: session keys in Redis / sessions the load generator holds)',
    '',
    HEADER.join(' |'),
    ...samples.map(row),
    '',
    `answers: ${totals.requests} (${s.meanRps.toFixed(0)}/s over the run, ${s.steadyRps.toFixed(0)}/s in the steady half): ${statusText(s.byStatus)}`,
    `by operation: ${Object.entries(totals.byOp)
      .map(([op, byStatus]) => `${op} ${statusText(byStatus)}`)
      .join('; ')}`,
    `after the load: ${after.sessionKeys} session keys for ${believed} held sessions, ${after.indexKeys} user indexes (${after.indexMembers} members), ${after.throttleKeys} throttle keys; app RSS ${MiB(app.memory.rss)} MiB, heap ${MiB(app.memory.heapUsed)} MiB`,
    `event-loop delay: p99 at most ${s.lagP99MaxMs.toFixed(1)} ms in a sample, max ${s.lagMaxMs.toFixed(1)} ms`,
    '',
    ...analysis.checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`),
    '',
  ].join('\n');
}

await main();
