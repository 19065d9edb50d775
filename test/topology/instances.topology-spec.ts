import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { spawnRedisCluster, type SpawnedRedisCluster } from '../support/servers/redis-cluster.js';
import type { SessionModuleOptions } from '../../src/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { spawnRedisServer, uniquePrefix, type SpawnedRedis } from '../support/redis.js';
import { login, sessionIdOf } from '../support/topology.js';

const ALICE = ['alice', 'alice-password'] as const;
const BOB = ['bob', 'bob-password'] as const;

/**
 * Two app instances behind one (imaginary) load balancer: same Redis, same keyPrefix,
 * nothing shared in memory. Whatever one does, the other sees at once.
 */
function twoInstances(name: string, redis: () => SessionModuleOptions['redis']) {
  describe(`two app instances on ${name}`, () => {
    let a: TestApp;
    let b: TestApp;
    beforeAll(async () => {
      const keyPrefix = uniquePrefix('instances');
      a = await createTestApp({ redis: redis(), keyPrefix }, [], { assertionClient: false });
      b = await createTestApp({ redis: redis(), keyPrefix }, [], { assertionClient: false });
    }, 30_000);
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('a session made through one instance works on the other', async () => {
      const cookie = await login(a.app.getHttpServer(), ...ALICE);
      const id = await sessionIdOf(a.app.getHttpServer(), cookie);
      expect(await sessionIdOf(b.app.getHttpServer(), cookie)).toBe(id);
      const me = await request(b.app.getHttpServer()).get('/me').set('Cookie', cookie);
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ userId: 1, username: 'alice', sessionId: id });
      const list = await request(b.app.getHttpServer()).get('/auth/sessions').set('Cookie', cookie);
      expect((list.body as Array<{ id: string; current: boolean }>).find((s) => s.id === id)?.current).toBe(true);
    });

    it('a logout through one instance is a 401 on the other at once', async () => {
      const cookie = await login(a.app.getHttpServer(), ...ALICE);
      expect((await request(b.app.getHttpServer()).get('/me').set('Cookie', cookie)).status).toBe(200);
      expect((await request(a.app.getHttpServer()).post('/auth/logout').set('Cookie', cookie)).status).toBe(204);
      expect((await request(b.app.getHttpServer()).get('/me').set('Cookie', cookie)).status).toBe(401);
      expect((await request(b.app.getHttpServer()).get('/auth/session').set('Cookie', cookie)).status).toBe(401);
    });

    it('a revocation through one instance is a 401 on the other at once', async () => {
      const mine = await login(a.app.getHttpServer(), ...BOB);
      const other = await login(b.app.getHttpServer(), ...BOB);
      const otherId = await sessionIdOf(b.app.getHttpServer(), other);
      expect((await request(a.app.getHttpServer()).delete(`/auth/sessions/${otherId}`).set('Cookie', mine)).status).toBe(204);
      expect((await request(b.app.getHttpServer()).get('/me').set('Cookie', other)).status).toBe(401);
      expect((await request(b.app.getHttpServer()).get('/me').set('Cookie', mine)).status).toBe(200);
    });

    it('a logout-all through one instance kills the sessions created through the other', async () => {
      const viaB = [];
      for (let i = 0; i < 5; i++) viaB.push(await login(b.app.getHttpServer(), ...ALICE));
      const viaA = await login(a.app.getHttpServer(), ...ALICE);
      for (const cookie of viaB) expect((await request(a.app.getHttpServer()).get('/me').set('Cookie', cookie)).status).toBe(200);
      expect((await request(a.app.getHttpServer()).post('/auth/logout-all').set('Cookie', viaA)).status).toBe(204);
      for (const cookie of [...viaB, viaA]) {
        expect((await request(b.app.getHttpServer()).get('/me').set('Cookie', cookie)).status).toBe(401);
        expect((await request(a.app.getHttpServer()).get('/me').set('Cookie', cookie)).status).toBe(401);
      }
      const fresh = await login(b.app.getHttpServer(), ...ALICE);
      const list = await request(a.app.getHttpServer()).get('/auth/sessions').set('Cookie', fresh);
      expect(list.body).toHaveLength(1);
    });
  });
}

describe('several app instances', () => {
  let server: SpawnedRedis;
  let cluster: SpawnedRedisCluster;
  beforeAll(async () => {
    // One after the other: if the second fails, afterAll still stops the first.
    server = await spawnRedisServer();
    cluster = await spawnRedisCluster({ masters: 3, replicasPerMaster: 0 });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([server?.stop(), cluster?.stop()]);
  });

  twoInstances('one Redis', () => ({ url: server.url }));
  twoInstances('one Redis Cluster', () => ({ cluster: { nodes: cluster.startupNodes } }));
});
