import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { Redis } from 'ioredis';
import request from 'supertest';
import { ChatGateway } from '../readme-examples/chat.gateway.js';
import { EventsController } from '../readme-examples/events.controller.js';
import { ADAPTERS, createTestApp, type TestApp } from '../support/app.js';
import { sessionCookie } from '../support/http.js';
import { authenticated, disconnectedAt, ioConnect, openStream, until, within } from '../support/live-clients.js';
import { uniquePrefix } from '../support/redis.js';
import { spawnRedisCluster, type ClusterNodeHandle, type SpawnedRedisCluster } from '../support/servers/redis-cluster.js';

/*
 * Issue 19 item 5 on a Redis Cluster: ioredis subscribes on one node's connection of its own
 * making and, when that connection dies, picks another node and subscribes again without a
 * word. Whatever was published in between is lost, so instance A must look at its watched
 * sessions once the new connection is subscribed.
 */

@Module({ providers: [ChatGateway], controllers: [EventsController] })
class LiveModule {}

const bob = { username: 'bob', password: 'bob-password' };

/** The node and client id of the connection ioredis subscribes on for a Cluster client named `name`. */
async function clusterSubscriberOf(
  cluster: SpawnedRedisCluster,
  name: string,
): Promise<{ node: ClusterNodeHandle; id: string } | undefined> {
  for (const node of cluster.nodes) {
    const list = String(await node.command('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const line = list.split('\n').find((l) => l.includes(` name=ioredis-cluster(subscriber):${name} `));
    const id = line && /^id=(\d+)/.exec(line)?.[1];
    if (id) return { node, id };
  }
  return undefined;
}

/** Subscribers of `channel` on the whole Cluster (PUBSUB NUMSUB is per node). */
async function subscribersOnCluster(cluster: SpawnedRedisCluster, channel: string): Promise<number> {
  let count = 0;
  for (const node of cluster.nodes) count += Number(((await node.command('PUBSUB', 'NUMSUB', channel)) as unknown[])[1]);
  return count;
}

describe('live revocation on a Redis Cluster (3 masters)', () => {
  let cluster: SpawnedRedisCluster;
  beforeAll(async () => {
    cluster = await spawnRedisCluster({ masters: 3, replicasPerMaster: 0 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  describe.each(ADAPTERS)('two instances (%s)', (adapter) => {
    let a: TestApp;
    let b: TestApp;
    let channel: string;
    const name = `nrs-live-cluster-${randomBytes(4).toString('hex')}`;
    beforeAll(async () => {
      const keyPrefix = uniquePrefix('live-cluster');
      channel = `${keyPrefix}ended`;
      const options = { keyPrefix, isGlobal: true, transport: 'both' } as const;
      const nodes = cluster.startupNodes;
      a = await createTestApp(
        { ...options, redis: { cluster: { nodes, options: { redisOptions: { connectionName: name } } } } },
        [LiveModule],
        {
          adapter,
          assertionClient: false,
        },
      );
      b = await createTestApp({ ...options, redis: { cluster: { nodes } } }, [], { adapter, assertionClient: false });
    }, 30_000);
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it("a logout published as A's subscriber connection dies closes A's socket and stream once ioredis has subscribed on another connection", async () => {
      const res = await request(a.app.getHttpServer()).post('/auth/login').send(bob);
      const socket = ioConnect(a, { token: res.body.token as string });
      const stream = await openStream(a, sessionCookie(res));
      try {
        expect(await authenticated(socket)).toBe('bob');
        expect(stream.status).toBe(200);
        await until(async () => (await clusterSubscriberOf(cluster, name)) !== undefined, "A's Cluster subscriber");
        const subscriber = (await clusterSubscriberOf(cluster, name))!;
        expect(await subscribersOnCluster(cluster, channel)).toBe(1);
        const socketClosed = disconnectedAt(socket);

        // The logout, as B sends it, the instant A's subscriber connection dies: the key deleted, then
        // in one transaction on that node the connection killed and the end published (the Cluster
        // carries it to every node) before ioredis can subscribe anywhere again.
        const sessionId = res.body.session.id as string;
        expect(await (await cluster.masterForKey(`${a.prefix}${sessionId}`)).command('DEL', `${a.prefix}${sessionId}`)).toBe(1);
        const direct = new Redis(subscriber.node.url);
        try {
          const replies = await direct.multi().client('KILL', 'ID', subscriber.id).publish(channel, sessionId).exec();
          expect(replies?.map(([err]) => err)).toEqual([null, null]);
          expect(replies?.[0][1]).toBe(1);
        } finally {
          direct.disconnect();
        }
        await until(async () => (await subscribersOnCluster(cluster, channel)) === 1, "A's subscriber on a new connection");
        const back = performance.now();
        const [closedAt, endedAt] = await Promise.all([within(socketClosed, 4000), within(stream.ended, 4000)]);
        process.stdout.write(
          `live on a Cluster (${adapter}): A's socket closed ${Math.max(0, Math.round(closedAt - back))} ms and its stream ` +
            `ended ${Math.max(0, Math.round(endedAt - back))} ms after A's subscriber was back\n`,
        );
        expect(closedAt - back).toBeLessThan(2000);
        expect(endedAt - back).toBeLessThan(2000);
      } finally {
        socket.close();
        stream.close();
      }
    });
  });
});
