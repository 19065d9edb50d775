import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { adminCommand } from '../support/servers/redis-admin.js';
import { spawnRedisSentinel, type SpawnedRedisSentinel } from '../support/servers/redis-sentinel.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeOutage, killUnderTraffic, login, outage, sessionIdOf, waitForReplication } from '../support/topology.js';

const ALICE = ['alice', 'alice-password'] as const;

describe('Redis Sentinel (master, replica, 3 sentinels)', () => {
  let sentinel: SpawnedRedisSentinel;
  let t: TestApp;
  /** The same app on a Sentinel client the app owns, with ioredis's defaults (no commandTimeout). */
  let appOwned: TestApp;
  let client: Redis;
  beforeAll(async () => {
    sentinel = await spawnRedisSentinel({ replicas: 1, sentinels: 3, downAfterMs: 1000, failoverTimeoutMs: 2000 });
    // Plain ioredis Sentinel options; the module adds its commandTimeout and retryStrategy.
    // No failoverDetector (see TOOLCHAIN.md: it can kill the client for good mid-reconnect).
    t = await createTestApp({ redis: { sentinels: sentinel.sentinelAddresses, name: sentinel.name } }, [], {
      assertionClient: false,
    });
    client = new Redis({ sentinels: sentinel.sentinelAddresses, name: sentinel.name });
    appOwned = await createTestApp({ redis: { client } }, [], { assertionClient: false });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await appOwned?.close();
    client?.disconnect();
    await sentinel?.stop();
  });

  it('routes work through Sentinel', async () => {
    const http = t.app.getHttpServer();
    const cookies = [await login(http, ...ALICE), await login(http, ...ALICE)];
    const ids = await Promise.all(cookies.map((cookie) => sessionIdOf(http, cookie)));
    const master = await sentinel.currentMaster();
    expect(master.port).toBe(sentinel.master.port);
    // Every key written, with a TTL, on the master the sentinels name.
    for (const key of [...ids.map((id) => t.prefix + id), `${t.prefix}user:1`]) {
      expect(Number(await adminCommand(master.port, ['PTTL', key]))).toBeGreaterThan(0);
    }
    expect((await request(http).get('/me').set('Cookie', cookies[0])).status).toBe(200);
    expect((await request(http).get('/auth/sessions').set('Cookie', cookies[0])).body).toHaveLength(2);
    expect((await request(http).post('/auth/logout-all').set('Cookie', cookies[0])).status).toBe(204);
    for (const cookie of cookies) expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(401);
  });

  it('SIGKILL of the master mid-traffic: only 200s and 503s (never 401, 500 or a hang), then the same session works again', async () => {
    const http = t.app.getHttpServer();
    const cookie = await login(http, ...ALICE);
    const id = await sessionIdOf(http, cookie);
    const ownedHttp = appOwned.app.getHttpServer();
    const ownedCookie = await login(ownedHttp, ...ALICE);
    const old = sentinel.master;
    const replica = sentinel.replicas[0];
    // The login's writes must be on the replica, or the promoted replica would not know the session.
    await waitForReplication([{ master: old.port, replica: replica.port }]);

    // Requests alternate between the module's connection and the app's (no commandTimeout):
    // the module's own deadline (redisTimeoutMs) bounds both.
    let sent = 0;
    const { results, killedAt, recovered } = await killUnderTraffic(
      () =>
        sent++ % 2 === 0
          ? request(http).get('/me').set('Cookie', cookie)
          : request(ownedHttp).get('/me').set('Cookie', ownedCookie),
      () => old.signal('SIGKILL'),
      15_000,
    );
    const seen = outage(results, killedAt);
    process.stdout.write(describeOutage('sentinel failover', seen, results, killedAt));

    // Answered before the kill: all 200 (one in flight at the kill may be a 503).
    expect(results.filter((r) => r.at + r.ms < killedAt).every((r) => r.status === 200)).toBe(true);
    // Only 200s and 503s: never a 401 (that would log the user out), never a 500, never
    // a hang; each answer within ~1.5 s (the contract: a 503 within about a second).
    expect(results.filter((r) => r.status !== 200 && r.status !== 503).map((r) => r.status)).toEqual([]);
    expect(seen.slowestMs).toBeLessThan(1600);
    expect(recovered).toBe(true);

    // The sentinels promoted the replica; the app followed without a restart.
    expect((await sentinel.waitForNewMaster(old.port)).port).toBe(replica.port);
    expect(await sessionIdOf(http, cookie)).toBe(id);
    expect((await request(http).get('/auth/sessions').set('Cookie', cookie)).status).toBe(200);
    const again = await login(http, ...ALICE);
    expect((await request(http).get('/me').set('Cookie', again)).status).toBe(200);
  });
});
