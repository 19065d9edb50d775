import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster } from 'ioredis';
import { SessionService } from '../../src/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import {
  demotionVsRotate,
  destroyVsRotate,
  listDuringRotations,
  revokeVsRotate,
  rotatingLoopVsRevoke,
  updateVsRotate,
  type RaceContext,
} from '../support/rotate-races.js';
import { spawnRedisCluster, type SpawnedRedisCluster } from '../support/servers/redis-cluster.js';

/*
 * test/rotate-races.int-spec.ts's races on a 3-master Cluster (issue 19 item 3): a session's
 * old key, its new key, the rotation's forward and the user's index hash to different slots,
 * mostly on different masters, so every step is a single-key command on its own node and the
 * rotation orders them by waiting for each. Nothing is lost and nothing comes back there either.
 */

const ROUNDS = 60;
const report = (line: string) => process.stdout.write(`cluster: ${line}\n`);

describe('changes and ends racing rotate on a Redis Cluster (3 masters)', () => {
  let cluster: SpawnedRedisCluster;
  let t: TestApp;
  let admin: Cluster;
  let ctx: RaceContext;
  beforeAll(async () => {
    cluster = await spawnRedisCluster({ masters: 3, replicasPerMaster: 0, nodeTimeoutMs: 1000 });
    t = await createTestApp({ redis: { cluster: { nodes: cluster.startupNodes } }, ttl: 600, absoluteTtl: 3600 }, [], {
      assertionClient: false,
    });
    admin = new Cluster(cluster.startupNodes, { redisOptions: { connectionName: 'nrs-test' } });
    ctx = { service: t.app.get(SessionService), redis: admin, prefix: t.prefix, user: (name) => `cr-${name}` };
  }, 60_000);
  afterAll(async () => {
    admin?.disconnect();
    await t?.close();
    await cluster?.stop();
  });

  it('a rotation spreads over masters: old key, new key and index on different nodes', async () => {
    const masters = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const { token, session } = await ctx.service.create({ id: 'cr-spread' });
      const rotated = await ctx.service.rotate(token);
      for (const key of [session.id, rotated!.session.id, 'user:cr-spread']) {
        masters.add((await cluster.masterForKey(`${t.prefix}${key}`)).port);
      }
    }
    expect(masters.size).toBe(3);
  });

  it(`updateUser, update, revoke and logout racing rotate (${ROUNDS} rounds each)`, async () => {
    report(`rotate race, demotion: ${await demotionVsRotate(ctx, ROUNDS)}`);
    report(`rotate race, update: ${await updateVsRotate(ctx, ROUNDS)}`);
    report(`rotate race, revoke: ${await revokeVsRotate(ctx, ROUNDS)}`);
    report(`rotate race, logout: ${await destroyVsRotate(ctx, ROUNDS)}`);
  });

  it('a session rotating in a loop is revoked by a listed id; lists during rotations show each session once', async () => {
    report(`rotate race, rotating loop: ${await rotatingLoopVsRevoke(ctx, 20)}`);
    report(`rotate race, list: ${await listDuringRotations(ctx, 5, 300)}`);
  });
});
