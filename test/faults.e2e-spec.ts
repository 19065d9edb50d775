import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { SessionModule, SessionService, type SessionModuleOptions } from '../src/index.js';
import { adminCommand } from './support/servers/redis-admin.js';
import { trackChild } from './support/servers/redis-server.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { listeningPort } from './support/http.js';
import { keysWithPrefix, sleep, spawnRedisServer, uniquePrefix, usePrivateRedis, type SpawnedRedis } from './support/redis.js';
import { HttpClient, latencySummary, startSessionTraffic, TrafficLog, type Outcome } from './support/traffic.js';

/*
 * Faults under load (issue 6): Redis paused and killed while steady mixed traffic runs,
 * Redis answering slowly (DEBUG SLEEP), and the app process killed in the middle of
 * logins. Each describe block runs its own redis-server and stops it by PID. The
 * single-request outage checks (every route during a stall, a restart with AOF) are in
 * test/redis.e2e-spec.ts; these add traffic that keeps running through the fault, with
 * logins, logouts and revocations mixed in, and print counts per status.
 */

/** The contract's "503 within about a second" (two 500 ms command timeouts), plus slack for a loaded 2-core machine. */
const LIMIT_503_MS = 1600;

/**
 * Throttling stays on (its Redis calls are on the login path), but with limits no test
 * worker can reach: logins that answer 503 during a stall are still counted once Redis
 * resumes (see the known-bug test at the end), and every request comes from 127.0.0.1.
 */
const LOOSE_THROTTLE: SessionModuleOptions['loginThrottle'] = {
  perUsername: { limit: 1000, windowSeconds: 900 },
  perIp: { limit: 100_000, windowSeconds: 900 },
};

/** Users of the traffic generator: `<target>-<worker>` and `<target>-steady`, password 'pw'. */
const workerCredentials: SessionModuleOptions['validateCredentials'] = async ({ username, password }) =>
  password === 'pw' && /^(express|fastify)-(\d+|steady)$/.test(username) ? { id: username, username, role: 'user' } : null;

/** Operations that need Redis (the rest are refused before it is asked). */
const redisBound = [
  'me',
  'steady-me',
  'sessions',
  'login',
  'logout',
  'revoke',
  'logout-all',
  'ended',
  'unknown-token',
  'bad-login',
];

interface Side {
  t: TestApp;
  client: HttpClient;
}

async function startApps(server: SpawnedRedis): Promise<Side[]> {
  return Promise.all(
    ADAPTERS.map(async (adapter) => {
      const t = await createTestApp(
        { redis: { url: server.url }, validateCredentials: workerCredentials, loginThrottle: LOOSE_THROTTLE },
        [],
        { adapter, assertionClient: false },
      );
      return { t, client: new HttpClient(listeningPort(t.app.getHttpServer())) };
    }),
  );
}

function startTraffic(sides: Side[], log: TrafficLog, workers: number) {
  return sides.map((side, i) =>
    startSessionTraffic({
      client: side.client,
      target: ADAPTERS[i],
      log,
      workers,
      credentials: (worker) => ({ username: `${ADAPTERS[i]}-${worker < 0 ? 'steady' : worker}`, password: 'pw' }),
    }),
  );
}

const endOf = (o: Outcome) => o.startedAt + o.ms;
const isSuccess = (o: Outcome) => typeof o.status === 'number' && o.status < 500;

/**
 * Checks shared by the Redis fault tests: no answer that is not allowed (see
 * startSessionTraffic), no 5xx but 503, no request without an answer, every 503 within
 * LIMIT_503_MS.
 */
function checkAnswers(log: TrafficLog): void {
  expect(log.problems).toEqual([]);
  const bad = log.outcomes.filter((o) => typeof o.status !== 'number' || (o.status >= 500 && o.status !== 503));
  expect(bad.map((o) => `${o.target} ${o.phase} ${o.op}: ${o.status}`)).toEqual([]);
  const slow503 = log.outcomes.filter((o) => o.status === 503 && o.ms > LIMIT_503_MS);
  expect(slow503.map((o) => `${o.target} ${o.phase} ${o.op}: 503 after ${o.ms} ms`)).toEqual([]);
}

