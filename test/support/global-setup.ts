import { provideRedis } from './servers/redis-provider.ts';

/**
 * One Redis for the whole run (suites use their own key prefixes); suites that
 * stop or pause Redis start a private redis-server of their own.
 */
export default async function globalSetup(): Promise<void> {
  const redis = await provideRedis((line) => process.stderr.write(`[test redis] ${line}\n`));
  process.env.NRS_TEST_REDIS_URL = redis.url;
  (globalThis as { __nrsRedisStop?: () => Promise<void> }).__nrsRedisStop = redis.stop;
}
