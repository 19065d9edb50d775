import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { SessionService } from '../src/index.js';
import { ChatGateway } from './readme-examples/chat.gateway.js';
import { EventsController } from './readme-examples/events.controller.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { sessionCookie } from './support/http.js';
import {
  authenticated,
  disconnectedAt,
  ioConnect,
  openStream,
  pubsubClientIds,
  startRedisHop,
  subscribers,
  until,
  within,
  type RedisHop,
} from './support/live-clients.js';
import { assertionClient, sleep, testRedisUrl, uniquePrefix } from './support/redis.js';

/*
 * Live revocation between app instances (issue 19 items 5, 6, 9c): what instance A's sockets
 * and streams do when its subscriber misses messages, when messages are forged or oversized,
 * and when it has nothing left to watch. A has the README's socket.io gateway and SSE route; B
 * ends sessions. All over the tests' real Redis.
 */

@Module({ providers: [ChatGateway], controllers: [EventsController] })
class LiveModule {}

const bob = { username: 'bob', password: 'bob-password' };

// The bounds src/core/live.ts documents (written out: this file also runs against the code before them).
/** Session ids per "ended" message: one revokeAll chunk. */
const MAX_IDS_PER_MESSAGE = 1000;
/** The longest message a subscriber decodes: that many 22-character ids and their spaces. */
const MAX_MESSAGE_BYTES = 23_000;
/** With nothing watched, the subscriber connection closes after this. */
const SUBSCRIBER_IDLE_MS = 5000;

