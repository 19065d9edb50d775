import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import { INVALIDATIONS_CONNECTION_NAME, SessionInvalidations, type FlushCause } from '../../src/core/cache/invalidations.js';
import { adminCommand, waitFor } from '../support/servers/redis-admin.js';
import { spawnRedisCluster, type SpawnedRedisCluster } from '../support/servers/redis-cluster.js';
import { spawnRedisSentinel, type SpawnedRedisSentinel } from '../support/servers/redis-sentinel.js';

/*
 * SessionInvalidations on a Cluster (one tracking connection per master; ready only when every
 * master is tracked) and under Sentinel (the tracking connection follows the master), through
 * failovers: every loss is a flush with `ready` already false, then ready again on the new master.
 */

interface Watch {
  invalidations: SessionInvalidations;
  keys: Set<string>;
  flushes: Array<{ cause: FlushCause; readyAtFlush: boolean }>;
  warnings: string[];
}

const watches: Watch[] = [];
afterEach(() => {
  for (const w of watches.splice(0)) w.invalidations.stop();
});

function watch(source: Redis | Cluster, prefix: string): Watch {
  const w: Watch = { keys: new Set(), flushes: [], warnings: [], invalidations: undefined as unknown as SessionInvalidations };
  w.invalidations = new SessionInvalidations(
    source,
    prefix,
    {
      keys: (keys) => keys.forEach((key) => w.keys.add(key)),
      flush: (cause) => w.flushes.push({ cause, readyAtFlush: w.invalidations.ready }),
    },
    { heartbeatMs: 500, timeoutMs: 1000, warn: (message) => w.warnings.push(message) },
  );
  watches.push(w);
  w.invalidations.start();
  return w;
}

const until = (what: string, condition: () => boolean, timeoutMs = 20_000) =>
  waitFor(what, timeoutMs, async () => condition(), 10);

/** Ids of the tracking connections (flags t: tracking, P: subscribed) on one server. */
async function trackingOn(port: number): Promise<string[]> {
  const list = String(await adminCommand(port, ['CLIENT', 'LIST']));
  return list
    .split('\n')
    .filter(
      (line) => line.includes(` name=${INVALIDATIONS_CONNECTION_NAME} `) && /flags=\S*t/.test(line) && /flags=\S*P/.test(line),
    )
    .map((line) => /\bid=(\d+)/.exec(line)![1]);
}

