import { spawnRedisServer } from './redis-server.ts';

/** Where a Redis came from, and how to let it go. */
export interface ProvidedRedis {
  url: string;
  source: 'REDIS_URL' | 'testcontainers' | 'redis-server';
  stop(): Promise<void>;
}

const CONTAINER_IMAGE = process.env.REDIS_IMAGE ?? 'redis:7.4-alpine';

/**
 * A Redis for tests and the demo: `REDIS_URL` if set; else a container through
 * testcontainers when a container runtime answers; else a private `redis-server`
 * on a free port; else an error that says how to get one.
 */
export async function provideRedis(log: (line: string) => void = () => {}): Promise<ProvidedRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) return { url: fromEnv, source: 'REDIS_URL', stop: async () => {} };

  const container = await tryContainer(log);
  if (container) return container;

  try {
    const server = await spawnRedisServer();
    log(`started redis-server (pid ${server.pid()}) on ${server.url}`);
    return { url: server.url, source: 'redis-server', stop: () => server.stop() };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      'No Redis available. Set REDIS_URL=redis://host:port, or run a container runtime (Docker) ' +
        `for testcontainers, or install redis-server (apt-get install -y redis-server). Last error: ${reason}`,
      { cause: err },
    );
  }
}

async function tryContainer(log: (line: string) => void): Promise<ProvidedRedis | null> {
  if (process.env.TESTCONTAINERS_DISABLED === 'true') return null;
  let testcontainers: typeof import('testcontainers');
  let redisModule: typeof import('@testcontainers/redis');
  try {
    testcontainers = await import('testcontainers');
    redisModule = await import('@testcontainers/redis');
  } catch {
    return null; // not installed (e.g. production install of the demo)
  }
  try {
    // Rejects within milliseconds when no Docker/Podman socket answers.
    await testcontainers.getContainerRuntimeClient();
  } catch {
    log('no container runtime found; falling back to a local redis-server');
    return null;
  }
  const container = await new redisModule.RedisContainer(CONTAINER_IMAGE).start();
  const url = container.getConnectionUrl();
  log(`started ${CONTAINER_IMAGE} with testcontainers on ${url}`);
  return { url, source: 'testcontainers', stop: async () => void (await container.stop()) };
}
