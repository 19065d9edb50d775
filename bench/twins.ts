/**
 * The twins: a guarded REST route, GraphQL query and socket.io message, each against its
 * unguarded twin, in app processes of their own (bench/twins-server.ts), with the session cache
 * off (`cache: false`: one Redis command per guarded call) and on (`cache: true`).
 *
 * Each mode has its own redis-server, so Redis's counters hold exactly one app's commands (the
 * cached app's tracking connection PINGs once a second). Every round starts a fresh app of each
 * mode (both at once; each idles until its turn), warms it, then runs the cache-off app's six
 * twins and then the cache-on app's, so neither mode has a process longer-lived than the other.
 * The cache-on app's warm-up first reads every session into its cache, and no slide falls due
 * within a round (the slide interval is a tenth of the 30 min ttl: 3 min; a round takes less than
 * two), so its figures are the cache's steady state between slides; what sliding adds is measured
 * on its own (bench/cache-steady.ts).
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { log, runLoad, runSocketLoad, serverSince, sleep, startServer, type StartedServer } from './processes.js';
import { commandStats, sentCalls } from './redis-stats.js';
import { USER_AGENT } from './seed.js';
import { checkTwins, summariseTwins, TWIN_KEYS, TWINS, type CacheMode, type TwinKey, type TwinRun } from './twins-summary.js';

export { TWIN_KEYS, TWINS, type CacheMode, type TwinKey };

export interface TwinSettings {
  quick: boolean;
  sessions: number;
  rounds: number;
  durationSeconds: number;
  connections: number;
}

/** An app of the twins, on the redis-server its mode has to itself. */
export interface TwinApp {
  mode: CacheMode;
  server: StartedServer;
  admin: Redis;
  cookieFile: string;
}

/** A Redis for each mode: its URL and an admin connection (INFO, CONFIG RESETSTAT, FLUSHALL). */
export type TwinRedis = Record<CacheMode, { url: string; admin: Redis }>;

export async function startTwinApp(
  redis: TwinRedis,
  mode: CacheMode,
  sessions: number,
  work: string,
  extra: Record<string, string> = {},
): Promise<TwinApp> {
  const cookieFile = join(work, `twins-${mode}-cookies.json`);
  const env = { REDIS_URL: redis[mode].url, SESSIONS: String(sessions), COOKIE_FILE: cookieFile, CACHE: mode, ...extra };
  return { mode, server: await startServer('./twins-server.js', env), admin: redis[mode].admin, cookieFile };
}

/**
 * One run of one twin against `app`: measured (round > 0: Redis's counters reset first and read
 * after) or a warm-up (round 0). Fails the bench on any failed operation.
 */
export async function runTwin(
  app: TwinApp,
  key: TwinKey,
  seconds: number,
  round: number,
  connections: number,
): Promise<TwinRun | undefined> {
  const measured = round > 0;
  const twin = TWINS[key];
  const base = app.server.base;
  if (measured) {
    await serverSince(base);
    await app.admin.config('RESETSTAT');
  }
  let result: { rps: number; p50: number; p99: number; ops: number; failed: number; cpuUs: number };
  if (twin.kind !== 'socket') {
    const rest = twin.kind === 'rest';
    const load = await runLoad({
      url: rest ? `${base}/${key === 'restMe' ? 'me' : 'open'}` : `${base}/graphql`,
      method: rest ? 'GET' : 'POST',
      body: rest ? undefined : JSON.stringify({ query: twin.query }),
      graphql: !rest,
      userAgent: USER_AGENT,
      cookieFile: app.cookieFile,
      cookieKey: 'b',
      durationSeconds: seconds,
      connections,
    });
    await sleep(200); // let requests in flight at the cut-off finish
    const server = await serverSince(base);
    result = {
      ...load,
      ops: measured ? server.handled : 0,
      failed: load.non2xx + load.errors + load.mismatches,
      cpuUs: server.cpuUs,
    };
  } else {
    // Counters and the CPU clock restart once the sockets are connected: the handshakes are not the messages' cost.
    const load = await runSocketLoad(
      { url: base, event: twin.event, cookieFile: app.cookieFile, durationSeconds: seconds, connections },
      measured
        ? () =>
            app.admin
              .config('RESETSTAT')
              .then(() => serverSince(base))
              .then(() => undefined)
        : () => Promise.resolve(),
    );
    result = { ...load, ops: load.acks, failed: load.errors, cpuUs: (await serverSince(base)).cpuUs };
  }
  if (result.failed > 0) throw new Error(`${key} (cache ${app.mode}): ${result.failed} failed operations`);
  if (!measured) return undefined;
  const stats = await commandStats(app.admin);
  log(
    `bench: twins round ${round} cache ${app.mode} ${key}: ${result.rps.toFixed(0)}/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${(sentCalls(stats.byCommand) / result.ops).toFixed(3)} cmds/op, app CPU ${(result.cpuUs / result.ops).toFixed(1)} µs/op`,
  );
  return {
    key,
    mode: app.mode,
    round,
    rps: result.rps,
    p50: result.p50,
    p99: result.p99,
    ops: result.ops,
    cpuUs: result.cpuUs,
    redisCalls: stats.calls,
    redisUsec: stats.usec,
    byCommand: stats.byCommand,
  };
}

