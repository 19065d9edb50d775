import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { commandCalls, costOf, invalidationClients } from './support/cache.js';
import {
  ACL_COMMANDS,
  aclCommands,
  aclLog,
  aclRule,
  describeDenials,
  INVALIDATION_CHANNEL,
  type AclFeature,
} from './support/redis-acl.js';
import { sleep, spawnRedisServer, type SpawnedRedis } from './support/redis.js';
import { connectionsOf, loggedIn, me, secureApp, type Http, type SecureApp } from './support/secure-app.js';

/*
 * The session cache (option `cache`) under a Redis user of its own (docs/operations.md, "Redis security"):
 * with the cache's permissions (ACL_COMMANDS.cache and the channel &__redis__:invalidate) a
 * guarded route answers from memory, every change made elsewhere is still refused on the next
 * request, ACL LOG stays empty and MONITOR shows nothing outside the rule; without them, or
 * without any one of them, the cache stays bypassed (one GETEX per guarded request, as without
 * it), every route answers as usual, and the log says once what is missing. Each test gives
 * the permission back at the end and sees the cache answer: what it missed was that permission.
 * test/redis-security.e2e-spec.ts has the rest of the rule.
 */

// Fresh secrets per run.
const ADMIN_PASSWORD = randomBytes(12).toString('hex');
const PASSWORD = randomBytes(12).toString('hex');

/** The rule here: an app with `cache: true`, the health check and live revocation. */
const FEATURES: AclFeature[] = ['readyCheck', 'health', 'liveRevocation', 'cache'];
const WITHOUT_CACHE: AclFeature[] = FEATURES.filter((feature) => feature !== 'cache');

/** What ACL lets every user send whatever its rule, as MONITOR shows it. */
const ALWAYS_ALLOWED = ['auth', 'hello', 'quit'];

/** Guarded requests per measurement. */
const REQUESTS = 20;
/** Long enough for the invalidation connection to be set up (or refused) several times: it retries after 0.1, 0.2, 0.4, 0.8 s. */
const SETTLE_MS = 1500;

