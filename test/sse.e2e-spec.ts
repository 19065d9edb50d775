import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import request from 'supertest';
import { EventsController } from './readme-examples/events.controller.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { listeningPort, sessionCookie } from './support/http.js';
import { uniquePrefix } from './support/redis.js';

// The README's SSE example: a stream that ends with its session (GET /events, an event every 100 ms).
@Module({ controllers: [EventsController] })
class StreamModule {}

interface OpenStream {
  status: number;
  /** Resolves with the ms from `since()` when the server ends the response. */
  ended: Promise<number>;
  events(): number;
  close(): void;
}

/** Opens GET /events with the cookie; resolves once the response headers arrived. */
function openStream(port: number, cookie: string, since: () => number): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { port, host: '127.0.0.1', path: '/events', headers: { cookie, accept: 'text/event-stream' } },
      (res: IncomingMessage) => {
        let events = 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (events += chunk.split('\n\n').filter((part) => part.includes('data:')).length));
        const ended = new Promise<number>((done) => {
          res.on('end', () => done(since()));
          res.on('close', () => done(since()));
        });
        resolve({ status: res.statusCode ?? 0, ended, events: () => events, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const bob = { username: 'bob', password: 'bob-password' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(ADAPTERS)('SSE streams end with their session (%s)', (adapter) => {
  describe('two app instances (liveRevocation on by default)', () => {
    let a: TestApp;
    let b: TestApp;
    beforeAll(async () => {
      const keyPrefix = uniquePrefix('sse');
      a = await createTestApp({ keyPrefix, isGlobal: true }, [StreamModule], { adapter });
      b = await createTestApp({ keyPrefix, isGlobal: true }, [StreamModule], { adapter });
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('a logout on the other instance ends the stream within a second', async () => {
      const cookie = sessionCookie(await request(a.app.getHttpServer()).post('/auth/login').send(bob));
      let logoutAt = Number.POSITIVE_INFINITY;
      const stream = await openStream(listeningPort(a.app.getHttpServer()), cookie, () => performance.now() - logoutAt);
      try {
        expect(stream.status).toBe(200);
        await sleep(350);
        expect(stream.events()).toBeGreaterThan(0);
        logoutAt = performance.now();
        expect((await request(b.app.getHttpServer()).post('/auth/logout').set('Cookie', cookie)).status).toBe(204);
        const after = await Promise.race([stream.ended, sleep(3000).then(() => Number.POSITIVE_INFINITY)]);
        process.stdout.write(
          `sse (${adapter}): stream on instance A ended ${Math.round(after)} ms after the logout on instance B\n`,
        );
        expect(after).toBeLessThan(1000);
      } finally {
        stream.close();
      }
    });

    it("a revoke-all on the other instance ends every stream of the user; another user's stream goes on", async () => {
      const server = a.app.getHttpServer();
      const port = listeningPort(server);
      const first = sessionCookie(await request(server).post('/auth/login').send(bob));
      const second = sessionCookie(await request(server).post('/auth/login').send(bob));
      const alice = sessionCookie(
        await request(server).post('/auth/login').send({ username: 'alice', password: 'alice-password' }),
      );
      let at = Number.POSITIVE_INFINITY;
      const streams = await Promise.all(
        [first, second, alice].map((cookie) => openStream(port, cookie, () => performance.now() - at)),
      );
      try {
        await sleep(250);
        at = performance.now();
        expect((await request(b.app.getHttpServer()).post('/auth/logout-all').set('Cookie', first)).status).toBe(204);
        const ended = await Promise.all(
          streams.slice(0, 2).map((s) => Promise.race([s.ended, sleep(3000).then(() => Infinity)])),
        );
        for (const ms of ended) expect(ms).toBeLessThan(1000);
        const aliceEventsBefore = streams[2].events();
        await sleep(300);
        expect(streams[2].events()).toBeGreaterThan(aliceEventsBefore);
      } finally {
        for (const stream of streams) stream.close();
      }
    });
  });

  it("without liveRevocation: a logout on the same instance ends the stream; an idle session's stream ends when it expires", async () => {
    const t = await createTestApp({ ttl: 1, isGlobal: true, liveRevocation: false }, [StreamModule], { adapter });
    try {
      const server = t.app.getHttpServer();
      const port = listeningPort(server);
      const cookie = sessionCookie(await request(server).post('/auth/login').send(bob));
      let at = Number.POSITIVE_INFINITY;
      const byLogout = await openStream(port, cookie, () => performance.now() - at);
      await sleep(200);
      at = performance.now();
      expect((await request(server).post('/auth/logout').set('Cookie', cookie)).status).toBe(204);
      expect(await Promise.race([byLogout.ended, sleep(3000).then(() => Infinity)])).toBeLessThan(500);

      // The stream itself does not slide the session: with a 1 s idle timeout it ends about a second in.
      const idle = sessionCookie(await request(server).post('/auth/login').send(bob));
      const openedAt = performance.now();
      const byExpiry = await openStream(port, idle, () => performance.now() - openedAt);
      const expiredAfter = await Promise.race([byExpiry.ended, sleep(4000).then(() => Infinity)]);
      expect(expiredAfter).toBeGreaterThan(900);
      expect(expiredAfter).toBeLessThan(2200);
      expect((await request(server).get('/me').set('Cookie', idle)).status).toBe(401);
    } finally {
      await t.close();
    }
  });
});