/**
 * A fresh app's warm-up. The cache-on app's first: the guarded REST route, a few hundred
 * requests (the tracking connection opens with the first call, and the calls before it is
 * confirmed bypass the cache), then exactly one request per session (autocannon rotates the
 * cookies: every session read once and cached). Then, in a full run, a second of each twin (JIT).
 */
export async function warmApp(app: TwinApp, s: TwinSettings): Promise<void> {
  if (app.mode === 'on') {
    for (const amount of [Math.min(500, s.sessions), s.sessions]) {
      const load = await runLoad({
        url: `${app.server.base}/me`,
        method: 'GET',
        userAgent: USER_AGENT,
        cookieFile: app.cookieFile,
        cookieKey: 'b',
        durationSeconds: 60,
        amount,
        connections: s.connections,
      });
      if (load.non2xx + load.errors > 0) throw new Error(`cache warm-up: ${load.non2xx} non-2xx and ${load.errors} errors`);
    }
  }
  if (!s.quick) for (const key of TWIN_KEYS) await runTwin(app, key, WARMUP_SECONDS, 0, s.connections);
}

/** Each twin's JIT warm-up in a fresh app, in a full run. */
const WARMUP_SECONDS = 1;

export type Twins = Awaited<ReturnType<typeof measureTwins>>;

export async function measureTwins(redis: TwinRedis, work: string, s: TwinSettings) {
  // Quick mode (CI) is there for the checks, not the figures: 1 s runs, no JIT warm-up.
  const durationSeconds = s.quick ? 1 : Math.min(s.durationSeconds, 5);
  const runs: TwinRun[] = [];
  let apps: TwinApp[] = [];
  try {
    for (let round = 1; round <= s.rounds; round++) {
      await redis.on.admin.flushall(); // the previous round's sessions (the cache-off app's expire on the shared Redis)
      apps = await Promise.all([startTwinApp(redis, 'off', s.sessions, work), startTwinApp(redis, 'on', s.sessions, work)]);
      // Every other round runs the apps, and each app's twins, in reverse order: a twin's rate
      // depends on what ran just before it in the process (after the GraphQL twins, the first
      // socket twin measured up to 40% low), so no twin may always run in the same place.
      const forward = round % 2 === 1;
      for (const app of forward ? apps : [...apps].reverse()) {
        await warmApp(app, s);
        for (const key of forward ? TWIN_KEYS : [...TWIN_KEYS].reverse()) {
          runs.push((await runTwin(app, key, durationSeconds, round, s.connections))!);
        }
      }
      await Promise.all(apps.map((app) => app.server.stop()));
      apps = [];
    }
  } finally {
    await Promise.all(apps.map((app) => app.server.stop()));
  }
  const summary = summariseTwins(runs);
  checkTwins(summary);
  return {
    durationSeconds,
    warmupSeconds: s.quick ? 0 : WARMUP_SECONDS,
    connections: s.connections,
    rounds: s.rounds,
    sessions: s.sessions,
    ...summary,
    runs,
  };
}