describe('the session cache under a minimal ACL user', () => {
  let server: SpawnedRedis;
  let admin: Redis;
  let url: string;
  const counters = () => commandCalls(admin);
  const open: SecureApp[] = [];

  const setUser = (features: AclFeature[], except: string[] = []) =>
    admin.call('ACL', 'SETUSER', 'sessions', 'reset', ...aclRule(PASSWORD, features, { except }));

  beforeAll(async () => {
    server = await spawnRedisServer({
      config: [`requirepass ${ADMIN_PASSWORD}`, `user sessions ${aclRule(PASSWORD, FEATURES).join(' ')}`, ''].join('\n'),
    });
    admin = new Redis({ host: '127.0.0.1', port: server.port, password: ADMIN_PASSWORD, maxRetriesPerRequest: 1 });
    url = `redis://sessions:${PASSWORD}@127.0.0.1:${server.port}`;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
    await setUser(FEATURES);
    await admin.call('ACL', 'LOG', 'RESET');
    await admin.flushall();
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  async function cachedApp(): Promise<SecureApp> {
    const t = await secureApp({ redis: { url }, cache: true });
    open.push(t);
    return t;
  }

  /** The data commands (INFO commandstats) of `REQUESTS` guarded requests, each answered 200. */
  async function guardCost(http: Http, cookie: string): Promise<Record<string, number>> {
    return costOf(counters, async () => {
      for (let i = 0; i < REQUESTS; i++) expect((await me(http, cookie)).status).toBe(200);
    });
  }

  /** Guarded requests until one is answered 200 with no data command at all (a hit); throws after `ms`. */
  async function untilHit(http: Http, cookie: string, ms = 5000): Promise<void> {
    const end = performance.now() + ms;
    let last: unknown;
    while (performance.now() < end) {
      let status = 0;
      const cost = await costOf(counters, async () => (status = (await me(http, cookie)).status));
      if (status === 200 && Object.keys(cost).length === 0) return;
      last = { status, cost };
      await sleep(20);
    }
    throw new Error(`no cache hit within ${ms} ms; the last request: ${JSON.stringify(last)}`);
  }

  /** The module's warnings about the cache (Nest's logger is global: the last app's captures every app's). */
  const cacheWarnings = (t: SecureApp) => t.logger.lines.filter((line) => line.startsWith('Session cache'));

  /** Polls `check` until it holds; throws after `ms`. */
  async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
    const end = performance.now() + ms;
    while (!(await check())) {
      if (performance.now() > end) throw new Error(`not within ${ms} ms`);
      await sleep(50);
    }
  }

  /** The denials of ACL LOG: `object` (the command or channel) and how many times. */
  async function denials(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const denial of await aclLog(admin)) counts[denial.object] = Number(denial.count);
    return counts;
  }

  it('with the cache permissions: hits cost no Redis command; a logout on another instance, a DEL by another client and a logout here are each refused on the next request; ACL LOG stays empty; MONITOR shows nothing outside the rule', async () => {
    const sent: Array<{ source: string; command: string }> = [];
    const monitor = await admin.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const command = String(args[0]).toLowerCase();
      sent.push({ source, command: command === 'client' ? `client|${String(args[1]).toLowerCase()}` : command });
    });
    try {
      const a = await cachedApp();
      const b = await cachedApp();
      const alice = await loggedIn(a.http);
      await untilHit(a.http, alice.cookie);
      expect(await guardCost(a.http, alice.cookie)).toEqual({});
      // Past a few heartbeats (a PING a second on the invalidation connection): still hits.
      await sleep(2500);
      expect(await guardCost(a.http, alice.cookie)).toEqual({});

      // A logout on B (whose cache its own guarded request starts).
      expect((await me(b.http, alice.cookie)).status).toBe(200);
      expect((await request(b.http).post('/auth/logout').set('Cookie', alice.cookie)).status).toBe(204);
      expect((await me(a.http, alice.cookie)).status).toBe(401);

      // A DEL by another client.
      const bob = await loggedIn(a.http, 'bob');
      await untilHit(a.http, bob.cookie);
      expect(await admin.del(`session:${bob.id}`)).toBe(1);
      expect((await me(a.http, bob.cookie)).status).toBe(401);

      // A logout on A of a session logged in on B.
      const carol = await loggedIn(b.http, 'carol');
      await untilHit(a.http, carol.cookie);
      expect((await request(a.http).post('/auth/logout').set('Cookie', carol.cookie)).status).toBe(204);
      expect((await me(a.http, carol.cookie)).status).toBe(401);

      expect(describeDenials(await aclLog(admin))).toEqual([]);
      expect(cacheWarnings(b)).toEqual([]);
      // Each instance's invalidation connection, named.
      expect(await invalidationClients(admin)).toHaveLength(2);

      const connections = new Set(await connectionsOf(admin, 'sessions'));
      await Promise.all(open.splice(0).map((t) => t.close()));
      await sleep(200); // the last QUITs reach MONITOR
      const module = new Set(sent.filter((m) => m.source === 'lua' || connections.has(m.source)).map((m) => m.command));
      for (const command of ACL_COMMANDS.cache) expect(module).toContain(command);
      const rule = new Set([...aclCommands(FEATURES), ...ALWAYS_ALLOWED]);
      expect([...module].filter((command) => !rule.has(command))).toEqual([]);
    } finally {
      monitor.disconnect();
    }
  });

  it('without the cache feature: every route answers as usual, a guarded request costs one GETEX, the log says once what is missing; with it back, hits', async () => {
    await setUser(WITHOUT_CACHE);
    const t = await cachedApp();
    const alice = await loggedIn(t.http);
    expect(await guardCost(t.http, alice.cookie)).toEqual({ getex: REQUESTS });
    // The setup is tried again after 0.1, 0.2, 0.4, ... s: wait for the 7th attempt (6.3 s in),
    // past the 5 s within which the module logs no second Redis warning of any kind.
    await until(async () => ((await denials())['client|id'] ?? 0) >= 7, 10_000);
    expect(await guardCost(t.http, alice.cookie)).toEqual({ getex: REQUESTS });
    const statuses = {
      session: (await request(t.http).get('/auth/session').set('Cookie', alice.cookie)).status,
      sessions: (await request(t.http).get('/auth/sessions').set('Cookie', alice.cookie)).status,
      poll: (await request(t.http).get('/poll').set('Cookie', alice.cookie)).status,
      admin: (await request(t.http).get('/admin').set('Cookie', alice.cookie)).status,
      health: (await request(t.http).get('/health')).status,
      logout: (await request(t.http).post('/auth/logout').set('Cookie', alice.cookie)).status,
      afterLogout: (await me(t.http, alice.cookie)).status,
    };
    expect(statuses).toEqual({ session: 200, sessions: 200, poll: 200, admin: 200, health: 200, logout: 204, afterLogout: 401 });

    // Tried again and again (with backoff), refused at its first cache command each time...
    expect(Object.keys(await denials()).sort()).toEqual(['client|id', 'client|setname']);
    // ...and said once: what was refused, and every permission the cache needs.
    const warnings = cacheWarnings(t);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("'client|id'");
    for (const command of ACL_COMMANDS.cache) expect(warnings[0]).toContain(`+${command}`);
    expect(warnings[0]).toContain(`&${INVALIDATION_CHANNEL}`);

    // Given the feature, the next attempt (at most 3.2 s later by now) turns the cache on.
    await setUser(FEATURES);
    const bob = await loggedIn(t.http, 'bob');
    await untilHit(t.http, bob.cookie, 10_000);
    expect(await guardCost(t.http, bob.cookie)).toEqual({});
  });

  /** Each permission the cache cannot be set up without: ACL LOG's object, and what the warning quotes of the error. */
  const needed: Array<[permission: string, refused: string]> = [
    ['client|id', "'client|id'"],
    ['role', "'role'"],
    ['client|tracking', "'client|tracking'"],
    ['subscribe', "'subscribe'"],
    [INVALIDATION_CHANNEL, 'channels'],
  ];
  it('the cases cover every permission of the cache feature', () => {
    expect([...needed.map(([permission]) => permission), 'client|setname', 'ping'].sort()).toEqual(
      [...ACL_COMMANDS.cache, INVALIDATION_CHANNEL].sort(),
    );
  });

  it.each(needed)(
    'without %s: the cache stays bypassed (one GETEX per guarded request), never a 500 or 503; a warning names it; with it back, hits',
    async (permission, refused) => {
      await setUser(FEATURES, [permission]);
      const t = await cachedApp();
      const alice = await loggedIn(t.http);
      expect((await me(t.http, alice.cookie)).status).toBe(200);
      await sleep(SETTLE_MS);
      expect(await guardCost(t.http, alice.cookie)).toEqual({ getex: REQUESTS });
      const bob = await loggedIn(t.http, 'bob');
      expect((await request(t.http).post('/auth/logout').set('Cookie', bob.cookie)).status).toBe(204);
      expect((await me(t.http, bob.cookie)).status).toBe(401);
      expect((await request(t.http).get('/health')).status).toBe(200);

      const denied = await denials();
      expect(Object.keys(denied)).toEqual([permission]);
      expect(denied[permission]).toBeGreaterThanOrEqual(3);
      const warnings = cacheWarnings(t);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(refused);

      await setUser(FEATURES);
      await untilHit(t.http, alice.cookie, 8000);
      expect(await guardCost(t.http, alice.cookie)).toEqual({});
    },
  );

  it('without client|setname: the cache works, but every invalidation connection leaves an ACL LOG denial and no CLIENT LIST name', async () => {
    await setUser(FEATURES, ['client|setname']);
    const t = await cachedApp();
    const alice = await loggedIn(t.http);
    await untilHit(t.http, alice.cookie);
    expect(await guardCost(t.http, alice.cookie)).toEqual({});
    expect(await denials()).toEqual({ 'client|setname': 1 });
    expect(await invalidationClients(admin)).toEqual([]);
    expect(cacheWarnings(t)).toEqual([]);
  });

  // Without ping, a connection used to live one heartbeat and be set up again every ~1.1 s (the
  // cache hit between, ACL LOG gained a denial a second, the log never named PING): PING is now
  // tried before tracking, and a refused one counts as a refusal.
  it('without ping the cache stays bypassed, with one warning naming PING', async () => {
    await setUser(FEATURES, ['ping']);
    const t = await cachedApp();
    const alice = await loggedIn(t.http);
    expect((await me(t.http, alice.cookie)).status).toBe(200);
    await sleep(6000);
    const cost = await guardCost(t.http, alice.cookie);
    const warnings = cacheWarnings(t);
    expect({ cost, warnings: warnings.length, namesPing: warnings.some((w) => w.includes("'ping'")) }).toEqual({
      cost: { getex: REQUESTS },
      warnings: 1,
      namesPing: true,
    });
  });

  // The cache's warnings once went through SessionRedis.warn, which drops any warning within 5 s
  // of the previous one: after another Redis warning (here a 503) the one warning was lost.
  it("a Redis warning just before the refusal does not hide the cache's warning", async () => {
    await setUser(WITHOUT_CACHE, ['getex']);
    const t = await cachedApp();
    const alice = await loggedIn(t.http);
    expect((await me(t.http, alice.cookie)).status).toBe(503);
    expect(t.logger.lines.join('\n')).toContain(
      "Redis unavailable: NOPERM this user has no permissions to run the 'getex' command",
    );
    await setUser(WITHOUT_CACHE);
    await until(async () => ((await denials())['client|id'] ?? 0) >= 7, 10_000);
    expect(await guardCost(t.http, alice.cookie)).toEqual({ getex: REQUESTS });
    expect(cacheWarnings(t)).toHaveLength(1);
  });

  it('the docs/operations.md table names exactly the cache feature', () => {
    const doc = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
    const permissions = [...ACL_COMMANDS.cache.map((c) => `+${c}`), `&${INVALIDATION_CHANNEL}`].join(' ').replaceAll('|', '\\|');
    expect(doc).toContain(`\n| \`${permissions}\` |`);
  });
});
