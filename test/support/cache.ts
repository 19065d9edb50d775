import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { SessionService, type SessionUser } from '../../src/index.js';
import { listeningPort } from './http.js';
import { sleep } from './redis.js';

/*
 * Helpers of the session cache suites (test/cache*.e2e-spec.ts, test/topology/cache.topology-spec.ts):
 * what a request cost in Redis commands (INFO commandstats of a private server), a tight
 * polling loop that times when an instance starts refusing, and the invalidation connection
 * as CLIENT LIST shows it.
 */

/** The CLIENT LIST name of each instance's invalidation (tracking) connection. */
export const INVALIDATIONS_NAME = 'nestjs-redis-session:invalidations';

/** Commands that touch no key: connections, tracking, the heartbeat, live revocation's PUBLISH, the tests' own INFO and CONFIG. */
const NOT_DATA = new Set([
  'ping',
  'info',
  'config',
  'client',
  'hello',
  'auth',
  'select',
  'command',
  'cluster',
  'readonly',
  'readwrite',
  'publish',
  'subscribe',
  'psubscribe',
  'unsubscribe',
  'punsubscribe',
  'debug',
  'echo',
  'role',
  'sentinel',
  'replconf',
  'psync',
  'script',
]);

/** The commands a guarded call sends itself: GETEX, the peek script (nrsPeek), or any plain read. */
const GUARD_COMMANDS = ['getex', 'evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'mget'];

/** Calls per command so far (INFO commandstats; `client|tracking` counted as `client`). */
export async function commandCalls(admin: Pick<Redis, 'info'>): Promise<Map<string, number>> {
  return parseCalls(await admin.info('commandstats'));
}

/** An `INFO commandstats` reply as calls per command. */
export function parseCalls(info: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:|]+)(?:\|[^:]*)?:calls=(\d+)/gm)) {
    calls.set(m[1], (calls.get(m[1]) ?? 0) + Number(m[2]));
  }
  return calls;
}

/** Sums of several servers' counters (a Cluster's nodes). */
export function addCalls(all: Array<Map<string, number>>): Map<string, number> {
  const sum = new Map<string, number>();
  for (const calls of all) for (const [name, n] of calls) sum.set(name, (sum.get(name) ?? 0) + n);
  return sum;
}

/** What happened between two counters: every command that touches keys, by name. */
export function dataCommands(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, n] of after) {
    const d = n - (before.get(name) ?? 0);
    if (d > 0 && !NOT_DATA.has(name)) delta[name] = d;
  }
  return delta;
}

/** The commands a guarded call sends (GETEX, the peek script...) among `delta`. */
export function guardCommands(delta: Record<string, number>): number {
  // Redis counts the commands a script runs too: the peek's GET comes with its PTTL, a plain GET alone.
  const plainGets = Math.max(0, (delta.get ?? 0) - (delta.pttl ?? 0));
  return GUARD_COMMANDS.reduce((sum, name) => sum + (delta[name] ?? 0), plainGets);
}

/** What one guarded request cost: answered from memory, read (a miss: the peek script and its GET), sent to Redis as without the cache (a bypass: one GETEX), or else the commands. */
export function kindOf(cost: Record<string, number>): string {
  if (Object.keys(cost).length === 0) return 'hit';
  if (cost.getex === 1 && guardCommands(cost) === 1) return 'bypass';
  if (cost.evalsha === 1 && guardCommands(cost) === 1) return 'miss';
  return JSON.stringify(cost);
}

/** The data commands `work` cost on the server(s) `counters` reads (nothing else may run meanwhile). */
export async function costOf(
  counters: () => Promise<Map<string, number>>,
  work: () => Promise<unknown>,
): Promise<Record<string, number>> {
  const before = await counters();
  await work();
  return dataCommands(before, await counters());
}

/**
 * Sends `send` until one 200 costs no data command at all (the instance's invalidation
 * connection is confirmed and the session is cached); throws with the last cost after `ms`.
 */
export async function untilHit(
  counters: () => Promise<Map<string, number>>,
  send: () => Promise<number>,
  ms = 5000,
): Promise<void> {
  const end = performance.now() + ms;
  let last: unknown;
  while (performance.now() < end) {
    let status = 0;
    const cost = await costOf(counters, async () => (status = await send()));
    if (status === 200 && Object.keys(cost).length === 0) return;
    last = { status, cost };
    await sleep(10);
  }
  throw new Error(`no cache hit within ${ms} ms: the last request answered ${JSON.stringify(last)}`);
}

/** A guarded GET on an app with a bearer token, its status. */
export function bearerGet(app: INestApplication, path: string, token: string): () => Promise<number> {
  const url = `http://127.0.0.1:${listeningPort(app.getHttpServer())}${path}`;
  const headers = { authorization: `Bearer ${token}` };
  return async () => {
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    return res.status;
  };
}

