import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RedisDeadline, RedisDeadlineError } from '../src/core/redis/deadline.js';
import { usePrivateRedis } from './support/redis.js';

/** Keeps the event loop busy, as a long GC pause or a CPU-bound request would. */
function blockLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy on purpose
  }
}

describe('the deadline on Redis calls (redisTimeoutMs)', () => {
  const redis = usePrivateRedis();

  it('accepts a reply that arrived in time while the event loop was blocked past the deadline (no false 503)', async () => {
    const client = new Redis(redis.server.url);
    const deadline = new RedisDeadline(200);
    try {
      await client.ping();
      // The reply is in the socket within a millisecond; the loop only gets to read it
      // after 600 ms, when the sweep timer is already overdue.
      const answers = Array.from({ length: 20 }, (_, i) => deadline.within(client.echo(`reply ${i}`)));
      blockLoop(600);
      await expect(Promise.all(answers)).resolves.toHaveLength(20);
    } finally {
      deadline.stop();
      client.disconnect();
    }
  });

  it('still rejects a call whose reply does not come: a paused Redis answers 503 about the deadline later', async () => {
    const client = new Redis(redis.server.url);
    const deadline = new RedisDeadline(300);
    try {
      await client.ping();
      await redis.admin.client('PAUSE', 1500, 'ALL');
      const started = Date.now();
      const error = await deadline.within(client.get('k')).catch((err: unknown) => err);
      const waited = Date.now() - started;
      expect(error).toBeInstanceOf(RedisDeadlineError);
      expect(waited).toBeGreaterThanOrEqual(300);
      expect(waited).toBeLessThan(1000);
    } finally {
      deadline.stop();
      client.disconnect();
      await redis.admin.client('UNPAUSE');
    }
  });
});
