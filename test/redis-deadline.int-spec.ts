import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RedisDeadline, RedisDeadlineError } from '../src/core/redis/deadline.js';
import { usePrivateRedis } from './support/redis.js';
import { createServiceHarness } from './support/service.js';

/** Keeps the event loop busy, as a long GC pause or a CPU-bound request would. */
function blockLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy on purpose
  }
}

/** A script that keeps Redis busy for 10 ms. */
const BUSY_10_MS = `
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat
  t = redis.call('TIME')
until t[1] * 1000000 + t[2] - start >= 10000
return 1`;

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

  it('does not count a blocked event loop against Redis: calls not yet written when it blocked are answered', async () => {
    // Auto-pipelining writes on a later turn of the loop: the block comes before the write.
    const client = new Redis(redis.server.url, { enableAutoPipelining: true });
    const deadline = new RedisDeadline(200);
    try {
      await client.ping();
      // Each call keeps Redis busy 10 ms: the replies cannot be back by the first turn after the block.
      const answers = Array.from({ length: 5 }, () => deadline.within(client.eval(BUSY_10_MS, 0)));
      blockLoop(600);
      await expect(Promise.all(answers)).resolves.toHaveLength(5);
    } finally {
      deadline.stop();
      client.disconnect();
    }
  });

  it("answers from the module's own connection after a blocked event loop: no ioredis commandTimeout races the reply", async () => {
    // The module's default deadline (1000 ms); ioredis's default for the connection it creates
    // once was a 500 ms commandTimeout, whose timer fired before the waiting reply was read.
    const harness = await createServiceHarness({ redis: { url: redis.server.url }, redisTimeoutMs: 1000 });
    try {
      const { token } = await harness.service.create({ id: 'loop-block' });
      const reads = Array.from({ length: 10 }, () => harness.service.touch(token));
      // Block the event loop (as a long GC pause would) right after the calls were written and
      // before their replies are read: auto-pipelining writes from a setImmediate queued while
      // the calls were made, so one queued after them runs next, in the same check phase.
      for (let tick = 0; tick < 10; tick++) await new Promise((resolve) => process.nextTick(resolve));
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          blockLoop(1500);
          resolve();
        }),
      );
      const sessions = await Promise.all(reads);
      expect(sessions.map((session) => session?.userId)).toEqual(Array(10).fill('loop-block'));
    } finally {
      await harness.close();
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