/** A POST with a bearer token (a logout, a logout-all), its status. */
export async function bearerPost(app: INestApplication, path: string, token: string): Promise<number> {
  const url = `http://127.0.0.1:${listeningPort(app.getHttpServer())}${path}`;
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

/** A user of its own (a random id, which is also its username), with `role`: each test's sessions apart from the others'. */
export function userOf(role = 'user'): SessionUser {
  const id = `u-${randomBytes(5).toString('hex')}`;
  return { id, username: id, role };
}

/** New sessions of one user (through the app's SessionService), their tokens and ids. */
export async function sessionsOf(
  app: INestApplication,
  user: SessionUser,
  count = 1,
): Promise<Array<{ token: string; id: string }>> {
  const service = app.get(SessionService);
  const issued = await Promise.all(Array.from({ length: count }, () => service.create(user)));
  return issued.map(({ token, session }) => ({ token, id: session.id }));
}

/** One answer of a polling loop: when it was sent and answered (performance.now()), and its status. */
export interface Answer {
  status: number;
  sent: number;
  at: number;
}

/** What a polled instance did around an action that should make it refuse. */
export interface Window {
  /** From the action's answer to the first refusal's answer, ms (negative: refused before the action's caller heard back). */
  windowMs: number;
  /** 200s to requests sent after the first refusal arrived (must be none). */
  afterRefusal: number;
  /** 200s to requests sent after the action answered (before the invalidation arrived). */
  stale: number;
  /** Answers before the action was sent that were not 200 (a setup problem). */
  badBefore: number;
  /** Answers from start to end. */
  requests: number;
  /** Every answer, in the order sent. */
  answers: Answer[];
}

/**
 * Polls each sender in a tight loop (one request in flight per sender), runs `act` once every
 * sender has been answered a few times, and keeps polling until each has been refused and then
 * answered `tail` more times (or `timeoutMs` passes: then the window is Infinity).
 */
export async function refusalWindows(
  senders: Array<() => Promise<number>>,
  act: () => Promise<unknown>,
  options: { refused?: (status: number) => boolean; tail?: number; timeoutMs?: number } = {},
): Promise<Window[]> {
  const refused = options.refused ?? ((status: number) => status === 401);
  const tail = options.tail ?? 5;
  const answers = senders.map((): Answer[] => []);
  let stop = false;
  const loops = senders.map(async (send, i) => {
    while (!stop) {
      const sent = performance.now();
      const status = await send().catch(() => 0);
      answers[i].push({ status, sent, at: performance.now() });
      // A sender that answers without I/O (a closed socket) must not starve the timers.
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  const done = (i: number, min: number) => {
    const first = answers[i].findIndex((a) => refused(a.status));
    return first >= 0 && answers[i].length - first > min;
  };
  try {
    const end = performance.now() + (options.timeoutMs ?? 5000);
    while (answers.some((list) => list.length < 3) && performance.now() < end) await sleep(1);
    const actSent = performance.now();
    await act();
    const acted = performance.now();
    while (!answers.every((_, i) => done(i, tail)) && performance.now() < end) await sleep(1);
    stop = true;
    await Promise.all(loops);
    return answers.map((list) => {
      const first = list.find((a) => refused(a.status));
      const firstAt = first ? first.at : Number.POSITIVE_INFINITY;
      return {
        windowMs: firstAt - acted,
        afterRefusal: list.filter((a) => a.sent > firstAt && a.status === 200).length,
        stale: list.filter((a) => a.sent > acted && a.status === 200).length,
        badBefore: list.filter((a) => a.at < actSent && a.status !== 200).length,
        requests: list.length,
        answers: list,
      };
    });
  } finally {
    stop = true;
    await Promise.all(loops);
  }
}

/** Median, p99 and max of some windows, for the printed line. */
export function spread(values: number[]): { median: number; p99: number; max: number } {
  const sorted = values.map((v) => Math.max(0, v)).sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { median: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

export const ms = (value: number): string => (Number.isFinite(value) ? `${Math.max(0, value).toFixed(1)} ms` : 'never');

/** An invalidation connection as CLIENT LIST shows it: `tracking` once CLIENT TRACKING is on and it is subscribed. */
export interface InvalidationClient {
  id: string;
  age: number;
  tracking: boolean;
}

/** The invalidation connections CLIENT LIST shows on one server. */
export async function invalidationClients(admin: Pick<Redis, 'call'>): Promise<InvalidationClient[]> {
  return invalidationClientsIn(String(await admin.call('CLIENT', 'LIST')));
}

/** The invalidation connections in a CLIENT LIST reply. */
export function invalidationClientsIn(list: string): InvalidationClient[] {
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${INVALIDATIONS_NAME} `))
    .map((line) => ({
      id: /^id=(\d+)/.exec(line)?.[1] ?? '',
      age: Number(/ age=(\d+)/.exec(line)?.[1] ?? NaN),
      tracking: /flags=\S*t/.test(line) && / sub=1 /.test(line),
    }));
}

/**
 * A TCP hop in front of Redis for one app instance, acting on its tracking connections (those
 * that sent CLIENT TRACKING): `silence()` makes those open now go quiet both ways, connected
 * but answering nothing, as behind a broken network path (tracking connections opened later
 * pass as usual); `delay(ms)` holds back what Redis sends on every tracking connection (its
 * invalidations and PING answers, in order), as a slow path would. Other connections pass.
 */
export interface TrackingHop {
  readonly url: string;
  silence(): void;
  delay(ms: number): void;
  close(): Promise<void>;
}

export async function startTrackingHop(target: string): Promise<TrackingHop> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const pairs: Array<{ tracking: boolean; silent: boolean }> = [];
  let delayMs = 0;
  const server = createServer((client) => {
    const pair = { tracking: false, silent: false };
    pairs.push(pair);
    const upstream = tcpConnect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (chunk.includes('TRACKING')) pair.tracking = true;
      if (!pair.silent) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (pair.silent) return;
      // Timers of one delay fire in the order they were set: the bytes stay in order.
      if (pair.tracking && delayMs > 0) setTimeout(() => client.write(chunk), delayMs);
      else client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    silence: () => {
      for (const pair of pairs) if (pair.tracking) pair.silent = true;
    },
    delay: (ms: number) => {
      delayMs = ms;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