/** No 503 among requests sent in [from, to): Redis is healthy there. */
function expectServedBetween(log: TrafficLog, from: number, to: number, what: string): void {
  const refused = log.outcomes.filter((o) => o.startedAt >= from && o.startedAt < to && o.status === 503);
  expect({ what, refused: refused.map((o) => `${o.target} ${o.op} sent ${o.startedAt - from} ms in`) }).toEqual({
    what,
    refused: [],
  });
  expect(log.outcomes.filter((o) => o.startedAt >= from && o.startedAt < to && isSuccess(o)).length).toBeGreaterThan(20);
}

/** Ms from `from` to the first 200 on a guarded request sent after it. */
function firstServedAfter(log: TrafficLog, from: number): number {
  const served = log.outcomes
    .filter((o) => (o.op === 'me' || o.op === 'steady-me') && o.status === 200 && o.startedAt >= from)
    .map(endOf);
  return served.length > 0 ? Math.min(...served) - from : Infinity;
}

/** Every key under `prefix` has a TTL (PTTL -1 would be a key that lives for ever). */
async function keysWithoutTtl(port: number, prefix: string): Promise<string[]> {
  const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
  try {
    const keys = await keysWithPrefix(client, prefix);
    const pttls = await Promise.all(keys.map((key) => client.pttl(key)));
    return keys.filter((_, i) => pttls[i] === -1);
  } finally {
    client.disconnect();
  }
}

describe('faults: Redis paused, then killed, under steady mixed traffic (express and fastify at once)', () => {
  let server: SpawnedRedis;
  let sides: Side[] = [];
  beforeAll(async () => {
    // AOF fsynced on every write: what was acknowledged before the kill is still there after the restart.
    server = await spawnRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    sides = await startApps(server);
  });
  afterAll(async () => {
    for (const side of sides) {
      side.client.close();
      await side.t.close();
    }
    await server?.stop();
  });

  it('answers 200/204/401/400 or a fast 503, never a 500 or a 401 for a live session, and recovers by itself', async () => {
    const log = new TrafficLog();
    log.phase = 'healthy';
    const traffic = startTraffic(sides, log, 6);
    let marks: Record<'paused' | 'resumed' | 'killed' | 'restarted' | 'end', number>;
    try {
      await sleep(1500);
      const paused = Date.now();
      server.signal('SIGSTOP');
      log.phase = 'paused';
      await sleep(3000);
      server.signal('SIGCONT');
      const resumed = Date.now();
      log.phase = 'resumed';
      await sleep(3000);
      server.signal('SIGKILL');
      const killed = Date.now();
      log.phase = 'killed';
      await sleep(2500);
      await server.restart();
      const restarted = Date.now();
      log.phase = 'restarted';
      await sleep(3500);
      marks = { paused, resumed, killed, restarted, end: Date.now() };
    } finally {
      server.signal('SIGCONT');
      await Promise.all(traffic.map((t) => t.stop()));
    }

    const recovery = { afterResume: firstServedAfter(log, marks.resumed), afterRestart: firstServedAfter(log, marks.restarted) };
    const latencies = log.outcomes.filter((o) => o.status === 503).map((o) => o.ms);
    process.stdout.write(
      [
        'faults: Redis paused 3 s, resumed, killed 2.5 s, restarted (AOF), under traffic; answers per target, phase (when sent), op:',
        log.table(),
        `totals: ${JSON.stringify(log.statusCounts())}`,
        `503 latency: ${latencySummary(latencies)}`,
        `first 200 on /me: ${recovery.afterResume} ms after SIGCONT, ${recovery.afterRestart} ms after the restart`,
        '',
      ].join('\n'),
    );

    checkAnswers(log);
    // Healthy before the fault: everything answered before the SIGSTOP was served.
    const before = log.outcomes.filter((o) => endOf(o) < marks.paused);
    expect(before.filter((o) => o.status === 503)).toEqual([]);
    // The faults were felt: requests that need Redis were refused with 503 while it was away.
    // The steady stream aims at 50 requests/s per app (300 in the 3 s pause, 250 in the 2.5 s
    // outage); on a loaded machine it sends fewer, so count against what was sent. Those sent
    // in the last second of the pause (up to two 500 ms command timeouts behind an
    // auto-pipelined batch) may still be served after SIGCONT: about 2 in 3 are refused.
    for (const [phase, least] of [
      ['paused', 100],
      ['killed', 75],
    ] as const) {
      const sent = log.outcomes.filter((o) => o.phase === phase && o.op === 'steady-me');
      const refused = sent.filter((o) => o.status === 503).length;
      expect({ phase, sent: sent.length, refused, enough: sent.length >= least && refused >= 0.5 * sent.length }).toEqual({
        phase,
        sent: sent.length,
        refused,
        enough: true,
      });
    }
    // Recovery without a restart of the app: served again within ~1 s of SIGCONT and of the restart
    // (ioredis reconnects within 500 ms), and from then on everything is served.
    expect(recovery.afterResume).toBeLessThan(1000);
    expect(recovery.afterRestart).toBeLessThan(1500);
    expectServedBetween(log, marks.resumed + 1000, marks.killed - 100, 'after SIGCONT');
    expectServedBetween(log, marks.restarted + 1500, marks.end, 'after the restart');
    // Nothing the module wrote through all this lives for ever.
    expect(await keysWithoutTtl(server.port, '')).toEqual([]);
  }, 60_000);
});

