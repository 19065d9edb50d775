/**
 * `npm run bench` (full, about 15 min) or `npm run bench -- --quick` (about a minute with the build; CI runs it).
 * Starts its own redis-servers (never 6379), the apps in processes of their own and autocannon
 * in another, and prints the figures; writes them to bench/results/latest.json too.
 */
import 'reflect-metadata';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { spawnRedisServer } from '../test/support/servers/redis-server.js';
import { measureCacheSteady } from './cache-steady.js';
import { measureBulk, measureCreate, measureMemory, measureUpdate } from './measure.js';
import { here, log, runLoad, startServer, type StartedServer } from './processes.js';
import { redisVersion } from './redis-stats.js';
import { report } from './report.js';
import { measureRevocationWindow } from './revocation-window.js';
import { LOGIN_PASSWORD } from './seed.js';
import { measureRoutes, summarise } from './routes.js';
import { measureSocketPairs, SLICE_MS } from './socket-pairs.js';
import { measureTwins, type TwinKey, type Twins } from './twins.js';

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
      steadySeconds: 0,
      revocationRounds: 100,
      socketPairs: 4,
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
      steadySeconds: 20,
      revocationRounds: 1000,
      socketPairs: 40,
    };

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'nrs-bench-'));
  const started = performance.now();
  // Other work on the machine shows in the figures: the load average before and after says how much there was.
  const loadBefore = loadavg();
  const redis = await spawnRedisServer();
  // The cache-on twins' own redis-server: each mode's commands counted apart (twins.ts).
  const cachedRedis = await spawnRedisServer();
  const admin = new Redis(redis.url);
  const cachedAdmin = new Redis(cachedRedis.url);
  let server: StartedServer | undefined;
  try {
    log(
      `bench: ${quick ? 'quick' : 'full'} run; redis-server ${await redisVersion(admin)} on ${redis.url} and ${cachedRedis.url}`,
    );
    const cookieFile = join(work, 'cookies.json');
    server = await startServer('./server.js', {
      REDIS_URL: redis.url,
      SESSIONS: String(settings.sessions),
      COOKIE_FILE: cookieFile,
    });
    const base = server.base;
    log(`bench: app on ${base} with ${settings.sessions} live sessions per contender`);

    const runs = await measureRoutes(base, admin, cookieFile, settings);

    const twinRedis = { off: { url: redis.url, admin }, on: { url: cachedRedis.url, admin: cachedAdmin } };
    const twinSettings = { ...settings, quick };
    const twins = await measureTwins(twinRedis, work, twinSettings);
    const socketPairs = await measureSocketPairs(twinRedis, work, twinSettings, settings.socketPairs, SLICE_MS);
    // A figure, not a check: the full run only.
    const cacheSteady = quick ? null : await measureCacheSteady(twinRedis, work, twinSettings, settings.steadySeconds);
    if (cacheSteady)
      log(
        `bench: cache steady state: ${cacheSteady.rps.toFixed(0)} req/s, ${cacheSteady.cmdsPerOp.toFixed(4)} cmds/req (${cacheSteady.slidesPerOp.toFixed(4)} slides/req; model ${cacheSteady.modelCmdsPerOp.toFixed(4)})`,
      );
    const revocationWindow = await measureRevocationWindow(redis.url, settings.revocationRounds);

    const login = await runLoad({
      url: `${base}/auth/login`,
      method: 'POST',
      body: JSON.stringify({ username: 'bench', password: LOGIN_PASSWORD }),
      durationSeconds: settings.loginSeconds,
      connections: 4,
    });
    log(`bench: HTTP login ${login.rps.toFixed(0)} req/s`);
    await server.stop();
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
      // Each guarded twin next to its unguarded one, cache off (`cached`: on); the full figures are under `twins`.
      rest: twinPair(twins, 'restOpen', 'restMe', 'rest'),
      graphql: twinPair(twins, 'gqlOpen', 'gqlMe', 'graphql'),
      socket: twinPair(twins, 'sockOpen', 'sockMe', 'socket'),
      socketFloor: twinPair(twins, 'sockOpen', 'sockFloor', 'socketFloor'),
    };
    const results = {
      date: new Date().toISOString(),
      mode: quick ? 'quick' : 'full',
      machine: {
        cpus: availableParallelism(),
        cpuModel: cpus()[0]?.model ?? 'unknown',
        node: process.version,
        redis: await redisVersion(admin),
        loadAverage: { before: loadBefore, after: loadavg() },
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
      durationSeconds: Math.round((performance.now() - started) / 1000),
      throughput,
      twins,
      socketPairs,
      cacheSteady,
      revocationWindow,
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
    await server?.stop();
    admin.disconnect();
    cachedAdmin.disconnect();
    await redis.stop();
    await cachedRedis.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function twinPair(twins: Twins, open: TwinKey, me: TwinKey, ratio: keyof Twins['ratios']['off']) {
  const pair = (mode: 'off' | 'on') => ({
    open: twins.summary[mode][open],
    me: twins.summary[mode][me],
    ratio: twins.ratios[mode][ratio],
    cpuRatio: twins.cpuRatios[mode][ratio],
  });
  return { ...pair('off'), cached: pair('on') };
}

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
