import { afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import {
  INVALIDATIONS_CONNECTION_NAME,
  SessionInvalidations,
  type FlushCause,
  type InvalidationOptions,
} from '../src/core/cache/invalidations.js';
import { aclLog } from './support/redis-acl.js';
import { assertionClient, sleep, spawnRedisServer, uniquePrefix, type SpawnedRedis } from './support/redis.js';

/*
 * SessionInvalidations over real redis-servers, each test starting its own and stopping it by
 * PID. What the session cache relies on: every change under the prefix is heard, nothing else
 * is, and `ready` is false, with a flush first, whenever something might have been missed.
 */

const ACL_FIX = '+client|setname +client|id +role +client|tracking +subscribe +ping &__redis__:invalidate';

/** One SessionInvalidations and everything its hooks heard. */
interface Watch {
  invalidations: SessionInvalidations;
  keys: string[];
  /** Each flush, with `ready` as it was when the flush was called. */
  flushes: Array<{ cause: FlushCause; readyAtFlush: boolean }>;
  warnings: string[];
  /** Resolves when `key` is reported (from now on). */
  next(key: string): Promise<void>;
}

const servers: SpawnedRedis[] = [];
const clients: Redis[] = [];
const watches: Watch[] = [];

afterEach(async () => {
  for (const watch of watches.splice(0)) watch.invalidations.stop();
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function server(args: string[] = []): Promise<{ server: SpawnedRedis; admin: Redis }> {
  const spawned = await spawnRedisServer({ args });
  servers.push(spawned);
  const admin = assertionClient(spawned.url);
  clients.push(admin);
  await admin.ping();
  return { server: spawned, admin };
}

function watch(url: string, prefix: string, options: Partial<InvalidationOptions> = {}): Watch {
  // The source is never connected: the tracking connection is a duplicate of its options.
  const source = new Redis(url, { lazyConnect: true });
  clients.push(source);
  const waiting = new Map<string, () => void>();
  const result = { keys: [], flushes: [], warnings: [] } as unknown as Watch;
  result.next = (key) => new Promise((resolve) => waiting.set(key, resolve));
  const keys = (keys: readonly string[]) => {
    result.keys.push(...keys);
    for (const key of keys) waiting.get(key)?.();
  };
  const flush = (cause: FlushCause) => result.flushes.push({ cause, readyAtFlush: result.invalidations.ready });
  const warn = (message: string) => result.warnings.push(message);
  result.invalidations = new SessionInvalidations(
    source,
    prefix,
    { keys, flush },
    { heartbeatMs: 1000, timeoutMs: 1000, warn, ...options },
  );
  watches.push(result);
  result.invalidations.start();
  return result;
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The tracking connections in CLIENT LIST: id and flags. */
async function trackingClients(admin: Redis): Promise<Array<{ id: string; flags: string }>> {
  const list = String(await admin.call('CLIENT', 'LIST'));
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${INVALIDATIONS_CONNECTION_NAME} `))
    .map((line) => ({ id: /\bid=(\d+)/.exec(line)![1], flags: /\bflags=(\S+)/.exec(line)![1] }));
}

describe('SessionInvalidations on one redis-server', () => {
  it('is ready once its one connection tracks the prefix (broadcast, subscribed), named in CLIENT LIST', async () => {
    const { server: redis, admin } = await server();
    const w = watch(redis.url, uniquePrefix('inv'));
    expect(w.invalidations.ready).toBe(false);
    await until('ready', () => w.invalidations.ready);
    const tracking = await trackingClients(admin);
    expect(tracking).toHaveLength(1);
    // t: tracking, B: broadcast, P: subscribed.
    expect(tracking[0].flags).toEqual(expect.stringMatching(/^(?=.*t)(?=.*B)(?=.*P)/));
    expect(w.flushes).toEqual([]);
  });

  it('reports a SET, a DEL, a PEXPIRE and an expiry under the prefix; a GET or a key outside it is not reported', async () => {
    const { server: redis, admin } = await server();
    const prefix = uniquePrefix('inv');
    const w = watch(redis.url, prefix);
    await until('ready', () => w.invalidations.ready);
    const key = `${prefix}a`;
    const writes = [() => admin.set(key, 'v'), () => admin.pexpire(key, 60_000), () => admin.del(key)];
    for (const write of [...writes, () => admin.set(key, 'v', 'PX', 50)]) {
      const heard = w.next(key);
      await write();
      await heard;
    }
    await w.next(key); // the expiry, with no command of ours
    // Redis sends them in order on the one connection: once the marker is heard, whatever came before it was.
    const before = w.keys.length;
    await admin.get(key);
    await admin.set(`other:${prefix}b`, 'v');
    await admin.set(`x${prefix}c`, 'v');
    const marker = w.next(`${prefix}marker`);
    await admin.set(`${prefix}marker`, 'v');
    await marker;
    expect(w.keys.slice(before)).toEqual([`${prefix}marker`]);
    expect(w.flushes).toEqual([]);
  });

  it('calls flush("flushed") on a FLUSHDB and stays ready', async () => {
    const { server: redis, admin } = await server();
    const w = watch(redis.url, uniquePrefix('inv'));
    await until('ready', () => w.invalidations.ready);
    await admin.flushdb();
    await until('the flush', () => w.flushes.length > 0);
    expect(w.flushes).toEqual([{ cause: 'flushed', readyAtFlush: true }]);
    expect(w.invalidations.ready).toBe(true);
  });

  it('on CLIENT KILL: not ready before flush("connection-lost"), then tracked again on a new connection', async () => {
    const { server: redis, admin } = await server();
    const prefix = uniquePrefix('inv');
    const w = watch(redis.url, prefix);
    await until('ready', () => w.invalidations.ready);
    const [first] = await trackingClients(admin);
    await admin.call('CLIENT', 'KILL', 'ID', first.id);
    await until('the flush', () => w.flushes.length > 0);
    expect(w.flushes).toEqual([{ cause: 'connection-lost', readyAtFlush: false }]);
    expect(w.warnings).toEqual([expect.stringContaining('lost')]);
    await until('ready again', () => w.invalidations.ready);
    const now = await trackingClients(admin);
    expect(now).toHaveLength(1);
    expect(now[0].id).not.toBe(first.id);
    const heard = w.next(`${prefix}after`);
    await admin.set(`${prefix}after`, 'v');
    await heard;
    expect(w.flushes).toHaveLength(1);
  });

  it('on a server paused past timeoutMs: flush("heartbeat") and not ready; resumed: ready again', async () => {
    const { server: redis, admin } = await server();
    const prefix = uniquePrefix('inv');
    const w = watch(redis.url, prefix, { heartbeatMs: 100, timeoutMs: 300 });
    await until('ready', () => w.invalidations.ready);
    const pausedAt = Date.now();
    redis.signal('SIGSTOP');
    try {
      await until('the heartbeat flush', () => w.flushes.length > 0, 3000);
      expect(Date.now() - pausedAt).toBeLessThan(100 + 300 + 300);
      expect(w.flushes).toEqual([{ cause: 'heartbeat', readyAtFlush: false }]);
      await sleep(500);
      expect(w.invalidations.ready).toBe(false);
    } finally {
      redis.signal('SIGCONT');
    }
    await until('ready again', () => w.invalidations.ready, 10_000);
    const heard = w.next(`${prefix}after`);
    await admin.set(`${prefix}after`, 'v');
    await heard;
    expect(w.flushes).toHaveLength(1);
  });

  it.each([
    ['CLIENT TRACKING', ['~*', '&*', '+@all', '-client|tracking']],
    ['ROLE', ['~*', '&*', '+@all', '-role']],
    ['SUBSCRIBE', ['~*', 'resetchannels', '+@all']],
  ])('is never ready when the ACL refuses %s, and warns once with the fix', async (step, rule) => {
    const { server: redis, admin } = await server();
    await admin.call('ACL', 'SETUSER', 'default', 'on', 'nopass', ...rule);
    const w = watch(redis.url, uniquePrefix('inv'));
    await sleep(1600); // retries at +100, +200, +400, +800 ms
    expect(w.invalidations.ready).toBe(false);
    // Retried (ACL LOG counts the repeats of one denial in one entry), yet warned once.
    const denials = await aclLog(admin);
    expect(denials).toHaveLength(1);
    expect(Number(denials[0].count)).toBeGreaterThanOrEqual(3);
    expect(w.warnings).toEqual([expect.stringContaining(ACL_FIX)]);
    expect(w.warnings[0]).toContain(step);
    expect(w.flushes).toEqual([]);
  });

  it('is never ready on a replica (a master demoted by a failover hears no writes it has not replicated); promoted: ready', async () => {
    const { server: master } = await server();
    const { server: replica, admin } = await server(['--replicaof', master.host, String(master.port)]);
    const w = watch(replica.url, uniquePrefix('inv'));
    await sleep(800);
    expect(w.invalidations.ready).toBe(false);
    expect(w.warnings).toEqual([]);
    await admin.call('REPLICAOF', 'NO', 'ONE');
    await until('ready once a master', () => w.invalidations.ready);
  });

  it('stop(): not ready for good, flush("stopped"), and no tracking connection left', async () => {
    const { server: redis, admin } = await server();
    const w = watch(redis.url, uniquePrefix('inv'));
    await until('ready', () => w.invalidations.ready);
    w.invalidations.stop();
    expect(w.invalidations.ready).toBe(false);
    expect(w.flushes).toEqual([{ cause: 'stopped', readyAtFlush: false }]);
    await until('no tracking connection', async () => (await trackingClients(admin)).length === 0);
    w.invalidations.start();
    await sleep(300);
    expect(w.invalidations.ready).toBe(false);
    expect(await trackingClients(admin)).toEqual([]);
  });

  it('delivers a DEL by another client to hooks.keys (median of 200, printed)', async () => {
    const { server: redis, admin } = await server();
    const prefix = uniquePrefix('inv');
    const w = watch(redis.url, prefix);
    await until('ready', () => w.invalidations.ready);
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const key = `${prefix}${i}`;
      const set = w.next(key);
      await admin.set(key, 'v');
      await set;
      const deleted = w.next(key);
      const start = performance.now();
      void admin.del(key);
      await deleted;
      times.push(performance.now() - start);
    }
    const sorted = times.sort((a, b) => a - b);
    process.stdout.write(
      `invalidation delivery, DEL by another client -> hooks.keys: median ${sorted[100].toFixed(3)} ms, ` +
        `p90 ${sorted[179].toFixed(3)} ms, max ${sorted[199].toFixed(3)} ms (n=200)\n`,
    );
    expect(sorted[100]).toBeLessThan(50);
  });
});
