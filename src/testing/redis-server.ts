import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A `redis-server` process this code started, on its own port and temp dir. */
export interface SpawnedRedis {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  pid(): number | undefined;
  /** SIGTERM, wait for exit, remove the temp dir (unless `keepDir`). */
  stop(options?: { keepDir?: boolean }): Promise<void>;
  /** Send a signal without waiting (SIGKILL, SIGSTOP, SIGCONT...). */
  signal(signal: NodeJS.Signals): void;
  /** Start again on the same port and dir (after `stop({ keepDir: true })` or a SIGKILL). */
  restart(): Promise<void>;
}

export interface SpawnRedisOptions {
  /** Extra `redis-server` arguments, e.g. `['--appendonly', 'yes']`. */
  args?: string[];
  /** Use this port instead of a free one. */
  port?: number;
  /** Use this data dir instead of a new temp dir. */
  dir?: string;
  /** Binary to run; default `$REDIS_SERVER_BIN` or `redis-server` on PATH. */
  binary?: string;
  /** Milliseconds to wait for "Ready to accept connections"; default 10000. */
  readyTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test run must not leave redis-servers behind.
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/**
 * A free TCP port below the kernel's ephemeral range (32768+ on Linux): a client
 * that retries a dead port inside that range can end up connected to itself.
 */
export async function findFreePort(min = 20000, max = 32000): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = min + Math.floor(Math.random() * (max - min));
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free TCP port found between ${min} and ${max}`);
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis-server was not ready after ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/ready to accept connections/i.test(output)) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`redis-server exited (code ${code}) before it was ready:\n${output}`));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    function cleanup() {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      // Keep draining stdout so a chatty server never blocks on a full pipe.
      child.stdout?.resume();
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Start a private `redis-server` (never on 6379) and wait until it accepts connections. */
export async function spawnRedisServer(options: SpawnRedisOptions = {}): Promise<SpawnedRedis> {
  installExitHook();
  const binary = options.binary ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'nrs-redis-'));
  const ownsDir = options.dir === undefined;
  const host = '127.0.0.1';
  let port = options.port ?? (await findFreePort());
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const args = [
      '--port', String(port),
      '--bind', host,
      '--dir', dir,
      '--save', '',
      '--appendonly', 'no',
      '--daemonize', 'no',
      '--logfile', '',
      ...(options.args ?? []),
    ];
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stderr?.resume();
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    child = proc;
    await waitForReady(proc, options.readyTimeoutMs ?? 10_000);
  };

  for (let attempt = 0; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // Another process took the port between the probe and the bind: try another.
      if (options.port === undefined && attempt < 5 && /address already in use/i.test(message)) {
        port = await findFreePort();
        continue;
      }
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(
          `cannot start '${binary}': not found. Install Redis (apt-get install -y redis-server) ` +
            'or set REDIS_URL to a Redis you own.',
        );
      }
      throw err;
    }
  }

  const waitExit = (proc: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
    });

  return {
    host,
    port,
    url: `redis://${host}:${port}`,
    dir,
    pid: () => child?.pid,
    async stop(stopOptions) {
      const proc = child;
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGCONT'); // a paused server cannot handle SIGTERM
        proc.kill('SIGTERM');
        const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await waitExit(proc);
        clearTimeout(killer);
      }
      if (ownsDir && !stopOptions?.keepDir) rmSync(dir, { recursive: true, force: true });
    },
    signal(signal) {
      child?.kill(signal);
    },
    async restart() {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await waitExit(child);
      }
      await start();
    },
  };
}
