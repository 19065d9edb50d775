import { adminCommand, infoFields, tryAdminCommand, waitFor } from './redis-admin.ts';
import { spawnRedisServer, type SpawnedRedis } from './redis-server.ts';

export interface SpawnRedisSentinelOptions {
  /** Replicas of the master. Default 1. */
  replicas?: number;
  /** Sentinels. Default 3. */
  sentinels?: number;
  /** Sentinels that must agree the master is down. Default a majority of `sentinels`. */
  quorum?: number;
  /** `sentinel down-after-milliseconds`. Default 1000. */
  downAfterMs?: number;
  /** `sentinel failover-timeout`. Default 2000. */
  failoverTimeoutMs?: number;
  /** The monitored master's name. Default 'mymaster'. */
  masterName?: string;
  /** Extra `redis-server` arguments for the master. */
  masterArgs?: string[];
  /** Extra `redis-server` arguments for each replica. */
  replicaArgs?: string[];
  /** Bound on the whole start. Default 30000 ms. */
  startTimeoutMs?: number;
}

export interface SpawnedRedisSentinel {
  /** The master as started (after a failover it may be down, or a replica). */
  readonly master: SpawnedRedis;
  readonly replicas: SpawnedRedis[];
  readonly sentinels: SpawnedRedis[];
  /** Master and replicas, in that order. */
  readonly dataNodes: SpawnedRedis[];
  /** For ioredis: `new Redis({ sentinels: sentinelAddresses, name })`. */
  readonly sentinelAddresses: Array<{ host: string; port: number }>;
  readonly name: string;
  /** The master the sentinels report now (`SENTINEL GET-MASTER-ADDR-BY-NAME`, first sentinel that answers). */
  currentMaster(): Promise<{ host: string; port: number }>;
  /** The data node listening on `port`. */
  nodeAt(port: number): SpawnedRedis | undefined;
  /**
   * Waits until the sentinels report a master other than `oldPort` and that server
   * says it is a master; returns it.
   */
  waitForNewMaster(oldPort: number, timeoutMs?: number): Promise<{ host: string; port: number }>;
  /** Stops every process by PID (SIGTERM, SIGKILL after 5 s) and removes the temp dirs. */
  stop(): Promise<void>;
}

/** A flat `[field, value, ...]` reply as an object. */
function pairs(reply: unknown): Record<string, string> {
  const list = Array.isArray(reply) ? reply.map(String) : [];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]] = list[i + 1];
  return out;
}

/**
 * Starts a master, its replicas (`--replicaof`) and Sentinels (`redis-server <conf>
 * --sentinel`, the conf in each sentinel's temp dir), all private and on free ports,
 * and waits (bounded) until the replicas are in sync and every sentinel sees the
 * master, all its replicas and all other sentinels: a failover can then start as soon
 * as the master dies. If anything fails half-way, everything started so far is
 * stopped (by PID) before the error is thrown.
 */
export async function spawnRedisSentinel(options: SpawnRedisSentinelOptions = {}): Promise<SpawnedRedisSentinel> {
  const replicaCount = options.replicas ?? 1;
  const sentinelCount = options.sentinels ?? 3;
  const quorum = options.quorum ?? Math.floor(sentinelCount / 2) + 1;
  const downAfterMs = options.downAfterMs ?? 1000;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 2000;
  const name = options.masterName ?? 'mymaster';
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const started = Date.now();
  const remaining = () => Math.max(1000, startTimeoutMs - (Date.now() - started));
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`unusable master name '${name}'`);

  const all: SpawnedRedis[] = [];
  const stopAll = async () => {
    await Promise.all(all.map((server) => server.stop().catch(() => undefined)));
  };

  try {
    // Replicas start their full sync at once instead of waiting 5 s for more replicas.
    const dataArgs = ['--repl-diskless-sync-delay', '0'];
    const master = await spawnRedisServer({ args: [...dataArgs, ...(options.masterArgs ?? [])] });
    all.push(master);
    const replicas: SpawnedRedis[] = [];
    for (let i = 0; i < replicaCount; i++) {
      const replica = await spawnRedisServer({
        args: [...dataArgs, '--replicaof', master.host, String(master.port), ...(options.replicaArgs ?? [])],
      });
      all.push(replica);
      replicas.push(replica);
    }
    const dataNodes = [master, ...replicas];

    await waitFor('the replicas to sync with the master', remaining(), async (explain) => {
      for (const replica of replicas) {
        const replication = await infoFields(replica.port, 'replication');
        if (replication.master_link_status !== 'up')
          return (explain(`replica ${replica.port}: link ${replication.master_link_status}`), false);
      }
      return true;
    });

    const config = [
      'sentinel resolve-hostnames no',
      'sentinel announce-hostnames no',
      `sentinel monitor ${name} ${master.host} ${master.port} ${quorum}`,
      `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
      `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
      `sentinel parallel-syncs ${name} 1`,
      '',
    ].join('\n');
    const sentinels: SpawnedRedis[] = [];
    for (let i = 0; i < sentinelCount; i++) {
      const sentinel = await spawnRedisServer({
        config,
        args: ['--sentinel'],
        // Sentinel (7.0) logs no "ready to accept connections"; it listens before this line.
        readyPattern: /\+monitor master/,
      });
      all.push(sentinel);
      sentinels.push(sentinel);
    }

    await waitFor('every sentinel to see the master, its replicas and the other sentinels', remaining(), async (explain) => {
      for (const sentinel of sentinels) {
        const state = pairs(await adminCommand(sentinel.port, ['SENTINEL', 'MASTER', name]));
        if (state.flags !== 'master') return (explain(`sentinel ${sentinel.port}: master flags ${state.flags}`), false);
        const seen = ((await adminCommand(sentinel.port, ['SENTINEL', 'REPLICAS', name])) as unknown[]).map(pairs);
        const ready = seen.filter((r) => r.flags === 'slave' && r['master-link-status'] === 'ok');
        if (ready.length !== replicaCount)
          return (explain(`sentinel ${sentinel.port} sees ${ready.length} ready replicas`), false);
        const others = (await adminCommand(sentinel.port, ['SENTINEL', 'SENTINELS', name])) as unknown[];
        if (others.length !== sentinelCount - 1)
          return (explain(`sentinel ${sentinel.port} knows ${others.length} other sentinels`), false);
      }
      return true;
    });

    const currentMaster = async (): Promise<{ host: string; port: number }> => {
      for (const sentinel of sentinels) {
        const reply = await tryAdminCommand(sentinel.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name], { timeoutMs: 1000 });
        if (Array.isArray(reply) && reply.length === 2) return { host: String(reply[0]), port: Number(reply[1]) };
      }
      throw new Error(`no sentinel answered GET-MASTER-ADDR-BY-NAME ${name}`);
    };

    return {
      master,
      replicas,
      sentinels,
      dataNodes,
      sentinelAddresses: sentinels.map((sentinel) => ({ host: sentinel.host, port: sentinel.port })),
      name,
      currentMaster,
      nodeAt: (port) => dataNodes.find((node) => node.port === port),
      async waitForNewMaster(oldPort, timeoutMs = 20_000) {
        return waitFor(`the sentinels to promote a new master (old: ${oldPort})`, timeoutMs, async (explain) => {
          const current = await currentMaster();
          if (current.port === oldPort) return (explain(`still ${oldPort}`), false);
          const role = (await adminCommand(current.port, ['ROLE'], { timeoutMs: 1000 })) as unknown[];
          if (role[0] !== 'master') return (explain(`${current.port} is still a ${String(role[0])}`), false);
          return current;
        });
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
