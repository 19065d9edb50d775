/**
 * `npm run bench` (full, about 9 min) or `npm run bench -- --quick` (under a minute with the build; CI runs it).
 * Starts its own redis-servers (never 6379), the app in one process and autocannon in
 * another, and prints the figures; writes them to bench/results/latest.json too.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { spawnRedisServer } from '../test/support/servers/redis-server.js';
import type { LoadResult, LoadSpec } from './load.js';
import type { SocketLoadResult, SocketLoadSpec } from './socket-load.js';
import { measureBulk, measureCreate, measureMemory, measureUpdate, median } from './measure.js';
import { commandStats, redisVersion } from './redis-stats.js';
import { LOGIN_PASSWORD, USER_AGENT } from './seed.js';

const quick = process.argv.includes('--quick');
const settings = quick
  ? {
      sessions: 1000,
      rounds: 1,
      durationSeconds: 2,
      warmupSeconds: 1,
      connections: 50,
      loginSeconds: 2,
      memorySessions: 5000,
      createSessions: 5000,
      revokeAllSessions: 2000,
      listSessions: 200,
    }
  : {
      sessions: 10_000,
      rounds: 5,
      durationSeconds: 10,
      warmupSeconds: 3,
      connections: 50,
      loginSeconds: 10,
      memorySessions: 100_000,
      createSessions: 50_000,
      revokeAllSessions: 10_000,
      listSessions: 1000,
    };

const ROUTES = {
  A: { path: '/a', label: 'no session check (ceiling)', cookieKey: undefined },
  B: { path: '/b', label: 'SessionGuard', cookieKey: 'b' },
  C: { path: '/c', label: 'express-session + connect-redis', cookieKey: 'c' },
} as const;
type RouteKey = keyof typeof ROUTES;

interface RunRecord extends LoadResult {
  route: RouteKey;
  round: number;
  /** Requests the server handled during the run (counted server-side). */
  handled: number;
  redisCalls: number;
  redisUsec: number;
  byCommand: Record<string, { calls: number; usec: number }>;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'nrs-bench-'));
  const redis = await spawnRedisServer();
  const admin = new Redis(redis.url);
  let server: ChildProcess | undefined;
  try {
    log(`bench: ${quick ? 'quick' : 'full'} run; redis-server ${await redisVersion(admin)} on ${redis.url}`);
    const cookieFile = join(work, 'cookies.json');
    const started = await startServer(redis.url, settings.sessions, cookieFile);
    server = started.child;
    const base = `http://127.0.0.1:${started.port}`;
    log(`bench: app on ${base} with ${settings.sessions} live sessions per contender`);

    for (const key of Object.keys(ROUTES) as RouteKey[]) {
      await load(base, key, cookieFile, settings.warmupSeconds);
    }
    const runs: RunRecord[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      for (const key of Object.keys(ROUTES) as RouteKey[]) {
        await handledSince(base);
        await admin.config('RESETSTAT');
        const result = await load(base, key, cookieFile, settings.durationSeconds);
        await sleep(200); // let requests in flight at the cut-off finish
        const stats = await commandStats(admin);
        const handled = await handledSince(base);
        runs.push({
          ...result,
          route: key,
          round,
          handled,
          redisCalls: stats.calls,
          redisUsec: stats.usec,
          byCommand: stats.byCommand,
        });
        log(
          `bench: round ${round} ${key}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${(stats.calls / handled).toFixed(3)} cmds/req`,
        );
        if (result.non2xx > 0 || result.errors > 0)
          throw new Error(`${key}: ${result.non2xx} non-2xx and ${result.errors} errors`);
      }
    }

    const twins = await measureTwins(redis.url, admin, work);

    const login = await runLoad({
      url: `${base}/auth/login`,
      method: 'POST',
      body: JSON.stringify({ username: 'bench', password: LOGIN_PASSWORD }),
      durationSeconds: settings.loginSeconds,
      connections: 4,
    });
    log(`bench: HTTP login ${login.rps.toFixed(0)} req/s`);
    server.kill('SIGTERM');
    server = undefined;

    await admin.flushall();
    const memory = await measureMemory(redis.url, settings.memorySessions);
    log(`bench: memory measured over ${settings.memorySessions} sessions`);
    const create = await measureCreate(redis.url, settings.createSessions);
    log(`bench: create measured over ${settings.createSessions} sessions`);
    const bulk = await measureBulk(redis.url, settings.revokeAllSessions, settings.listSessions);
    const update = await measureUpdate(redis.url, settings.createSessions);
    log(`bench: update measured over ${settings.createSessions} sessions`);
    if (Math.abs(update.redisCommandsPerUpdate - 1) > 0.01) {
      throw new Error(`update: ${update.redisCommandsPerUpdate} Redis commands per update, not 1`);
    }

    const throughput = {
      ...summarise(runs),
      // Each guarded twin next to its unguarded one (the full figures are under `twins`).
      rest: { open: twins.summary.restOpen, me: twins.summary.restMe, ratio: twins.restRatio },
      graphql: { open: twins.summary.gqlOpen, me: twins.summary.gqlMe, ratio: twins.graphqlRatio },
      socket: { open: twins.summary.sockOpen, me: twins.summary.sockMe, ratio: twins.socketRatio },
    };
    const results = {
      date: new Date().toISOString(),
      mode: quick ? 'quick' : 'full',
      machine: {
        cpus: availableParallelism(),
        cpuModel: cpus()[0]?.model ?? 'unknown',
        node: process.version,
        redis: await redisVersion(admin),
      },
      packages: versions([
        '@nestjs/core',
        '@nestjs/platform-express',
        'express',
        'ioredis',
        'express-session',
        'connect-redis',
        'redis',
        'autocannon',
      ]),
      settings: {
        ...settings,
        loadGenerator: 'autocannon, separate process, rotating the Cookie header over every live session',
        adapter: 'Express',
        interleaved: 'A B C per round, medians over rounds',
      },
      throughput,
      twins,
      login: { connections: 4, rps: login.rps, p50: login.p50, p99: login.p99, note: 'bound by argon2id (19 MiB, t=2)' },
      memory,
      create,
      bulk,
      update,
      runs,
    };
    mkdirSync(here('../../bench/results'), { recursive: true });
    writeFileSync(here('../../bench/results/latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(report(results));
  } finally {
    server?.kill('SIGTERM');
    admin.disconnect();
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function summarise(runs: RunRecord[]) {
  const byRoute = (key: RouteKey) => runs.filter((r) => r.route === key);
  const summary = Object.fromEntries(
    (Object.keys(ROUTES) as RouteKey[]).map((key) => {
      const rs = byRoute(key);
      const requests = rs.reduce((sum, r) => sum + r.handled, 0);
      const calls = rs.reduce((sum, r) => sum + r.redisCalls, 0);
      const usec = rs.reduce((sum, r) => sum + r.redisUsec, 0);
      return [
        key,
        {
          label: ROUTES[key].label,
          rps: median(rs.map((r) => r.rps)),
          p50: median(rs.map((r) => r.p50)),
          p99: median(rs.map((r) => r.p99)),
          redisCommandsPerRequest: calls / requests,
          redisUsecPerRequest: usec / requests,
        },
      ];
    }),
  ) as Record<
    RouteKey,
    { label: string; rps: number; p50: number; p99: number; redisCommandsPerRequest: number; redisUsecPerRequest: number }
  >;
  return {
    ...summary,
    ratios: {
      BoverA: summary.B.rps / summary.A.rps,
      BoverC: summary.B.rps / summary.C.rps,
      AoverC: summary.A.rps / summary.C.rps,
      p99BoverA: summary.B.p99 / summary.A.p99,
    },
  };
}

type Results = {
  twins: Twins;
  date: string;
  mode: string;
  machine: { cpus: number; node: string; redis: string };
  throughput: ReturnType<typeof summarise> & Record<'rest' | 'graphql' | 'socket', { ratio: number }>;
  login: { rps: number; p50: number; p99: number };
  memory: Awaited<ReturnType<typeof measureMemory>>;
  create: Awaited<ReturnType<typeof measureCreate>>;
  bulk: Awaited<ReturnType<typeof measureBulk>>;
  update: Awaited<ReturnType<typeof measureUpdate>>;
};

function report(r: Results): string {
  const t = r.throughput;
  const f0 = (n: number) => n.toFixed(0);
  const f2 = (n: number) => n.toFixed(2);
  const lines = [
    '',
    `nestjs-redis-session benchmark (${r.mode}) ${r.date}`,
    `${r.machine.cpus} CPUs shared by the load generator, Node and Redis; Node ${r.machine.node}; Redis ${r.machine.redis}`,
    '',
    '| route | req/s | p50 ms | p99 ms | Redis cmds/req | Redis µs/req |',
    '|---|---:|---:|---:|---:|---:|',
    ...(['A', 'B', 'C'] as const).map(
      (k) =>
        `| ${k}: ${t[k].label} | ${f0(t[k].rps)} | ${t[k].p50} | ${t[k].p99} | ${t[k].redisCommandsPerRequest.toFixed(3)} | ${f2(t[k].redisUsecPerRequest)} |`,
    ),
    '',
    `B/A ${f2(t.ratios.BoverA)} (target ≥ 0.92)   B/C ${f2(t.ratios.BoverC)} (target ≥ 1.35; ceiling A/C ${f2(t.ratios.AoverC)})   p99 B/A ${f2(t.ratios.p99BoverA)} (target ≤ 1.2)`,
    '',
    `Twins (a separate app process, Express, binding: { ip: 'enforce', userAgent: 'enforce' } with matching requests; Apollo and a socket.io gateway; ${r.twins.durationSeconds} s per run, ${r.twins.warmupSeconds > 0 ? `${r.twins.warmupSeconds} s warm-up each` : 'no warm-up'}, medians over ${r.twins.rounds} rounds; ${r.twins.connections} connections, one operation outstanding on each):`,
    '',
    '| operation | per s | p50 ms | p99 ms | Redis cmds/op | Redis µs/op | guarded / unguarded |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...(Object.keys(TWINS) as TwinKey[]).map((k) => {
      const t = r.twins.summary[k];
      const ratio =
        k === 'gqlMe'
          ? f2(r.twins.graphqlRatio)
          : k === 'sockMe'
            ? f2(r.twins.socketRatio)
            : k === 'restMe'
              ? f2(r.twins.restRatio)
              : '';
      return `| ${TWINS[k].label} | ${f0(t.rps)} | ${t.p50} | ${t.p99} | ${t.cmdsPerOp.toFixed(3)} | ${f2(t.usecPerOp)} | ${ratio} |`;
    }),
    '',
    `| memory per session (${r.memory.sessions} sessions, used_memory delta) | bytes |`,
    '|---|---:|',
    `| ours: session key only | ${f0(r.memory.oursSessionKey)} |`,
    `| ours: with the per-user index, 1 session per user | ${f0(r.memory.oursOnePerUser)} |`,
    `| ours: with the per-user index, 4 sessions per user | ${f0(r.memory.oursFourPerUser)} |`,
    `| express-session + connect-redis | ${f0(r.memory.connectRedis)} |`,
    '',
    `create: SessionService.create ${f0(r.create.serviceCreatePerSecond)}/s vs raw pipeline ${f0(r.create.rawPipelinePerSecond)}/s = ${f2(r.create.ratio)} (target ≥ 0.8; ${r.create.sessions} sessions)`,
    `login over HTTP (argon2id): ${f0(r.login.rps)} req/s, p50 ${r.login.p50} ms, p99 ${r.login.p99} ms`,
    `update: ${f0(r.update.updatesPerSecond)}/s over ${r.update.sessions} sessions, ${r.update.redisCommandsPerUpdate.toFixed(3)} Redis command and ${f2(r.update.redisUsecPerUpdate)} Redis µs per update`,
    `revokeAll of ${r.bulk.revokeAllSessions} sessions: ${f2(r.bulk.revokeAllMs)} ms (target < 100)   list of ${r.bulk.listSessions}: ${f2(r.bulk.listMs)} ms`,
    '',
  ];
  return lines.join('\n');
}

async function startServer(
  redisUrl: string,
  sessions: number,
  cookieFile: string,
  program = './server.js',
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [here(program)], {
    env: { ...process.env, REDIS_URL: redisUrl, SESSIONS: String(sessions), COOKIE_FILE: cookieFile, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with code ${code}`)));
  });
  return { child, port };
}

function load(base: string, key: RouteKey, cookieFile: string, durationSeconds: number): Promise<LoadResult> {
  const route = ROUTES[key];
  return runLoad({
    url: `${base}${route.path}`,
    method: 'GET',
    cookieFile,
    cookieKey: route.cookieKey,
    durationSeconds,
    connections: settings.connections,
  });
}

function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here('./load.js'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with code ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult);
    });
  });
}

async function handledSince(base: string): Promise<number> {
  const response = await fetch(`${base}/__handled`);
  return ((await response.json()) as { handled: number }).handled;
}

const TWINS = {
  restOpen: { label: 'REST route, unguarded', kind: 'rest', query: '', event: '' },
  restMe: { label: 'REST route, SessionGuard with binding enforced', kind: 'rest', query: '', event: '' },
  gqlOpen: { label: 'GraphQL query `{ open }`, unguarded', kind: 'graphql', query: '{ open }', event: '' },
  gqlMe: { label: 'GraphQL query `{ me }`, SessionGuard', kind: 'graphql', query: '{ me }', event: '' },
  sockOpen: { label: "socket.io message 'open', unguarded", kind: 'socket', query: '', event: 'open' },
  sockMe: { label: "socket.io message 'me', SessionGuard", kind: 'socket', query: '', event: 'me' },
} as const;
type TwinKey = keyof typeof TWINS;

interface TwinRun {
  key: TwinKey;
  rps: number;
  p50: number;
  p99: number;
  ops: number;
  redisCalls: number;
  redisUsec: number;
}

type Twins = Awaited<ReturnType<typeof measureTwins>>;

/**
 * A guarded GraphQL query and a guarded socket.io message, each against its unguarded twin,
 * interleaved per round like the REST routes, in a server process of their own.
 */
async function measureTwins(redisUrl: string, admin: Redis, work: string) {
  // Quick mode (CI) is there for the checks below, not the figures: 1 s runs, no warm-up.
  const durationSeconds = quick ? 1 : Math.min(settings.durationSeconds, 5);
  const warmupSeconds = quick ? 0 : settings.warmupSeconds;
  const cookieFile = join(work, 'twins-cookies.json');
  const started = await startServer(redisUrl, settings.sessions, cookieFile, './twins-server.js');
  const base = `http://127.0.0.1:${started.port}`;
  const runs: TwinRun[] = [];
  try {
    const runTwin = async (key: TwinKey, seconds: number, round: number): Promise<void> => {
      const measured = round > 0;
      const twin = TWINS[key];
      if (measured) {
        await handledSince(base);
        await admin.config('RESETSTAT');
      }
      let result: { rps: number; p50: number; p99: number; ops: number; failed: number };
      if (twin.kind !== 'socket') {
        const rest = twin.kind === 'rest';
        const load = await runLoad({
          url: rest ? `${base}/${key === 'restMe' ? 'me' : 'open'}` : `${base}/graphql`,
          method: rest ? 'GET' : 'POST',
          body: rest ? undefined : JSON.stringify({ query: twin.query }),
          graphql: !rest,
          userAgent: USER_AGENT,
          cookieFile,
          cookieKey: 'b',
          durationSeconds: seconds,
          connections: settings.connections,
        });
        await sleep(200);
        result = { ...load, ops: measured ? await handledSince(base) : 0, failed: load.non2xx + load.errors + load.mismatches };
      } else {
        const load = await runSocketLoad(
          { url: base, event: twin.event, cookieFile, durationSeconds: seconds, connections: settings.connections },
          measured ? () => admin.config('RESETSTAT').then(() => undefined) : () => Promise.resolve(),
        );
        result = { ...load, ops: load.acks, failed: load.errors };
      }
      if (result.failed > 0) throw new Error(`${key}: ${result.failed} failed operations`);
      if (!measured) return;
      const stats = await commandStats(admin);
      runs.push({
        key,
        rps: result.rps,
        p50: result.p50,
        p99: result.p99,
        ops: result.ops,
        redisCalls: stats.calls,
        redisUsec: stats.usec,
      });
      log(
        `bench: twins round ${round} ${key}: ${result.rps.toFixed(0)}/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${(stats.calls / result.ops).toFixed(3)} cmds/op`,
      );
    };
    if (warmupSeconds > 0) for (const key of Object.keys(TWINS) as TwinKey[]) await runTwin(key, warmupSeconds, 0);
    for (let round = 1; round <= settings.rounds; round++) {
      for (const key of Object.keys(TWINS) as TwinKey[]) await runTwin(key, durationSeconds, round);
    }
  } finally {
    started.child.kill('SIGTERM');
  }
  const summary = Object.fromEntries(
    (Object.keys(TWINS) as TwinKey[]).map((key) => {
      const rs = runs.filter((r) => r.key === key);
      const ops = rs.reduce((sum, r) => sum + r.ops, 0);
      return [
        key,
        {
          rps: median(rs.map((r) => r.rps)),
          p50: median(rs.map((r) => r.p50)),
          p99: median(rs.map((r) => r.p99)),
          cmdsPerOp: rs.reduce((sum, r) => sum + r.redisCalls, 0) / ops,
          usecPerOp: rs.reduce((sum, r) => sum + r.redisUsec, 0) / ops,
        },
      ];
    }),
  ) as Record<TwinKey, { rps: number; p50: number; p99: number; cmdsPerOp: number; usecPerOp: number }>;
  // CI runs the quick bench: a guard that sends more or fewer than its one command fails it
  // here (exactly 1.000 as printed), and so does an unguarded twin that sends any.
  for (const key of Object.keys(TWINS) as TwinKey[]) {
    const expected = key.endsWith('Me') ? 1 : 0;
    if (!Number.isFinite(summary[key].cmdsPerOp) || Math.abs(summary[key].cmdsPerOp - expected) >= 0.0005)
      throw new Error(`${key}: ${summary[key].cmdsPerOp} Redis commands per operation, not ${expected}`);
  }
  return {
    durationSeconds,
    warmupSeconds,
    connections: settings.connections,
    rounds: settings.rounds,
    summary,
    restRatio: summary.restMe.rps / summary.restOpen.rps,
    graphqlRatio: summary.gqlMe.rps / summary.gqlOpen.rps,
    socketRatio: summary.sockMe.rps / summary.sockOpen.rps,
  };
}

/** Runs bench/socket-load.js: it connects, says `ready`, and starts when told (after `beforeGo`). */
function runSocketLoad(spec: SocketLoadSpec, beforeGo: () => Promise<void>): Promise<SocketLoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here('./socket-load.js'), JSON.stringify(spec)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    let going = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!going && out.includes('ready\n')) {
        going = true;
        void beforeGo().then(() => child.stdin.write('go\n'), reject);
      }
    });
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`socket load generator exited with code ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as SocketLoadResult);
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function versions(names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    try {
      out[name] = (
        JSON.parse(readFileSync(here(`../../node_modules/${name}/package.json`), 'utf8')) as { version: string }
      ).version;
    } catch {
      out[name] = 'unknown';
    }
  }
  return out;
}

await main();
