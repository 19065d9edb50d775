import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import request from 'supertest';
import { SessionEvent, SessionService } from '../src/index.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { sessionCookie } from './support/http.js';
import { sleep, usePrivateRedis } from './support/redis.js';

const received: Array<{ name: string; payload: Record<string, unknown> }> = [];

@Injectable()
class NamedRecorder {
  @OnEvent(SessionEvent.Created) created(p: Record<string, unknown>) {
    received.push({ name: SessionEvent.Created, payload: p });
  }
  @OnEvent(SessionEvent.Destroyed) destroyed(p: Record<string, unknown>) {
    received.push({ name: SessionEvent.Destroyed, payload: p });
  }
  @OnEvent(SessionEvent.Revoked) revoked(p: Record<string, unknown>) {
    received.push({ name: SessionEvent.Revoked, payload: p });
  }
  @OnEvent(SessionEvent.Rotated) rotated(p: Record<string, unknown>) {
    received.push({ name: SessionEvent.Rotated, payload: p });
  }
  @OnEvent(SessionEvent.Expired) expired(p: Record<string, unknown>) {
    received.push({ name: SessionEvent.Expired, payload: p });
  }
}

@Module({ imports: [EventEmitterModule.forRoot()], providers: [NamedRecorder] })
class EventsModule {}

const of = (name: string) => received.filter((e) => e.name === name).map((e) => e.payload);

describe.each(ADAPTERS)('session events (@nestjs/event-emitter) (%s)', (adapter) => {
  // A private server with keyspace notifications for expired keys.
  const own = usePrivateRedis({ args: ['--notify-keyspace-events', 'Ex'] });
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(
      { redis: { url: own.server.url }, ttl: 1, absoluteTtl: 60, maxSessionsPerUser: 2, expiredEvents: true },
      [EventsModule],
      { adapter },
    );
  });
  afterAll(() => t.close());

  it('created, destroyed, revoked (revoke, revoke-all, max-sessions) and rotated', async () => {
    received.length = 0;
    const http = t.app.getHttpServer();
    const login = await request(http).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
    expect(of(SessionEvent.Created)).toEqual([{ session: expect.objectContaining({ id: login.body.session.id, userId: 1 }) }]);

    await request(http).post('/auth/logout').set('Cookie', sessionCookie(login));
    expect(of(SessionEvent.Destroyed)).toEqual([{ sessionId: login.body.session.id, userId: 1 }]);

    const service = t.app.get(SessionService);
    // "Oldest" is by login time in ms: two logins in the same millisecond tie (then the id decides).
    const a = await service.create({ id: 'ev' });
    await sleep(3);
    const b = await service.create({ id: 'ev' });
    await sleep(3);
    const c = await service.create({ id: 'ev' }); // past the cap of 2: a is evicted
    expect(of(SessionEvent.Revoked)).toEqual([{ sessionId: a.session.id, userId: 'ev', reason: 'max-sessions' }]);
    await service.revoke('ev', b.session.id);
    const rotated = await service.rotate(c.token);
    expect(of(SessionEvent.Rotated)).toEqual([{ sessionId: rotated!.session.id, previousSessionId: c.session.id, userId: 'ev' }]);
    await service.revokeAll('ev');
    expect(of(SessionEvent.Revoked).slice(1)).toEqual([
      { sessionId: b.session.id, userId: 'ev', reason: 'revoke' },
      { sessionId: rotated!.session.id, userId: 'ev', reason: 'revoke-all' },
    ]);
  });

  it('session.expired when Redis expires an idle session, and the index heals without it', async () => {
    received.length = 0;
    const service = t.app.get(SessionService);
    const { session } = await service.create({ id: 'idle-ev' });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && of(SessionEvent.Expired).length === 0) await sleep(50);
    expect(of(SessionEvent.Expired)).toContainEqual({ sessionId: session.id });
    expect(await service.list('idle-ev')).toEqual([]);
  });
});

describe.each(ADAPTERS)('without @nestjs/event-emitter in the app (%s)', (adapter) => {
  it('works the same and emits nothing', async () => {
    received.length = 0;
    const t = await createTestApp({}, [], { adapter });
    try {
      const res = await request(t.app.getHttpServer()).post('/auth/login').send({ username: 'bob', password: 'bob-password' });
      expect(res.status).toBe(200);
      expect(received).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
