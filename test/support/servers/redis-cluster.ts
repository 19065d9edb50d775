import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { adminCommand, infoFields, tryAdminCommand, waitFor } from './redis-admin.ts';
import { spawnRedisServer, trackChild, type SpawnedRedis } from './redis-server.ts';

export interface SpawnRedisClusterOptions {
  /** Masters (each owns a share of the 16384 slots). Default 3 (the minimum Redis accepts). */
  masters?: number;
  /** Replicas per master. Default 1. */
  replicasPerMaster?: number;
  /** `cluster-node-timeout` in ms: how soon a dead master is failed over. Default 1000. */
  nodeTimeoutMs?: number;
  /** Extra `redis-server` arguments for every node. */
  args?: string[];
  /** Bound on the whole start (spawn, create, converge). Default 30000 ms. */
  startTimeoutMs?: number;
}

/** One node of a spawned cluster: a `redis-server` process plus its cluster id. */
export interface ClusterNodeHandle {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** The node's cluster id (`CLUSTER MYID`), fixed for the node's life (kept in nodes.conf). */
  readonly id: string;
  pid(): number | undefined;
  /** Send a signal without waiting (SIGKILL to simulate a crash, SIGSTOP/SIGCONT). */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM and wait; the data dir is kept until the cluster's `stop()`. */
  stop(): Promise<void>;
  /** Start again on the same port and dir: the node rejoins with the id in its nodes.conf. */
  restart(): Promise<void>;
  /** 'master' or 'replica' as the node itself reports it (`ROLE`); rejects if it is down. */
  role(): Promise<'master' | 'replica'>;
  /** Runs one command on this node over a short-lived connection. */
  command(...args: Array<string | number>): Promise<unknown>;
}

/** A node as one member's `CLUSTER NODES` describes it. */
export interface ClusterNodeView {
  id: string;
  port: number;
  flags: string[];
  /** Id of the master this node replicates, or null for a master. */
  masterId: string | null;
  /** Slot ranges `[from, to]` (inclusive) served by this node; empty for a replica. */
  slots: Array<[number, number]>;
  /** True when flagged `fail` or `fail?`. */
  failing: boolean;
  node: ClusterNodeHandle | undefined;
}

export interface SpawnedRedisCluster {
  readonly nodes: ClusterNodeHandle[];
  /** Every node's address, for `new Cluster(startupNodes)`. */
  readonly startupNodes: Array<{ host: string; port: number }>;
  /** The cluster as a live node sees it now (`CLUSTER NODES`); tries nodes until one answers. */
  view(): Promise<ClusterNodeView[]>;
  /** Hash slot of a key (`CLUSTER KEYSLOT` on a live node). */
  keySlot(key: string): Promise<number>;
  /** The master serving a slot now. */
  masterForSlot(slot: number): Promise<ClusterNodeHandle>;
  /** The master serving a key's slot now. */
  masterForKey(key: string): Promise<ClusterNodeHandle>;
  /** The current masters (not failing). */
  masters(): Promise<ClusterNodeHandle[]>;
  /** A replica of `master`, if one is known. */
  replicaOf(master: ClusterNodeHandle): Promise<ClusterNodeHandle | undefined>;
  /** SIGKILLs the master serving `key`; returns it and the replica expected to take over. */
  killMasterForKey(key: string): Promise<{ master: ClusterNodeHandle; replica: ClusterNodeHandle | undefined }>;
  /**
   * Waits until every live node reports `cluster_state:ok`, all slots are served by
   * masters that are not failing, and every live replica's link to its master is up.
   */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node by PID (SIGTERM, SIGKILL after 5 s) and removes the data dirs. */
  stop(): Promise<void>;
}

const CLUSTER_SLOTS = 16384;

/**
 * A free port `p` whose cluster bus port `p + 10000` is free too, both below the
 * kernel's ephemeral range (32768+): a client retrying a dead port inside that
 * range can end up connected to itself.
 */
async function findFreeClusterPort(taken: Set<number>): Promise<number> {
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 10000 + Math.floor(Math.random() * 12000); // bus: 20000-31999
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await isFree(port)) && (await isFree(port + 10000))) {
      taken.add(port);
      taken.add(port + 10000);
      return port;
    }
  }
  throw new Error('no free port pair (port, port + 10000) found below 32000');
}

