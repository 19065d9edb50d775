import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { SessionEvent, SessionOps, SessionService, type SessionExpiredEvent } from '../../src/index.js';
import { spawnRedisCluster, type SpawnedRedisCluster } from '../support/servers/redis-cluster.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { Cluster, Redis } from 'ioredis';
import request from 'supertest';
import { sessionCookie } from '../support/http.js';
import { sleep } from '../support/redis.js';

const expired = new Set<string>();

@Injectable()
class ExpiryRecorder {
  @OnEvent(SessionEvent.Expired)
  onExpired(event: SessionExpiredEvent) {
    expired.add(event.sessionId);
  }
}

@Module({ imports: [EventEmitterModule.forRoot()], providers: [ExpiryRecorder] })
class RecorderModule {}

describe('events and durability on a Redis Cluster', () => {
  let cluster: SpawnedRedisCluster;
  let t: TestApp;
  beforeAll(async () => {
    cluster = await spawnRedisCluster({
      masters: 3,
      replicasPerMaster: 1,
      nodeTimeoutMs: 1000,
      args: ['--notify-keyspace-events', 'Ex'],
    });
    t = await createTestApp(
      { redis: { cluster: { nodes: cluster.startupNodes } }, ttl: 1, absoluteTtl: 60, expiredEvents: true },
      [RecorderModule],
      { assertionClient: false },
    );
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await cluster?.stop();
  });

  it('arrives from every master (notifications are node-local), and the index heals anyway', async () => {
    const service = t.app.get(SessionService);
    const created = await Promise.all(Array.from({ length: 12 }, (_, i) => service.create({ id: `cluster-ev-${i % 3}` })));
    const ids = created.map((c) => c.session.id);
    const masters = new Set(await Promise.all(ids.map(async (id) => (await cluster.masterForKey(`${t.prefix}${id}`)).port)));
    expect(masters.size).toBeGreaterThanOrEqual(2);
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && !ids.every((id) => expired.has(id))) await sleep(100);
    expect(ids.filter((id) => !expired.has(id))).toEqual([]);
    for (let user = 0; user < 3; user++) expect(await service.list(`cluster-ev-${user}`)).toEqual([]);
  });

  it('update and updateUser across masters: no lost patch or op, a role change everywhere, nothing brought back by a racing revokeAll', async () => {
    const u = await createTestApp({ redis: { cluster: { nodes: cluster.startupNodes } }, ttl: 60 }, [], {
      assertionClient: false,
    });
    const admin = new Cluster(cluster.startupNodes);
    try {
      const service = u.app.get(SessionService);
      const created = await Promise.all(Array.from({ length: 9 }, () => service.create({ id: 'cluster-upd', role: 'admin' })));
      const masters = new Set(
        await Promise.all(created.map(async (c) => (await cluster.masterForKey(`${u.prefix}${c.session.id}`)).port)),
      );
      expect(masters.size).toBeGreaterThanOrEqual(2);
      const patched = await Promise.all(
        Array.from({ length: 100 }, (_, i) => service.update(created[0].token, { [`k${i}`]: i })),
      );
      expect(patched.every((p) => p !== null)).toBe(true);
      expect(Object.keys((await service.get(created[0].token))?.data ?? {})).toHaveLength(100);
      expect(await service.updateUser('cluster-upd', { role: 'user' })).toBe(9);
      for (const { token } of created) expect((await service.get(token))?.role).toBe('user');
      // SessionOps: one key per script call as well, so 100 concurrent appends all land.
      const appended = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          service.update(created[1].token, { cart: SessionOps.append(i), n: SessionOps.increment() }),
        ),
      );
      expect(appended.every((p) => p !== null)).toBe(true);
      const data = (await service.get(created[1].token))?.data;
      expect(data?.n).toBe(100);
      expect((data?.cart as number[]).sort((a, b) => a - b)).toEqual([...Array(100).keys()]);
      expect(await service.updateUser('cluster-upd', { visits: SessionOps.increment() })).toBe(9);
      for (const { token } of created) expect((await service.get(token))?.data?.visits).toBe(1);
      let brought = 0;
      for (let round = 0; round < 20; round++) {
        const batch = await Promise.all(Array.from({ length: 4 }, () => service.create({ id: 'cluster-race' })));
        await Promise.all([service.revokeAll('cluster-race'), service.updateUser('cluster-race', { n: round })]);
        for (const { session } of batch) brought += await admin.exists(`${u.prefix}${session.id}`);
      }
      process.stdout.write(`cluster: updateUser vs revokeAll, 20 rounds of 4 sessions across masters, ${brought} brought back\n`);
      expect(brought).toBe(0);
    } finally {
      admin.disconnect();
      await u.close();
    }
  });

  it("durability 'replicated': a login and a logout are on the key's replica when answered", async () => {
    const d = await createTestApp({ redis: { cluster: { nodes: cluster.startupNodes } }, durability: 'replicated' }, [], {
      assertionClient: false,
    });
    try {
      const http = d.app.getHttpServer();
      const masters = await cluster.masters();
      for (const master of masters) await master.command('CONFIG', 'RESETSTAT');
      for (let i = 0; i < 6; i++) {
        const res = await request(http).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
        expect(res.status).toBe(200);
        const key = `${d.prefix}${res.body.session.id}`;
        const replica = await cluster.replicaOf(await cluster.masterForKey(key));
        // READONLY lets a replica answer for its master's slots.
        const onReplica = async () => {
          const direct = new Redis(replica!.port, { connectionName: 'nrs-test', lazyConnect: true });
          try {
            await direct.connect();
            await direct.call('READONLY');
            return await direct.exists(key);
          } finally {
            direct.disconnect();
          }
        };
        expect(await onReplica()).toBe(1);
        const out = await request(http).post('/auth/logout').set('Cookie', sessionCookie(res));
        expect(out.status).toBe(204);
        expect(await onReplica()).toBe(0);
      }
      // Each of the 12 security writes waited on every master (the keys live on several).
      for (const master of masters) {
        const stats = String(await master.command('INFO', 'commandstats'));
        expect(Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0)).toBe(12);
      }
    } finally {
      await d.close();
    }
  });
});
