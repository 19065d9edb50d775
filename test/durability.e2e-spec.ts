import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { SessionService } from '../src/index.js';
import { sessionCookie, tokenOf } from './support/http.js';
import { sleep, spawnRedisServer, type SpawnedRedis } from './support/redis.js';

async function waitForSync(replica: Redis): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if ((await replica.info('replication')).includes('master_link_status:up')) return;
    await sleep(50);
  }
  throw new Error('replica did not sync within 10 s');
}

/**
 * Until a write on the master is acknowledged by the replica (WAIT), as the module's will
 * be: the replica reports its link up slightly before the master counts it for WAIT.
 */
async function waitForAck(master: Redis): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await master.set('durability:probe', '1', 'PX', 10_000);
    if ((await master.wait(1, 500)) >= 1) return;
  }
  throw new Error('the replica did not acknowledge a write within 10 s');
}

async function commandCounts(admin: Redis): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const match of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!/^(info|config|replconf|ping|psync|sync)\b/.test(match[1])) counts[match[1]] = Number(match[2]);
  }
  return counts;
}

describe("durability: 'replicated'", () => {
  let master: SpawnedRedis;
  let replica: SpawnedRedis;
  let admin: Redis;
  let replicaClient: Redis;
  beforeAll(async () => {
    // No diskless-sync delay (5 s by default): the replica syncs at once.
    master = await spawnRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
    replica = await spawnRedisServer({ args: ['--replicaof', master.host, String(master.port)] });
    admin = new Redis(master.url);
    replicaClient = new Redis(replica.url);
    await waitForSync(replicaClient);
    await waitForAck(admin);
  });
  afterAll(async () => {
    admin.disconnect();
    replicaClient.disconnect();
    await replica.stop();
    await master.stop();
  });

  // One master and replica for both platforms; each gets its own app.
  describe.each(ADAPTERS)('%s', (adapter) => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(
        { redis: { url: master.url }, durability: 'replicated', replication: { replicas: 1, timeoutMs: 200 } },
        [],
        { adapter },
      );
    });
    afterAll(() => t.close());

    it('a login is on the replica by the time it is answered; so is a logout', async () => {
      const http = t.app.getHttpServer();
      const res = await request(http).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
      expect(res.status).toBe(200);
      const key = `${t.prefix}${res.body.session.id}`;
      expect(await replicaClient.exists(key)).toBe(1);
      const out = await request(http).post('/auth/logout').set('Cookie', sessionCookie(res));
      expect(out.status).toBe(204);
      expect(await replicaClient.exists(key)).toBe(0);
    });

    it('security writes WAIT; guarded requests do not', async () => {
      const http = t.app.getHttpServer();
      const cookie = sessionCookie(await request(http).post('/auth/login').send({ username: 'bob', password: 'bob-password' }));
      await admin.config('RESETSTAT');
      for (let i = 0; i < 20; i++) expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
      expect(await commandCounts(admin)).toEqual({ getex: 20 });
      await admin.config('RESETSTAT');
      await request(http).post('/auth/logout-all').set('Cookie', cookie);
      expect((await commandCounts(admin)).wait).toBe(1);
    });

    it('a revoke and a rotate are on the replica by the time they answer (one WAIT each)', async () => {
      const http = t.app.getHttpServer();
      const service = t.app.get(SessionService);
      const login = () => request(http).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
      const current = await login();
      const other = await login();
      const otherKey = `${t.prefix}${other.body.session.id}`;
      expect(await replicaClient.exists(otherKey)).toBe(1);

      await admin.config('RESETSTAT');
      expect(
        (await request(http).delete(`/auth/sessions/${other.body.session.id}`).set('Cookie', sessionCookie(current))).status,
      ).toBe(204);
      expect((await commandCounts(admin)).wait).toBe(1);
      expect(await replicaClient.exists(otherKey)).toBe(0);

      const oldKey = `${t.prefix}${current.body.session.id}`;
      await admin.config('RESETSTAT');
      const rotated = await service.rotate(tokenOf(sessionCookie(current)));
      expect(rotated).not.toBeNull();
      expect((await commandCounts(admin)).wait).toBe(1);
      expect(await replicaClient.exists(oldKey)).toBe(0);
      expect(await replicaClient.exists(`${t.prefix}${rotated!.session.id}`)).toBe(1);
      await service.revokeAll(1);
    });

    it('with the replica unreachable: logins and logouts answer 503, guarded requests still 200', async () => {
      const http = t.app.getHttpServer();
      const cookie = sessionCookie(await request(http).post('/auth/login').send({ username: 'bob', password: 'bob-password' }));
      replica.signal('SIGSTOP');
      try {
        const started = Date.now();
        const login = await request(http).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
        expect(login.status).toBe(503);
        expect(Date.now() - started).toBeLessThan(1500);
        expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
        expect((await request(http).post('/auth/logout').set('Cookie', cookie)).status).toBe(503);
      } finally {
        replica.signal('SIGCONT');
      }
      await waitForSync(replicaClient);
      await waitForAck(admin);
      expect((await request(http).post('/auth/login').send({ username: 'alice', password: 'alice-password' })).status).toBe(200);
    });
  });
});

describe.each(ADAPTERS)("durability: 'none' (default) (%s)", (adapter) => {
  let server: SpawnedRedis;
  let admin: Redis;
  beforeAll(async () => {
    server = await spawnRedisServer();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  it('sends no WAIT and opens no second connection', async () => {
    const t = await createTestApp({ redis: { url: server.url } }, [], { adapter });
    try {
      await admin.config('RESETSTAT');
      const res = await request(t.app.getHttpServer())
        .post('/auth/login')
        .send({ username: 'alice', password: 'alice-password' });
      expect(res.status).toBe(200);
      expect((await commandCounts(admin)).wait).toBeUndefined();
      const clients = ((await admin.client('LIST')) as string).split('\n').filter((l) => l && !l.includes(' name=nrs-test '));
      expect(clients).toHaveLength(2); // the module's connection and this admin connection
    } finally {
      await t.close();
    }
  });
});
