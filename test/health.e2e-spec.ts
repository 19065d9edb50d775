import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import request from 'supertest';
import { AppModule } from '../demo/app.module.js';
import { demoAccounts } from '../demo/users.js';
import { HealthController } from '../demo/health.controller.js';
import { SessionHealthIndicator } from '../src/health/index.js';
import { SessionModule, SessionService, type SessionModuleOptions } from '../src/index.js';
import { ADAPTERS, listenOn, type AdapterName } from './support/app.js';
import { aclLog, describeDenials } from './support/redis-acl.js';
import { keysWithPrefix, sleep, testRedisUrl, uniquePrefix, usePrivateRedis } from './support/redis.js';

/** An app with SessionModule (no /auth routes), TerminusModule and GET /health. */
async function healthApp(
  adapter: AdapterName,
  redis: SessionModuleOptions['redis'],
  keyPrefix = uniquePrefix('health'),
): Promise<{ app: INestApplication; http: ReturnType<INestApplication['getHttpServer']> }> {
  @Module({
    imports: [SessionModule.forRoot({ redis, keyPrefix, controller: false }), TerminusModule.forRoot({ logger: false })],
    controllers: [HealthController],
    providers: [SessionHealthIndicator],
  })
  class HealthAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [HealthAppModule] }).compile();
  const app = await listenOn(moduleRef, adapter);
  return { app, http: app.getHttpServer() };
}

