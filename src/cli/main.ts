#!/usr/bin/env node
/**
 * `npx nestjs-redis-session ...`: the operator's CLI (see USAGE in ./args.ts).
 * Lists and revokes sessions through the library's own SessionService, so the key
 * layout lives in one place; `stats` walks the prefix with SCAN (./stats.ts).
 *
 * Redis commands sent from this file: QUIT when done (the commands themselves are sent by
 * the library's store and by ./stats.ts).
 */
import type { Redis } from 'ioredis';
import { BIN, Exit, parseCommandLine, USAGE, type Invocation } from './args.js';
import { redactUrl } from './format.js';

/**
 * How long the CLI waits for Redis to accept a connection, and for each command, ms:
 * REDIS_TIMEOUT_MS, else 2000. A busy host (or a far Redis) may need more.
 */
const DEFAULT_TIMEOUT_MS = 2000;
const MAX_TIMEOUT_MS = 600_000;

class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (parsed.kind === 'help') {
    await write(process.stdout, USAGE);
    return Exit.Ok;
  }
  if (parsed.kind === 'usage-error') return usageError(parsed.message);
  const invocation = parsed.invocation;

  const timeoutMs = env.REDIS_TIMEOUT_MS === undefined ? DEFAULT_TIMEOUT_MS : Number(env.REDIS_TIMEOUT_MS);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    return usageError(`REDIS_TIMEOUT_MS must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}.`);
  }

  const url = env.REDIS_URL;
  if (!url) return usageError('REDIS_URL is not set: export REDIS_URL=redis://host:6379 (there is no default server).');
  if (!/^rediss?:\/\/./.test(url) || !URL.canParse(url)) {
    return usageError(`REDIS_URL must be a redis:// or rediss:// URL (got ${redactUrl(url)}).`);
  }
  // The module's own validation of the prefix and ttl (the URL is checked above, so that
  // a message never echoes a password).
  const { validateSessionOptions } = await import('../options/validate.js');
  const problems = validateSessionOptions(moduleOptions(invocation, { url: 'redis://localhost' }, timeoutMs));
  if (problems.length > 0) {
    const asFlags = problems.map((p) => p.replace('`keyPrefix`', '--prefix').replace('`ttl`', '--ttl'));
    return usageError(`Invalid options:\n${asFlags.map((p) => `  - ${p}`).join('\n')}`);
  }

  // Nest and the library take most of a second to load: load them while connecting.
  const library = loadLibrary();
  library.catch(() => undefined); // awaited below; a failed connect exits without it
  let client: Redis | undefined;
  let graceful = false;
  try {
    client = await connect(url, timeoutMs);
    const output = await withSessionModule(await library, client, invocation, timeoutMs);
    graceful = true;
    if (output.stdout) await write(process.stdout, output.stdout);
    if (output.stderr) await write(process.stderr, output.stderr);
    return output.exitCode;
  } catch (err) {
    if (err instanceof CliExit) {
      await write(process.stderr, `${BIN}: ${err.message}\n`);
      return err.exitCode;
    }
    if (isRedisFailure(err, client)) {
      await write(process.stderr, `${BIN}: Redis could not answer at ${redactUrl(url)}: ${describe(err)}\n`);
      return Exit.RedisUnavailable;
    }
    throw err;
  } finally {
    if (client) await close(client, graceful);
  }
}

function moduleOptions(invocation: Invocation, redis: { url: string }, timeoutMs: number) {
  return {
    redis,
    redisTimeoutMs: timeoutMs,
    keyPrefix: invocation.prefix,
    // ttl only shapes the derived lastActivityAt in lists; absoluteTtl must not be below it.
    ttl: invocation.ttlSeconds,
    absoluteTtl: Math.max(invocation.ttlSeconds, 43200),
  };
}

/**
 * A connection of the CLI's own, connected before anything else runs: an unreachable
 * Redis is reported within `timeoutMs`, and no command ever queues or retries.
 */
async function connect(url: string, timeoutMs: number): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableAutoPipelining: false,
    connectionName: 'nestjs-redis-session-cli',
  });
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([client.connect(), deadline]);
    return client;
  } catch (err) {
    client.disconnect();
    const reason = describe(lastError ?? err);
    throw new CliExit(Exit.RedisUnavailable, `Redis unreachable at ${redactUrl(url)}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}

async function loadLibrary() {
  await import('reflect-metadata');
  const [{ NestFactory }, { SessionModule }, { SessionService }, { SessionStore }, { runCommand }] = await Promise.all([
    import('@nestjs/core'),
    import('../session.module.js'),
    import('../core/service.js'),
    import('../core/store.js'),
    import('./commands.js'),
  ]);
  return { NestFactory, SessionModule, SessionService, SessionStore, runCommand };
}

/** Boots SessionModule on the CLI's connection (no HTTP, no logs) and runs the command. */
async function withSessionModule(
  { NestFactory, SessionModule, SessionService, SessionStore, runCommand }: Awaited<ReturnType<typeof loadLibrary>>,
  client: Redis,
  invocation: Invocation,
  timeoutMs: number,
) {
  const app = await NestFactory.createApplicationContext(
    // `{ client }`: the module adopts the connection and never closes it; close() below does.
    SessionModule.forRoot({ ...moduleOptions(invocation, { url: '' }, timeoutMs), redis: { client }, controller: false }),
    { logger: false, abortOnError: false },
  );
  try {
    return await runCommand(invocation.command, {
      service: app.get(SessionService),
      store: app.get(SessionStore),
      client,
      prefix: invocation.prefix,
      json: invocation.json,
    });
  } finally {
    await app.close();
  }
}

/** QUIT after a success (bounded); after a failure Redis may be stalled, so just drop the connection. */
async function close(client: Redis, graceful: boolean): Promise<void> {
  if (graceful && client.status === 'ready') {
    await Promise.race([client.quit().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 500).unref())]);
  }
  client.disconnect();
}

/**
 * A failure of Redis rather than of the CLI: the library's 503 exception (it wraps every
 * Redis error), an error reply, a timeout, or a connection that is gone.
 */
function isRedisFailure(err: unknown, client: Redis | undefined): boolean {
  if (client && client.status !== 'ready') return true;
  if (!(err instanceof Error)) return false;
  if (err.name === 'ServiceUnavailableException' || err.constructor.name === 'SessionStoreUnavailableException') return true;
  return err.name === 'ReplyError' || /timed out|Connection is closed|not writeable|max retries/i.test(err.message);
}

/** The root cause's message: SessionStoreUnavailableException carries the Redis error as `cause`. */
function describe(err: unknown): string {
  let current = err;
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause !== undefined; depth++) current = current.cause;
  if (current instanceof Error) {
    const code = (current as { code?: unknown }).code;
    return typeof code === 'string' && !current.message.includes(code) ? `${current.message} (${code})` : current.message;
  }
  return String(current);
}

async function usageError(message: string): Promise<number> {
  await write(process.stderr, `${BIN}: ${message}\n\n${USAGE}`);
  return Exit.Usage;
}

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  async (err: unknown) => {
    await write(process.stderr, `${BIN}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(Exit.Internal);
  },
);
