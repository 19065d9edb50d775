import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { SessionModuleOptions } from '../src/index.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import {
  bearerGet,
  commandCalls,
  costOf,
  guardCommands,
  ms,
  refusalWindows,
  sessionsOf,
  untilHit,
  type Answer,
  userOf,
} from './support/cache.js';
import { keysWithPrefix, sleep, uniquePrefix, usePrivateRedis } from './support/redis.js';

/*
 * The session cache (issue 20) and what Redis drops on its own: a session evicted under
 * `maxmemory` (item 7) and a session that idled out (item 8) are refused on instance A, which
 * held them in memory; a session kept busy on A lives on past several idle timeouts (A slides
 * it in Redis). Two instances A and B with `cache: true` on private redis-servers.
 */

const report = (line: string) => process.stdout.write(`${line}\n`);

/** Polls `send` in a tight loop for `ms`, every answer kept. */
async function pollFor(send: () => Promise<number>, duration: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  const end = performance.now() + duration;
  while (performance.now() < end) {
    const sent = performance.now();
    const status = await send();
    answers.push({ status, sent, at: performance.now() });
  }
  return answers;
}

describe.each(ADAPTERS)('session cache and what Redis drops on its own (%s)', (adapter) => {
  const open: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });

  async function instances(url: string, options: Partial<SessionModuleOptions> = {}) {
    const keyPrefix = uniquePrefix('cache-exp');
    const make = async () => {
      const t = await createTestApp(
        // 5 s deadline: a busy CI machine once took over 1 s (the default) for the first write.
        { keyPrefix, redis: { url }, redisTimeoutMs: 5000, transport: 'both', maxSessionsPerUser: null, cache: true, ...options },
        [],
        { adapter, assertionClient: false },
      );
      open.push(t);
      return t;
    };
    return { a: await make(), b: await make(), keyPrefix };
  }

  describe('item 7: eviction (maxmemory 3 MB, allkeys-lru)', () => {
    const own = usePrivateRedis({ args: ['--maxmemory', '3mb', '--maxmemory-policy', 'allkeys-lru'] });
    const counters = () => commandCalls(own.admin);

    it('a session key evicted while A answers it from memory is refused on A', async () => {
      const { a, keyPrefix } = await instances(own.server.url);
      const [{ token, id }] = await sessionsOf(a.app, userOf());
      const key = `${keyPrefix}${id}`;
      const get = bearerGet(a.app, '/me', token);
      await untilHit(counters, get);
      let filled = 0;
      const value = 'x'.repeat(1024);
      const [w] = await refusalWindows(
        [get],
        async () => {
          // A's hits send nothing, so the key only ages: fill other keys until Redis evicts it.
          while (filled < 200_000) {
            const batch = own.admin.pipeline();
            for (let i = 0; i < 100; i++) batch.set(`fill:${keyPrefix}${filled++}`, value);
            await batch.exec();
            if ((await keysWithPrefix(own.admin, key)).length === 0) return;
          }
          throw new Error(`${key} still there after ${filled} keys of 1 KB`);
        },
        { timeoutMs: 20_000 },
      );
      const evicted = /^evicted_keys:(\d+)/m.exec(await own.admin.info('stats'))?.[1];
      report(
        `cache window eviction (${adapter}): A refused ${ms(w.windowMs)} after the test saw the key evicted ` +
          `(${filled} keys of 1 KB written, ${evicted} evicted); ${w.stale} stale 200s`,
      );
      expect(w.badBefore).toBe(0);
      expect(w.windowMs).toBeLessThan(1000);
      expect(w.afterRefusal).toBe(0);
    });
  });

  describe('item 8: idle expiry (ttl 2 s)', () => {
    const own = usePrivateRedis({ args: ['--enable-debug-command', 'yes'] });
    const counters = () => commandCalls(own.admin);

    /** With Redis's active expiry off, only a read expires a key: nothing tells A, A must know the deadline itself. */
    async function withoutActiveExpiry(work: () => Promise<void>): Promise<void> {
      await own.admin.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
      try {
        await work();
      } finally {
        await own.admin.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
      }
    }

    it('a session idle past its ttl is refused on A, which held it, even when Redis has not expired the key yet', async () => {
      const { a } = await instances(own.server.url, { ttl: 2 });
      await withoutActiveExpiry(async () => {
        const [{ token }] = await sessionsOf(a.app, userOf());
        const poll = bearerGet(a.app, '/poll', token);
        await untilHit(counters, poll);
        await sleep(2300);
        expect(await poll()).toBe(401);
      });
      // With active expiry, the same (an expired key is reported like a DEL).
      const [{ token }] = await sessionsOf(a.app, userOf());
      const poll = bearerGet(a.app, '/poll', token);
      await untilHit(counters, poll);
      await sleep(2300);
      expect(await poll()).toBe(401);
    });

    it('polled without sliding across its expiry, A never accepts a request sent after Redis expired the session', async () => {
      const { a, keyPrefix } = await instances(own.server.url, { ttl: 2 });
      await withoutActiveExpiry(async () => {
        const [{ token, id }] = await sessionsOf(a.app, userOf());
        const poll = bearerGet(a.app, '/poll', token);
        await untilHit(counters, poll);
        // Where Redis expires the key, on this process's monotonic clock.
        const expiresAt = Number(await own.admin.call('PEXPIRETIME', `${keyPrefix}${id}`)) - performance.timeOrigin;
        const answers = await pollFor(poll, expiresAt - performance.now() + 300);
        const accepted = answers.filter((x) => x.status === 200);
        const lastAccepted = Math.max(...accepted.map((x) => x.sent));
        const firstRefused = answers.find((x) => x.status === 401);
        report(
          `cache idle expiry (${adapter}): ${answers.length} requests; the last 200 was sent ${ms(expiresAt - lastAccepted)} ` +
            `before Redis's deadline, the first 401 answered ${(firstRefused!.at - expiresAt).toFixed(1)} ms from it`,
        );
        expect(accepted.length).toBeGreaterThan(0);
        // Redis expires a key once its ms clock passes PEXPIRETIME (so up to 1 ms after it), and this
        // process maps Redis's wall clock onto its own monotonic one: 2 ms of slack (a fastify run
        // on a busy CI machine saw a 200 for a request sent a fraction of a ms past PEXPIRETIME).
        expect(answers.filter((x) => x.sent > expiresAt + 2 && x.status === 200)).toEqual([]);
        expect(answers.filter((x) => x.status !== 200 && x.status !== 401)).toEqual([]);
        expect(firstRefused!.at - expiresAt).toBeLessThan(200);
      });
    });

    it('a session kept busy on A lives on past four idle timeouts: A slides it in Redis, seldom', async () => {
      const { a, b, keyPrefix } = await instances(own.server.url, { ttl: 2 });
      const [{ token, id }] = await sessionsOf(a.app, userOf());
      const me = bearerGet(a.app, '/me', token);
      await untilHit(counters, me);
      let answers: Answer[] = [];
      const cost = await costOf(counters, async () => {
        const end = performance.now() + 8000;
        while (performance.now() < end) {
          answers = answers.concat(await pollFor(me, 20));
          await sleep(80);
        }
      });
      const statuses = answers.map((x) => x.status);
      report(
        `cache sliding (${adapter}): ${answers.length} requests on A over 8 s (4 idle timeouts), ` +
          `${(guardCommands(cost) / answers.length).toFixed(3)} commands per request (${JSON.stringify(cost)})`,
      );
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      // Slid in Redis (B sees the session, Redis holds it with a fresh TTL) ...
      expect(cost.getex).toBeGreaterThan(0);
      expect(Number(await own.admin.pttl(`${keyPrefix}${id}`))).toBeGreaterThan(1000);
      expect(await bearerGet(b.app, '/poll', token)()).toBe(200);
      // ... but far less often than it was asked.
      expect(guardCommands(cost) / answers.length).toBeLessThan(0.5);
    });
  });
});