const timed = async (req: request.Test) => {
  const started = Date.now();
  const res = await req;
  return { status: res.status, ms: Date.now() - started, body: res.body as Record<string, any> };
};

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.each(ADAPTERS)('SessionHealthIndicator (nestjs-redis-session/health) (%s)', (adapter) => {
  it('reports up with the PING round-trip time while Redis answers', async () => {
    const { app, http } = await healthApp(adapter, { url: testRedisUrl() });
    try {
      const res = await request(http).get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'ok',
        info: { redis: { status: 'up', rttMs: expect.any(Number) } },
        error: {},
        details: { redis: { status: 'up', rttMs: expect.any(Number) } },
      });
      expect(res.body.info.redis.rttMs).toBeGreaterThanOrEqual(0);
      expect(res.body.info.redis.rttMs).toBeLessThan(1000);
    } finally {
      await app.close();
    }
  });

  it("reports down (503) when nothing listens on the Redis port, without Redis's error text (host, port, ECONNREFUSED)", async () => {
    const port = await closedPort();
    const { app, http } = await healthApp(adapter, { url: `redis://127.0.0.1:${port}` });
    try {
      const res = await timed(request(http).get('/health'));
      expect(res.status).toBe(503);
      expect(res.ms).toBeLessThan(1500);
      expect(res.body).toEqual({
        status: 'error',
        info: {},
        error: { redis: { status: 'down', message: expect.stringMatching(/unavailable/i) } },
        details: { redis: { status: 'down', message: expect.stringMatching(/unavailable/i) } },
      });
      expect(JSON.stringify(res.body)).not.toMatch(new RegExp(`ECONNREFUSED|127\\.0\\.0\\.1|${port}|connect`));
    } finally {
      await app.close();
    }
  });

  describe('with a stalled Redis (SIGSTOP)', () => {
    const redis = usePrivateRedis();
    let owned: { app: INestApplication; http: ReturnType<INestApplication['getHttpServer']> };
    let passedIn: { app: INestApplication; http: ReturnType<INestApplication['getHttpServer']> };
    let client: Redis;

    beforeAll(async () => {
      owned = await healthApp(adapter, { url: redis.server.url });
      // A client the app owns, without a commandTimeout: the indicator's own timeout must still hold.
      client = new Redis(redis.server.url, { maxRetriesPerRequest: 1 });
      passedIn = await healthApp(adapter, { client });
    });

    afterAll(async () => {
      await owned?.app.close();
      await passedIn?.app.close();
      client?.disconnect();
    });

    it('answers 503 within ~1 s, for a client the module made and for one passed in, then recovers', async () => {
      for (const target of [owned, passedIn]) expect((await request(target.http).get('/health')).status).toBe(200);
      redis.server.signal('SIGSTOP');
      try {
        const results = await Promise.all([
          timed(request(owned.http).get('/health')),
          timed(request(passedIn.http).get('/health')),
        ]);
        process.stdout.write(`health on a stalled Redis (${adapter}): ${JSON.stringify(results.map((r) => [r.status, r.ms]))}\n`);
        for (const result of results) {
          expect(result.status).toBe(503);
          expect(result.ms).toBeLessThan(1500);
          expect(result.body.error.redis).toEqual({ status: 'down', message: expect.stringMatching(/unavailable/i) });
        }
      } finally {
        redis.server.signal('SIGCONT');
      }
      for (const target of [owned, passedIn]) {
        let status = 0;
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline && status !== 200) {
          status = (await request(target.http).get('/health')).status;
          if (status !== 200) await sleep(100);
        }
        expect(status).toBe(200);
      }
    });
  });

  /*
   * Issue 19 item 9d: a Redis user that may connect and PING but not touch the session keys
   * makes every route answer 503; /health must not say up. The probe reads a key under the
   * prefix (PTTL <prefix>health), writes nothing and leaves no key behind.
   */
  describe('with a Redis ACL user that cannot touch the session keys', () => {
    const PREFIX = 'acl:sessions:';
    const redis = usePrivateRedis({
      config: [
        // Every command, but only keys under other:* (the session keys are under acl:sessions:*).
        'user nokeys on >nokeys-password +@all ~other:* &*',
        'user noping on >noping-password +@all -ping ~* &*',
        'user allowed on >allowed-password +@all ~acl:sessions:* &*',
        '',
      ].join('\n'),
    });
    const url = (user: string) => `redis://${user}:${user}-password@127.0.0.1:${redis.server.port}`;

    it('reports down (503), saying the Redis user may not access the session keys, while a login answers 503', async () => {
      await redis.admin.call('ACL', 'LOG', 'RESET');
      const { app, http } = await healthApp(adapter, { url: url('nokeys') }, PREFIX);
      try {
        await expect(app.get(SessionService).create({ id: 'u1' })).rejects.toMatchObject({ status: 503 });
        const res = await timed(request(http).get('/health'));
        expect(res.status).toBe(503);
        expect(res.body.error).toEqual({ redis: { status: 'down', message: expect.stringMatching(/session keys/) } });
        expect(res.body.error.redis.message).toMatch(/unavailable/i);
        expect(JSON.stringify(res.body)).not.toMatch(/nokeys|NOPERM|127\.0\.0\.1/);
        const denials = describeDenials(await aclLog(redis.admin));
        expect(denials).toContain(`nokeys: key ${PREFIX}health (toplevel)`);
      } finally {
        await app.close();
      }
    });

    it('reports down when the user may not run PING', async () => {
      const { app, http } = await healthApp(adapter, { url: url('noping') }, PREFIX);
      try {
        const res = await request(http).get('/health');
        expect(res.status).toBe(503);
        expect(res.body.error.redis).toEqual({ status: 'down', message: expect.stringMatching(/may not run PING/) });
      } finally {
        await app.close();
      }
    });

    it('reports up for a user whose ACL allows the prefix; the probe writes nothing and leaves no key', async () => {
      const { app, http } = await healthApp(adapter, { url: url('allowed') }, PREFIX);
      try {
        const before = await redis.admin.dbsize();
        for (let i = 0; i < 3; i++) {
          const res = await request(http).get('/health');
          expect(res.status).toBe(200);
          expect(res.body.info.redis).toEqual({ status: 'up', rttMs: expect.any(Number) });
        }
        expect(await keysWithPrefix(redis.admin, PREFIX)).toEqual([]);
        expect(await redis.admin.dbsize()).toBe(before);
      } finally {
        await app.close();
      }
    });
  });

  it("the demo's GET /health reports Redis up", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        AppModule.forRoot({ redisUrl: testRedisUrl(), keyPrefix: uniquePrefix('demo-health'), accounts: demoAccounts() }),
      ],
    }).compile();
    const app = await listenOn(moduleRef, adapter);
    try {
      const res = await request(app.getHttpServer()).get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', info: { redis: { status: 'up', rttMs: expect.any(Number) } } });
    } finally {
      await app.close();
    }
  });
});