describe('faults: a Redis that answers slowly (DEBUG SLEEP) under steady mixed traffic', () => {
  let server: SpawnedRedis;
  let sides: Side[] = [];
  beforeAll(async () => {
    server = await spawnRedisServer({ args: ['--enable-debug-command', 'yes'] });
    sides = await startApps(server);
  });
  afterAll(async () => {
    for (const side of sides) {
      side.client.close();
      await side.t.close();
    }
    await server?.stop();
  });

  it('answers within ~1 s during the sleep (503, or 200 when the sleep ends first), never 401, and works right after', async () => {
    const log = new TrafficLog();
    log.phase = 'healthy';
    const traffic = startTraffic(sides, log, 8);
    const sleeps: Array<{ seconds: number; from: number; to: number }> = [];
    let end: number;
    try {
      await sleep(1000);
      for (const seconds of [0.8, 2]) {
        log.phase = `sleep ${seconds}s`;
        const from = Date.now();
        // On a connection of its own; DEBUG SLEEP blocks the whole server, this connection's answer included.
        await adminCommand(server.port, ['DEBUG', 'SLEEP', seconds], { timeoutMs: 10_000 });
        const to = Date.now();
        sleeps.push({ seconds, from, to });
        log.phase = `after ${seconds}s`;
        await sleep(2000);
      }
      end = Date.now();
    } finally {
      await Promise.all(traffic.map((t) => t.stop()));
    }

    const latencies = log.outcomes.filter((o) => o.status === 503).map((o) => o.ms);
    const lines = [
      'faults: DEBUG SLEEP 0.8 then 2 (redisTimeoutMs 1000 ms) under traffic; answers per target, phase (when sent), op:',
      log.table(),
      `503 latency: ${latencySummary(latencies)}`,
    ];
    const during = (from: number, to: number) =>
      log.outcomes.filter((o) => o.startedAt >= from && o.startedAt < to && redisBound.includes(o.op));
    for (const { seconds, from, to } of sleeps) {
      const sent = during(from, to);
      const served = sent.filter(isSuccess);
      lines.push(
        `sleep ${seconds}s (${to - from} ms): ${sent.length} Redis-bound requests sent, ${served.length} served ` +
          `(${latencySummary(served.map((o) => o.ms))}), ${sent.length - served.length} refused with 503; ` +
          `first 200 on /me ${firstServedAfter(log, to)} ms after it ended`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);

    checkAnswers(log);
    for (const { seconds, from, to } of sleeps) {
      const sent = during(from, to);
      // Each sleep was felt (the 2 s one with 503s; the 0.8 s one, shorter than the 1000 ms
      // deadline, with slow answers or, on a busy machine, 503s), and a request was never left
      // waiting longer than a 503 takes.
      const refused = sent.filter((o) => o.status === 503).length;
      if (seconds >= 2) expect(refused).toBeGreaterThan(0);
      else expect(refused + sent.filter((o) => isSuccess(o) && o.ms >= 300).length).toBeGreaterThan(0);
      expect(Math.max(...sent.filter(isSuccess).map((o) => o.ms), 0)).toBeLessThan(LIMIT_503_MS);
      // Afterwards everything works at once (nothing queued up behind the sleep).
      expect(firstServedAfter(log, to)).toBeLessThan(500);
      // (Up to 300 ms before the next sleep: a login sent just before it takes several round-trips.)
      const next = sleeps.find((s) => s.from > from)?.from ?? end;
      expectServedBetween(log, to + 200, next - 300, `after DEBUG SLEEP ${seconds}`);
    }
    // A sleep shorter than the deadline (redisTimeoutMs): requests sent late in it are served, not refused.
    const short = sleeps[0];
    const lateInShort = log.outcomes.filter(
      (o) => o.startedAt >= short.to - 250 && o.startedAt < short.to && o.op === 'steady-me',
    );
    expect(lateInShort.filter((o) => o.status === 200).length).toBeGreaterThan(0);
  }, 60_000);
});

describe('faults: the app process SIGKILLed in the middle of logins', () => {
  const own = usePrivateRedis();
  const REGISTER = fileURLToPath(new URL('./support/swc-register.mjs', import.meta.url));
  const FIXTURE = fileURLToPath(new URL('./fixtures/crash-app.ts', import.meta.url));
  const LOGIN_LOOPS = 48;

  /** Starts test/fixtures/crash-app.ts in a process of its own; resolves with it once it listens. */
  async function startCrashApp(prefix: string): Promise<{ child: ChildProcess; port: number }> {
    const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: own.server.url, KEY_PREFIX: prefix, CREATE_CONCURRENCY: '8' };
    delete env.NODE_OPTIONS; // Jest's --experimental-vm-modules is not for the app
    const child = spawn(process.execPath, ['--import', REGISTER, FIXTURE], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child); // never outlives this test file, however it ends
    let output = '';
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`crash-app did not start within 20 s:\n${output}`)), 20_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const line = output.split('\n').find((l) => l.startsWith('{"port"'));
        if (line) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { port: number }).port);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`crash-app exited (${signal ?? code}) before it listened:\n${output}`));
      });
    });
    child.stdout!.resume();
    child.stderr!.resume();
    return { child, port };
  }

  /** SessionService on the same Redis and prefix, as the app's next instance would run it. */
  async function nextInstance(prefix: string): Promise<{ app: INestApplication; service: SessionService }> {
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ redis: { url: own.server.url }, keyPrefix: prefix, controller: false })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return { app, service: app.get(SessionService) };
  }

  it('leaves no key without a TTL and no index entry that list() would show without its session (4 kill moments)', async () => {
    const report: string[] = [];
    // How long after the login traffic starts the app is killed (plus up to 50 ms of jitter).
    for (const killAfterMs of [30, 150, 400, 900]) {
      const prefix = uniquePrefix('crash');
      const { child, port } = await startCrashApp(prefix);
      const client = new HttpClient(port, 3000);
      let running = true;
      let inFlight = 0;
      let answered = 0;
      /** Sessions whose login answered 200 and that the loops did not try to end. */
      const kept = new Map<string, { userId: number }>();
      const loops = Array.from({ length: LOGIN_LOOPS }, async (_, loop) => {
        const userId = loop % 16; // three loops per user: several sessions per user, logging in at once
        while (running) {
          inFlight++;
          const login = await client.send('POST', '/auth/login', {
            json: { username: `user${userId}`, password: `pw-${userId}` },
          });
          inFlight--;
          if (login.status !== 200) break; // the app is gone
          answered++;
          const id = (login.body as { session: { id: string } }).session.id;
          if (answered % 2 === 0) {
            // Every other session is logged out again: GETDEL, then ZREM, a step a kill can split.
            inFlight++;
            const cookie = String(login.headers['set-cookie']?.[0] ?? '').split(';')[0];
            const logout = await client.send('POST', '/auth/logout', { cookie });
            inFlight--;
            if (logout.status !== 204) break;
          } else {
            kept.set(id, { userId });
          }
        }
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await sleep(killAfterMs + Math.floor(Math.random() * 50));
      const inFlightAtKill = inFlight;
      const answeredAtKill = answered;
      child.kill('SIGKILL');
      await exited;
      running = false;
      await Promise.all(loops);
      client.close();

      // 1. Every key the dead process wrote has a TTL.
      const keys = await keysWithPrefix(own.admin, prefix);
      const pttls = await Promise.all(keys.map((key) => own.admin.pttl(key)));
      expect(keys.filter((_, i) => pttls[i] === -1)).toEqual([]);

      // 2. Index entries: each either has its session key, or is pruned by list().
      const indexPrefix = `${prefix}user:`;
      const indexKeys = keys.filter((key) => key.startsWith(indexPrefix));
      const sessionKeys = new Set(keys.filter((key) => !key.startsWith(indexPrefix) && !key.startsWith(`${prefix}throttle:`)));
      const members = new Map<string, string[]>();
      for (const key of indexKeys) members.set(key.slice(indexPrefix.length), await own.admin.zrange(key, 0, '-1'));
      const indexed = new Set([...members.values()].flat());
      const dangling = [...indexed].filter((id) => !sessionKeys.has(prefix + id)).length;
      const unindexed = [...sessionKeys].filter((key) => !indexed.has(key.slice(prefix.length))).length;

      // 3. A session whose login answered 200 is in its user's index with its key: nobody
      //    holds a token to a session that list() and revokeAll() cannot see.
      for (const [id, { userId }] of kept) {
        expect({ id, key: sessionKeys.has(prefix + id), indexed: (members.get(String(userId)) ?? []).includes(id) }).toEqual({
          id,
          key: true,
          indexed: true,
        });
      }

      // 4. The next instance lists only live sessions, and that prunes the rest.
      const next = await nextInstance(prefix);
      try {
        for (const userId of members.keys()) {
          // The index key names the id with its type: `user:3` is the number 3 (the HTTP
          // logins), `user:svc-3` the string (the fixture's create loops).
          const listed = await next.service.list(/^\d+$/.test(userId) ? Number(userId) : userId);
          for (const session of listed) expect(await own.admin.exists(prefix + session.id)).toBe(1);
          const left = await own.admin.zrange(indexPrefix + userId, 0, '-1');
          const exist = await Promise.all(left.map((id) => own.admin.exists(prefix + id)));
          expect(left.filter((_, i) => exist[i] !== 1)).toEqual([]);
          expect(listed.map((s) => s.id).sort()).toEqual([...left].sort());
        }
        // And it works: a login through it lands in the index.
        const fresh = await next.service.create({ id: 0, username: 'user0' });
        expect((await next.service.list(0)).map((s) => s.id)).toContain(fresh.session.id);
      } finally {
        await next.app.close();
      }
      report.push(
        `kill ${killAfterMs} ms in: ${answeredAtKill} logins answered, ${inFlightAtKill} HTTP requests in flight (+8 create loops); ` +
          `${keys.length} keys, all with a TTL; ${sessionKeys.size} sessions, ${dangling} index entries without a key (pruned by list()), ` +
          `${unindexed} sessions not indexed (tokens never handed out)`,
      );
    }
    process.stdout.write(`faults: app SIGKILLed mid-login, ${LOGIN_LOOPS} concurrent HTTP login loops:\n${report.join('\n')}\n`);
  }, 120_000);
});