/** Runs `redis-cli` with a time bound; the process is tracked so it never outlives us. */
function runRedisCli(args: string[], timeoutMs: number): Promise<string> {
  const binary = process.env.REDIS_CLI_BIN ?? 'redis-cli';
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(proc);
    let output = '';
    proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${binary} ${args.join(' ')} did not finish in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error(`cannot run '${binary}': not found (apt-get install -y redis-tools)`)
          : err,
      );
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${binary} ${args.join(' ')} exited with ${signal ?? code}:\n${output}`));
    });
  });
}

/** Parses `CLUSTER NODES`. */
function parseClusterNodes(text: string, byPort: Map<number, ClusterNodeHandle>): ClusterNodeView[] {
  const views: ClusterNodeView[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    if (fields.length < 8) continue;
    const [id, address, flagList, master] = fields;
    const port = Number(/:(\d+)@/.exec(address)?.[1] ?? NaN);
    const flags = flagList.split(',');
    const slots: Array<[number, number]> = [];
    for (const range of fields.slice(8)) {
      if (range.startsWith('[')) continue; // importing/migrating slot
      const [from, to] = range.split('-').map(Number);
      slots.push([from, to ?? from]);
    }
    views.push({
      id,
      port,
      flags,
      masterId: master === '-' ? null : master,
      slots,
      failing: flags.includes('fail') || flags.includes('fail?'),
      node: byPort.get(port),
    });
  }
  return views;
}

/**
 * Starts a Redis Cluster of private `redis-server`s on free ports (and free bus
 * ports), each in its own temp dir, creates it with `redis-cli --cluster create`,
 * and waits (bounded) until every node reports `cluster_state:ok` and every replica
 * is in sync. If anything fails half-way, every node started so far is stopped (by
 * PID) before the error is thrown.
 */
export async function spawnRedisCluster(options: SpawnRedisClusterOptions = {}): Promise<SpawnedRedisCluster> {
  const masterCount = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const started = Date.now();
  const remaining = () => Math.max(1000, startTimeoutMs - (Date.now() - started));
  if (masterCount < 3) throw new Error('a Redis Cluster needs at least 3 masters');

  const servers: SpawnedRedis[] = [];
  const stopAll = async () => {
    await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
  };

  try {
    const taken = new Set<number>();
    const total = masterCount * (1 + replicasPerMaster);
    const spawnNode = async (): Promise<SpawnedRedis> => {
      for (let attempt = 0; ; attempt++) {
        const port = await findFreeClusterPort(taken);
        try {
          return await spawnRedisServer({
            port,
            args: [
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              'nodes.conf',
              '--cluster-node-timeout',
              String(nodeTimeoutMs),
              // Replicas sync at once, not after the default 5 s wait for more replicas.
              '--repl-diskless-sync-delay',
              '0',
              ...(options.args ?? []),
            ],
          });
        } catch (err) {
          // The port (or its bus port) was taken between the probe and the bind.
          if (attempt < 5 && /address already in use/i.test(String(err))) continue;
          throw err;
        }
      }
    };
    // One at a time: on 2 cores, 6 servers starting at once gain nothing.
    for (let i = 0; i < total; i++) servers.push(await spawnNode());

    await runRedisCli(
      [
        '--cluster',
        'create',
        ...servers.map((server) => `${server.host}:${server.port}`),
        '--cluster-replicas',
        String(replicasPerMaster),
        '--cluster-yes',
      ],
      remaining(),
    );

    const ids = await Promise.all(servers.map(async (server) => String(await adminCommand(server.port, ['CLUSTER', 'MYID']))));
    const nodes: ClusterNodeHandle[] = servers.map((server, i) => ({
      host: server.host,
      port: server.port,
      url: server.url,
      dir: server.dir,
      id: ids[i],
      pid: () => server.pid(),
      signal: (signal) => server.signal(signal),
      stop: () => server.stop({ keepDir: true }),
      restart: () => server.restart(),
      async role() {
        const reply = (await adminCommand(server.port, ['ROLE'])) as unknown[];
        return reply[0] === 'master' ? 'master' : 'replica';
      },
      command: (...args) => adminCommand(server.port, args),
    }));
    const byPort = new Map(nodes.map((node) => [node.port, node]));
    const byId = new Map(nodes.map((node) => [node.id, node]));

    const isAlive = (node: ClusterNodeHandle) => {
      const pid = node.pid();
      if (pid === undefined) return false;
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };

    const view = async (): Promise<ClusterNodeView[]> => {
      let lastError = 'no live node';
      for (const node of nodes) {
        if (!isAlive(node)) continue;
        try {
          return parseClusterNodes(String(await adminCommand(node.port, ['CLUSTER', 'NODES'])), byPort);
        } catch (err) {
          lastError = err instanceof Error ? err.message : String(err);
        }
      }
      throw new Error(`no cluster node answered CLUSTER NODES: ${lastError}`);
    };

    const anyLive = async (args: Array<string | number>): Promise<unknown> => {
      for (const node of nodes) {
        if (!isAlive(node)) continue;
        const reply = await tryAdminCommand(node.port, args);
        if (reply !== null) return reply;
      }
      throw new Error(`no cluster node answered ${args.join(' ')}`);
    };

    const keySlot = async (key: string) => Number(await anyLive(['CLUSTER', 'KEYSLOT', key]));

    const masterForSlot = async (slot: number): Promise<ClusterNodeHandle> => {
      const views = await view();
      const owner = views.find(
        (v) => v.flags.includes('master') && !v.failing && v.slots.some(([from, to]) => slot >= from && slot <= to),
      );
      if (!owner?.node) throw new Error(`no live master serves slot ${slot}`);
      return owner.node;
    };

    const masterForKey = async (key: string) => masterForSlot(await keySlot(key));

    const masters = async (): Promise<ClusterNodeHandle[]> => {
      const views = await view();
      return views
        .filter((v) => v.flags.includes('master') && !v.failing && v.slots.length > 0 && v.node)
        .map((v) => v.node as ClusterNodeHandle);
    };

    const replicaOf = async (master: ClusterNodeHandle): Promise<ClusterNodeHandle | undefined> => {
      const views = await view();
      return views.find((v) => v.masterId === master.id && !v.failing)?.node;
    };

    const waitUntilHealthy = async (timeoutMs = 20_000): Promise<void> => {
      await waitFor('a healthy cluster', timeoutMs, async (explain) => {
        const live = nodes.filter(isAlive);
        for (const node of live) {
          const info = String(await adminCommand(node.port, ['CLUSTER', 'INFO']));
          if (!/^cluster_state:ok\r?$/m.test(info)) return (explain(`${node.port}: cluster_state is not ok`), false);
          if (!new RegExp(`^cluster_slots_ok:${CLUSTER_SLOTS}\\r?$`, 'm').test(info)) {
            return (explain(`${node.port}: not all slots ok`), false);
          }
        }
        const views = await view();
        let covered = 0;
        for (const v of views) {
          if (!v.flags.includes('master') || v.failing) continue;
          for (const [from, to] of v.slots) covered += to - from + 1;
        }
        if (covered !== CLUSTER_SLOTS) return (explain(`live masters serve ${covered} slots`), false);
        for (const v of views) {
          if (!v.masterId || !v.node || !isAlive(v.node)) continue;
          const replication = await infoFields(v.node.port, 'replication');
          if (replication.master_link_status !== 'up') {
            return (explain(`replica ${v.port} of ${byId.get(v.masterId)?.port}: link ${replication.master_link_status}`), false);
          }
        }
        return true;
      });
    };

    // Every node agrees on the slots, and every replica has synced.
    await waitUntilHealthy(remaining());
    await waitFor('every node to know every other node', remaining(), async (explain) => {
      for (const node of nodes) {
        const info = String(await adminCommand(node.port, ['CLUSTER', 'INFO']));
        const known = Number(/^cluster_known_nodes:(\d+)/m.exec(info)?.[1]);
        if (known !== nodes.length) return (explain(`${node.port} knows ${known} nodes`), false);
      }
      return true;
    });

    return {
      nodes,
      startupNodes: nodes.map((node) => ({ host: node.host, port: node.port })),
      view,
      keySlot,
      masterForSlot,
      masterForKey,
      masters,
      replicaOf,
      async killMasterForKey(key) {
        const master = await masterForKey(key);
        const replica = await replicaOf(master);
        master.signal('SIGKILL');
        return { master, replica };
      },
      waitUntilHealthy,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