describe('SessionInvalidations on a Redis Cluster (3 masters, 3 replicas)', () => {
  let cluster: SpawnedRedisCluster;
  let source: Cluster;
  beforeAll(async () => {
    cluster = await spawnRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1000 });
    source = new Cluster(cluster.startupNodes, { redisOptions: { commandTimeout: 2000 } });
    source.on('error', () => undefined);
    await source.ping();
  }, 60_000);
  afterAll(async () => {
    source?.disconnect();
    await cluster?.stop();
  });

  /** A key under `prefix` on each current master, by port. */
  async function keyPerMaster(prefix: string): Promise<Map<number, string>> {
    const masters = await cluster.masters();
    const keys = new Map<number, string>();
    for (let i = 0; keys.size < masters.length; i++) {
      const key = `${prefix}k${i}`;
      const port = (await cluster.masterForKey(key)).port;
      if (!keys.has(port)) keys.set(port, key);
    }
    return keys;
  }

  it('is ready only once every master is tracked (one refusing CLIENT TRACKING keeps it not ready)', async () => {
    const masters = await cluster.masters();
    const refusing = masters[1];
    await refusing.command('ACL', 'SETUSER', 'default', '-client|tracking');
    let w: Watch;
    try {
      w = watch(source, 'inv:cluster:ready:');
      await waitFor('two masters tracked', 10_000, async () => {
        const counts = await Promise.all(masters.map(async (m) => (await trackingOn(m.port)).length));
        return counts.join() === [1, 0, 1].join();
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(w.invalidations.ready).toBe(false);
      expect(w.warnings).toEqual([expect.stringContaining('+client|tracking')]);
    } finally {
      await refusing.command('ACL', 'SETUSER', 'default', '+client|tracking');
    }
    await until('ready', () => w.invalidations.ready);
    for (const master of masters) expect(await trackingOn(master.port)).toHaveLength(1);
    // Replicas hold no tracking connection: only masters take writes.
    for (const node of cluster.nodes.filter((n) => !masters.includes(n))) expect(await trackingOn(node.port)).toEqual([]);
    expect(w.flushes).toEqual([]);
  });

  it('hears a write on each master', async () => {
    const prefix = 'inv:cluster:writes:';
    const w = watch(source, prefix);
    await until('ready', () => w.invalidations.ready);
    const keys = await keyPerMaster(prefix);
    expect(keys.size).toBe(3);
    for (const key of keys.values()) await source.set(key, 'v');
    await until('every write heard', () => [...keys.values()].every((key) => w.keys.has(key)));
  });

  it('manual failover (CLUSTER FAILOVER), no traffic of the app: flush and not ready, then the new master tracked', async () => {
    const prefix = 'inv:cluster:manual:';
    const w = watch(source, prefix);
    await until('ready', () => w.invalidations.ready);
    const key = `${prefix}moved`;
    const old = await cluster.masterForKey(key);
    const replica = (await cluster.replicaOf(old))!;
    await replica.command('CLUSTER', 'FAILOVER');
    // The old master keeps every connection; ROLE on the Cluster's own connection to it tells.
    await until('the flush', () => w.flushes.length > 0, 10_000);
    expect(w.flushes[0]).toEqual({ cause: 'topology', readyAtFlush: false });
    await until('ready again', () => w.invalidations.ready);
    expect(w.flushes.every((f) => !f.readyAtFlush)).toBe(true);
    expect(await trackingOn(replica.port)).toHaveLength(1);
    await waitFor(
      'no tracking connection left on the demoted master',
      5000,
      async () => (await trackingOn(old.port)).length === 0,
    );
    await source.set(key, 'v');
    await until('the write on the new master heard', () => w.keys.has(key));
    await cluster.waitUntilHealthy();
  });

  it('SIGKILL of a master: flush and not ready; once its replica is promoted, ready with the new master tracked', async () => {
    const prefix = 'inv:cluster:failover:';
    const w = watch(source, prefix);
    await until('ready', () => w.invalidations.ready);
    const key = `${prefix}moved`;
    const { master, replica } = await cluster.killMasterForKey(key);
    expect(replica).toBeDefined();
    const killedAt = Date.now();
    await until('the flush', () => w.flushes.length > 0, 5000);
    expect(w.flushes[0]).toEqual({ cause: 'connection-lost', readyAtFlush: false });
    expect(w.invalidations.ready).toBe(false);
    await until('ready again', () => w.invalidations.ready, 30_000);
    process.stdout.write(`cluster: master ${master.port} killed, ready again after ${Date.now() - killedAt} ms\n`);
    // Every flush came with `ready` false, and the new master was a flush of its own ('topology').
    expect(w.flushes.every((f) => !f.readyAtFlush)).toBe(true);
    expect(w.flushes.map((f) => f.cause)).toContain('topology');
    expect((await cluster.masterForKey(key)).port).toBe(replica!.port);
    expect(await trackingOn(replica!.port)).toHaveLength(1);
    await source.set(key, 'v');
    await until('the write on the new master heard', () => w.keys.has(key));
  });
});

