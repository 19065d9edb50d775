import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  /**
   * Contents of a config file, written to `<dir>/redis.conf` and passed as the first
   * argument (before the `--options`): Sentinel refuses to start without one and
   * rewrites it with what it learns.
   */
  config?: string;
  /** The log line that means "ready"; default `/ready to accept connections/i`. */
  readyPattern?: RegExp;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
let watchdog: ChildProcess | undefined;

/**
 * The watchdog: a small detached `node` process reading "+pid [dir]"/"-pid" lines on
 * its stdin. When that pipe closes (this process exited, crashed, or was SIGKILLed) it
 * SIGKILLs every pid still listed, unless the pid now belongs to another process (start
 * time changed), and removes the listed temp dir (only a `nrs-redis-*` dir in the temp
 * dir). This is what cleans up inside Jest, whose sandbox gives test files a copy of
 * `process` on which 'exit' listeners never fire.
 */
const WATCHDOG = `
const fs = require('fs');
const os = require('os');
const path = require('path');
const started = new Map();
const dirs = new Map();
const startTime = (pid) => {
  try { return fs.readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ').pop().split(' ')[19]; }
  catch { return fs.existsSync('/proc/self/stat') ? null : 'unknown'; }
};
let buffer = '';
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  let newline;
  while ((newline = buffer.indexOf('\\n')) >= 0) {
    const line = buffer.slice(0, newline);
    buffer = buffer.slice(newline + 1);
    const space = line.indexOf(' ');
    const pid = Number(line.slice(1, space < 0 ? undefined : space));
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (line[0] === '+') {
      started.set(pid, startTime(pid));
      if (space > 0) dirs.set(pid, line.slice(space + 1));
    } else {
      started.delete(pid);
      dirs.delete(pid);
    }
  }
});
const reap = () => {
  for (const [pid, time] of started) {
    const now = startTime(pid);
    if (now === null || (time !== 'unknown' && now !== time)) continue;
    try { process.kill(pid, 'SIGKILL'); } catch {}
  }
  for (const dir of dirs.values()) {
    if (path.dirname(dir) !== path.resolve(os.tmpdir()) || !path.basename(dir).startsWith('nrs-redis-')) continue;
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch {}
  }
  process.exit(0);
};
process.stdin.on('end', reap);
process.stdin.on('close', reap);
process.stdin.on('error', reap);
`;

function tellWatchdog(line: string): void {
  if (!watchdog) {
    try {
      const proc = spawn(process.execPath, ['-e', WATCHDOG], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
      proc.on('error', () => undefined);
      proc.stdin?.on('error', () => undefined);
      // Neither the process nor its pipe may keep this process (or a Jest worker) alive.
      proc.unref();
      (proc.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      watchdog = proc;
    } catch {
      return; // the exit hook still covers plain Node processes
    }
  }
  watchdog.stdin?.write(`${line}\n`);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test run must not leave redis-servers behind. (In plain Node; inside a
  // Jest test file this listener never runs, and the watchdog does the job.)
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/**
 * Puts a child process under the exit hook and the watchdog: it is SIGKILLed when this
 * process exits or dies, however it dies, while the child still runs (and `tempDir`, a
 * `nrs-redis-*` dir of its own, is removed with it). Every process the test harness
 * spawns (servers, sentinels, `redis-cli --cluster create`) goes through this.
 */
export function trackChild(child: ChildProcess, tempDir?: string): ChildProcess {
  installExitHook();
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return child;
  live.add(child);
  tellWatchdog(tempDir && !/\s/.test(tempDir) ? `+${pid} ${tempDir}` : `+${pid}`);
  child.once('exit', () => {
    live.delete(child);
    tellWatchdog(`-${pid}`);
  });
  return child;
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

function waitForReady(child: ChildProcess, timeoutMs: number, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis-server was not ready after ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) {
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

  const waitExit = (proc: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
    });

  let configPath: string | undefined;
  if (options.config !== undefined) {
    configPath = join(dir, 'redis.conf');
    writeFileSync(configPath, options.config);
  }

  const start = async (): Promise<void> => {
    const args = [
      ...(configPath ? [configPath] : []),
      '--port',
      String(port),
      '--bind',
      host,
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--logfile',
      '',
      ...(options.args ?? []),
    ];
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stderr?.resume();
    trackChild(proc, ownsDir ? dir : undefined);
    child = proc;
    try {
      await waitForReady(proc, options.readyTimeoutMs ?? 10_000, options.readyPattern ?? /ready to accept connections/i);
    } catch (err) {
      // Not ready in time (or exited): make sure it is gone before reporting.
      if (proc.pid !== undefined) {
        proc.kill('SIGKILL');
        await waitExit(proc);
      }
      throw err;
    }
  };

  for (let attempt = 0; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (ownsDir && !(options.port === undefined && attempt < 5 && /address already in use/i.test(message))) {
        rmSync(dir, { recursive: true, force: true });
      }
      // Another process took the port between the probe and the bind: try another.
      if (options.port === undefined && attempt < 5 && /address already in use/i.test(message)) {
        port = await findFreePort();
        continue;
      }
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(
          `cannot start '${binary}': not found. Install Redis (apt-get install -y redis-server) ` +
            'or set REDIS_URL to a Redis you own.',
          { cause: err },
        );
      }
      throw err;
    }
  }

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