describe.each(ADAPTERS)('live revocation between instances (%s)', (adapter) => {
  let admin: Redis;
  beforeAll(() => {
    admin = assertionClient();
  });
  afterAll(() => admin.disconnect());
  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe("with A's subscriber reconnecting slowly (retryStrategy 1.5 s)", () => {
    let a: TestApp;
    let b: TestApp;
    let channel: string;
    // A's connections (its subscriber inherits the name), to find them in CLIENT LIST.
    const name = `nrs-live-a-${randomBytes(4).toString('hex')}`;
    beforeAll(async () => {
      const keyPrefix = uniquePrefix('live');
      channel = `${keyPrefix}ended`;
      const redis = { url: testRedisUrl(), options: { connectionName: name, retryStrategy: () => 1500 } };
      // No cap on sessions per user: the revokeAll test holds 2,500 of one user.
      const options = { keyPrefix, isGlobal: true, transport: 'both', maxSessionsPerUser: null } as const;
      a = await createTestApp({ ...options, redis }, [LiveModule], { adapter });
      b = await createTestApp(options, [], { adapter });
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    /** A login on A, a socket.io socket and an SSE stream on A with it, both watched. */
    async function liveSession() {
      const res = await request(a.app.getHttpServer()).post('/auth/login').send(bob);
      const cookie = sessionCookie(res);
      const token = res.body.token as string;
      const sessionId = res.body.session.id as string;
      const socket = ioConnect(a, { token });
      expect(await authenticated(socket)).toBe('bob');
      const stream = await openStream(a, cookie);
      expect(stream.status).toBe(200);
      await until(async () => (await subscribers(admin, channel)) === 1, "A's subscription");
      return { cookie, sessionId, socket, stream };
    }

    it("item 5: a logout on B while A's subscriber is down closes A's socket and stream within 2 s after A resubscribes", async () => {
      const { cookie, socket, stream } = await liveSession();
      try {
        const [id] = await pubsubClientIds(admin, name);
        expect(id).toBeDefined();
        const socketClosed = disconnectedAt(socket);
        await admin.client('KILL', 'ID', id);
        await until(async () => (await subscribers(admin, channel)) === 0, "A's subscriber gone");
        expect((await request(b.app.getHttpServer()).post('/auth/logout').set('Cookie', cookie)).status).toBe(204);
        // Nobody on A heard it: its subscriber was still down when B published.
        expect(await subscribers(admin, channel)).toBe(0);
        await until(async () => (await subscribers(admin, channel)) === 1, "A's subscriber back", 5000);
        const back = performance.now();
        const [closedAt, endedAt] = await Promise.all([within(socketClosed, 4000), within(stream.ended, 4000)]);
        process.stdout.write(
          `live (${adapter}): after a missed logout, A's socket closed ${Math.max(0, Math.round(closedAt - back))} ms and ` +
            `its stream ended ${Math.max(0, Math.round(endedAt - back))} ms after A resubscribed\n`,
        );
        expect(closedAt - back).toBeLessThan(2000);
        expect(endedAt - back).toBeLessThan(2000);
      } finally {
        socket.close();
        stream.close();
      }
    });

    it('item 6: a forged "ended" message naming a live session closes nothing; the real logout still does', async () => {
      const { cookie, sessionId, socket, stream } = await liveSession();
      try {
        // Anyone allowed to PUBLISH on the channel (the default user, here) sends it.
        expect(await admin.publish(channel, `${sessionId} ${sessionId}`)).toBe(1);
        await sleep(600);
        expect(socket.connected).toBe(true);
        expect(await socket.timeout(2000).emitWithAck('whoami')).toBe('bob');
        const before = stream.events();
        await sleep(250);
        expect(stream.events()).toBeGreaterThan(before);

        const closed = disconnectedAt(socket);
        const at = performance.now();
        expect((await request(b.app.getHttpServer()).post('/auth/logout').set('Cookie', cookie)).status).toBe(204);
        expect((await within(closed, 3000)) - at).toBeLessThan(1000);
        expect((await within(stream.ended, 3000)) - at).toBeLessThan(1000);
      } finally {
        socket.close();
        stream.close();
      }
    });

    it('item 6: a message over the bound is dropped undecoded, with one warning for many; nothing closes', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const { cookie, sessionId, socket, stream } = await liveSession();
      try {
        const oversized = `${sessionId} ${'x'.repeat(MAX_MESSAGE_BYTES)}`;
        for (let i = 0; i < 3; i++) expect(await admin.publish(channel, oversized)).toBe(1);
        await sleep(600);
        expect(socket.connected).toBe(true);
        expect(await socket.timeout(2000).emitWithAck('whoami')).toBe('bob');
        const dropped = warn.mock.calls
          .map(([line]) => String(line))
          .filter((line) => line.includes(`over ${MAX_MESSAGE_BYTES} bytes`));
        expect(dropped).toHaveLength(1);
        expect(dropped[0]).toContain(channel);
        await request(b.app.getHttpServer()).post('/auth/logout').set('Cookie', cookie);
        expect(await within(disconnectedAt(socket), 3000)).toBeLessThan(Number.POSITIVE_INFINITY);
      } finally {
        socket.close();
        stream.close();
      }
    });

    it(`item 6: revokeAll of 2,500 sessions announces them in messages of at most ${MAX_IDS_PER_MESSAGE} ids; A closes a socket of the last one`, async () => {
      const service = b.app.get(SessionService);
      const user = { id: `bulk-${adapter}`, username: 'bulk' };
      const tokens: string[] = [];
      for (let i = 0; i < 2500; i += 250) {
        const batch = await Promise.all(Array.from({ length: 250 }, () => service.create(user)));
        for (const issued of batch) tokens.push(issued.token);
      }
      const socket = ioConnect(a, { token: tokens[tokens.length - 1] });
      const listener = admin.duplicate();
      try {
        expect(await authenticated(socket)).toBe('bulk');
        const sizes: number[] = [];
        listener.on('messageBuffer', (_channel: Buffer, message: Buffer) => sizes.push(message.length));
        await listener.subscribe(channel);
        await until(async () => (await subscribers(admin, channel)) === 2, 'both subscriptions');
        const closed = disconnectedAt(socket);
        const at = performance.now();
        expect(await service.revokeAll(user.id)).toBe(2500);
        expect((await within(closed, 3000)) - at).toBeLessThan(1000);
        await until(() => sizes.length >= 3, 'the announcements');
        expect(sizes).toHaveLength(3);
        for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
      } finally {
        socket.close();
        listener.disconnect();
      }
    });
  });

  describe('item 9c: the subscriber connection closes when nothing is watched, and reopens without losing an end', () => {
    let hop: RedisHop;
    let a: TestApp;
    let b: TestApp;
    let channel: string;
    const name = `nrs-live-idle-${randomBytes(4).toString('hex')}`;
    beforeAll(async () => {
      hop = await startRedisHop(testRedisUrl());
      const keyPrefix = uniquePrefix('live-idle');
      channel = `${keyPrefix}ended`;
      const redis = { url: hop.url, options: { connectionName: name } };
      a = await createTestApp({ keyPrefix, isGlobal: true, transport: 'both', redis }, [LiveModule], {
        adapter,
        assertionClient: false,
      });
      b = await createTestApp({ keyPrefix, isGlobal: true }, [], { adapter });
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await hop?.close();
    });

    it(`closes ${SUBSCRIBER_IDLE_MS / 1000} s after the last socket; a session ended while the next one reopens it is still closed`, async () => {
      const res = await request(a.app.getHttpServer()).post('/auth/login').send(bob);
      const first = ioConnect(a, { token: res.body.token as string });
      expect(await authenticated(first)).toBe('bob');
      await until(async () => (await pubsubClientIds(admin, name)).length === 1, "A's subscriber");
      first.close();
      const closedAt = performance.now();
      await until(
        async () => (await pubsubClientIds(admin, name)).length === 0,
        "A's subscriber closed",
        SUBSCRIBER_IDLE_MS + 3000,
      );
      process.stdout.write(
        `live (${adapter}): A's subscriber closed ${Math.round(performance.now() - closedAt)} ms after its last socket\n`,
      );

      // The next watch reopens it; its connection is held back while B ends the session.
      hop.hold();
      const second = ioConnect(a, { token: res.body.token as string });
      try {
        expect(await authenticated(second)).toBe('bob');
        const closed = disconnectedAt(second);
        expect((await request(b.app.getHttpServer()).post('/auth/logout').set('Cookie', sessionCookie(res))).status).toBe(204);
        expect(await subscribers(admin, channel)).toBe(0);
        hop.release();
        await until(async () => (await subscribers(admin, channel)) === 1, "A's subscriber reopened");
        const reopened = performance.now();
        expect((await within(closed, 4000)) - reopened).toBeLessThan(2000);
      } finally {
        hop.release();
        second.close();
      }
    });
  });
});