describe('SessionInvalidations under Sentinel (master, replica, 3 sentinels)', () => {
  let sentinel: SpawnedRedisSentinel;
  let source: Redis;
  let writer: Redis;
  beforeAll(async () => {
    sentinel = await spawnRedisSentinel({ replicas: 1, sentinels: 3, downAfterMs: 1000, failoverTimeoutMs: 2000 });
    // Connected, as the module's client is: its reconnects are what the tracking follows.
    source = new Redis({ sentinels: sentinel.sentinelAddresses, name: sentinel.name });
    source.on('error', () => undefined);
    writer = new Redis({ sentinels: sentinel.sentinelAddresses, name: sentinel.name, connectionName: 'nrs-test' });
    writer.on('error', () => undefined);
  }, 60_000);
  afterAll(async () => {
    source?.disconnect();
    writer?.disconnect();
    await sentinel?.stop();
  });

  it("a reconnect of the source (its normal connections killed, ours left) renews the tracking: flush('topology')", async () => {
    const w = watch(source, 'inv:sentinel:source:');
    await until('ready', () => w.invalidations.ready);
    const master = await sentinel.currentMaster();
    const [before] = await trackingOn(master.port);
    await adminCommand(master.port, ['CLIENT', 'KILL', 'TYPE', 'normal']);
    await until('the flush', () => w.flushes.length > 0, 5000);
    expect(w.flushes).toEqual([{ cause: 'topology', readyAtFlush: false }]);
    await until('ready again', () => w.invalidations.ready);
    expect(await trackingOn(master.port)).toEqual([expect.not.stringMatching(`^${before}$`)]);
  });

  it('SENTINEL FAILOVER (the old master demoted, alive): flush and not ready, then ready on the new master', async () => {
    const prefix = 'inv:sentinel:graceful:';
    const w = watch(source, prefix);
    await until('ready', () => w.invalidations.ready);
    const old = await sentinel.currentMaster();
    await adminCommand(sentinel.sentinels[0].port, ['SENTINEL', 'FAILOVER', sentinel.name]);
    const promoted = await sentinel.waitForNewMaster(old.port, 30_000);
    // The old master stays a master (the source and the tracking on it) until Sentinel converts it,
    // about 8 s on, killing its clients: the tracking's own (connection-lost), or the source's (topology).
    await until('the flush', () => w.flushes.length > 0, 30_000);
    expect(w.flushes[0]).toEqual({ cause: expect.stringMatching(/^(connection-lost|topology)$/), readyAtFlush: false });
    await until('ready again', () => w.invalidations.ready, 30_000);
    process.stdout.write(`sentinel: SENTINEL FAILOVER, flushes ${JSON.stringify(w.flushes.map((f) => f.cause))}\n`);
    expect(await trackingOn(promoted.port)).toHaveLength(1);
    await waitFor('no tracking connection on the demoted master', 5000, async () => (await trackingOn(old.port)).length === 0);
    await writer.set(`${prefix}after`, 'v');
    await until('the write on the new master heard', () => w.keys.has(`${prefix}after`));
    // The demoted master, a replica now, in sync before the next test kills the new one.
    await waitFor('the old master to replicate', 20_000, async () =>
      /master_link_status:up/.test(String(await adminCommand(old.port, ['INFO', 'replication']))),
    );
  });

  it('tracks the master; SIGKILL of it: flush and not ready, then ready again on the promoted replica', async () => {
    const prefix = 'inv:sentinel:';
    const w = watch(source, prefix);
    await until('ready', () => w.invalidations.ready);
    const old = await sentinel.currentMaster();
    expect(await trackingOn(old.port)).toHaveLength(1);
    await writer.set(`${prefix}before`, 'v');
    await until('the write heard', () => w.keys.has(`${prefix}before`));

    const killedAt = Date.now();
    sentinel.nodeAt(old.port)!.signal('SIGKILL');
    await until('the flush', () => w.flushes.length > 0, 5000);
    // Whichever close is heard first: the tracking connection's, or the source's.
    expect(w.flushes[0]).toEqual({ cause: expect.stringMatching(/^(connection-lost|topology)$/), readyAtFlush: false });
    const promoted = await sentinel.waitForNewMaster(old.port, 30_000);
    await until('ready again', () => w.invalidations.ready, 30_000);
    process.stdout.write(`sentinel: master ${old.port} killed, ready again after ${Date.now() - killedAt} ms\n`);
    expect(await trackingOn(promoted.port)).toHaveLength(1);
    expect(w.flushes.every((f) => !f.readyAtFlush)).toBe(true);
    await writer.set(`${prefix}after`, 'v');
    await until('the write on the new master heard', () => w.keys.has(`${prefix}after`));
  });
});