/*
 * Bugs these fault tests found, fixed, and kept as regression tests (each failed on its last
 * assertion before the fix).
 */
describe('faults: regressions found by fault injection', () => {
  const own = usePrivateRedis();
  let app: INestApplication;
  let service: SessionService;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ redis: { url: own.server.url }, keyPrefix: uniquePrefix('bug'), controller: false })],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    service = app.get(SessionService);
    // Load the scripts (EVALSHA finds them), as on any server that has served a while.
    await service.create({ id: 'warm-up' });
    await service.revokeAll('warm-up');
  });
  afterAll(async () => {
    own.server?.signal('SIGCONT');
    await app?.close();
  });

  /** Sessions of `userId` that still work but that list() (and so revokeAll) no longer shows. */
  async function aliveButUnlisted(userId: string, tokens: string[]): Promise<string[]> {
    const listed = new Set((await service.list(userId)).map((s) => s.id));
    const alive = (await Promise.all(tokens.map((token) => service.touch(token)))).filter((s) => s !== null);
    return alive.map((s) => s.id).filter((id) => !listed.has(id));
  }

  it('revokeAll() that answered 503 during a stall leaves no session alive and unlisted', async () => {
    const issued = await Promise.all([1, 2, 3].map(() => service.create({ id: 'stalled-revoke-all' })));
    own.server.signal('SIGSTOP');
    try {
      // The index step is written to the socket and times out (503); Redis runs it when it resumes.
      await expect(service.revokeAll('stalled-revoke-all')).rejects.toThrow(/unavailable/i);
    } finally {
      own.server.signal('SIGCONT');
    }
    await sleep(200);
    // It used to empty the index first, then fail before sending the DELs: every session
    // kept working, none was listed. Now the sessions go first and the index entries last.
    expect(
      await aliveButUnlisted(
        'stalled-revoke-all',
        issued.map((i) => i.token),
      ),
    ).toEqual([]);
  });

  it('revoke() that answered 503 during a stall leaves the session dead or still listed', async () => {
    const [, victim] = await Promise.all([1, 2].map(() => service.create({ id: 'stalled-revoke' })));
    own.server.signal('SIGSTOP');
    try {
      await expect(service.revoke('stalled-revoke', victim.session.id)).rejects.toThrow(/unavailable/i);
    } finally {
      own.server.signal('SIGCONT');
    }
    await sleep(200);
    // It used to ZREM first (run after the stall) and never send the DEL.
    expect(await aliveButUnlisted('stalled-revoke', [victim.token])).toEqual([]);
  });

  it('login attempts that answered 503 during a stall are not counted against the throttle', async () => {
    const t = await createTestApp({ redis: { url: own.server.url } }, [], { assertionClient: false });
    const client = new HttpClient(listeningPort(t.app.getHttpServer()));
    const alice = { username: 'alice', password: 'alice-password' };
    try {
      expect((await client.send('POST', '/auth/login', { json: alice })).status).toBe(200);
      own.server.signal('SIGSTOP');
      let during: Array<number | string>;
      try {
        // A client retrying through a stall: 11 attempts, each refused with 503.
        during = (await Promise.all(Array.from({ length: 11 }, () => client.send('POST', '/auth/login', { json: alice })))).map(
          (a) => a.status,
        );
      } finally {
        own.server.signal('SIGCONT');
      }
      expect(during).toEqual(Array(11).fill(503));
      await sleep(200);
      // The 11 counts reach Redis after the stall; so do the refunds sent with them.
      expect((await client.send('POST', '/auth/login', { json: alice })).status).toBe(200);
    } finally {
      client.close();
      await t.close();
    }
  });
});
