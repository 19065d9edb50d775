import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from '@jest/globals';
import { Redis } from 'ioredis';
import { spawnRedisServer, type SpawnedRedis, type SpawnRedisOptions } from './servers/redis-server.js';

export { spawnRedisServer, type SpawnedRedis };

/**
 * A private redis-server for the enclosing describe block, for tests that read its
 * global stats or stop, pause or kill it: started in beforeAll, stopped (by PID) in afterAll.
 * The returned object is filled in once beforeAll has run.
 */
export function usePrivateRedis(options?: SpawnRedisOptions): { server: SpawnedRedis; admin: Redis } {
  const handle = {} as { server: SpawnedRedis; admin: Redis };
  beforeAll(async () => {
    handle.server = await spawnRedisServer(options);
    handle.admin = assertionClient(handle.server.url);
    await handle.admin.ping();
  });
  afterAll(async () => {
    handle.admin?.disconnect();
    await handle.server?.stop();
  });
  return handle;
}

/** The Redis the global setup provided (REDIS_URL, testcontainers, or a spawned redis-server). */
export function testRedisUrl(): string {
  const url = process.env.NRS_TEST_REDIS_URL;
  if (!url) throw new Error('NRS_TEST_REDIS_URL is not set: run the tests through jest (globalSetup provides Redis)');
  return url;
}

/** A key prefix no other test uses, so every test owns its keys and needs no FLUSHALL. */
export function uniquePrefix(name: string): string {
  return `t:${name}:${randomBytes(4).toString('hex')}:`;
}

/** CLIENT LIST name of the tests' own connections, so tests can count the module's. */
export const TEST_CLIENT_NAME = 'nrs-test';

/** A plain client for assertions on what the module wrote. */
export function assertionClient(url = testRedisUrl()): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, connectionName: TEST_CLIENT_NAME });
}

/** Every key under a prefix (SCAN is fine in tests; the module never uses it). */
export async function keysWithPrefix(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', '1000');
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Every key under a prefix with its type, TTL and full content, for invariant checks. */
export async function dumpPrefix(
  client: Redis,
  prefix: string,
): Promise<Array<{ key: string; type: string; pttl: number; content: string }>> {
  const keys = await keysWithPrefix(client, prefix);
  return Promise.all(
    keys.map(async (key) => {
      const [type, pttl] = await Promise.all([client.type(key), client.pttl(key)]);
      let content = '';
      if (type === 'string') content = (await client.get(key)) ?? '';
      else if (type === 'zset') content = (await client.zrange(key, 0, '-1', 'WITHSCORES')).join(' ');
      else if (type === 'hash') content = JSON.stringify(await client.hgetall(key));
      return { key, type, pttl, content };
    }),
  );
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
