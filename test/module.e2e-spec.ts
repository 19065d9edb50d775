import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import request from 'supertest';
import { SessionModule, SessionService, type SessionModuleAllOptions } from '../src/index.js';
import { ADAPTERS, createTestApp, GuardedController, listenOn, validateCredentials } from './support/app.js';
import { sessionCookie } from './support/http.js';
import { sleep, TEST_CLIENT_NAME, testRedisUrl, uniquePrefix, usePrivateRedis } from './support/redis.js';

async function initWith(options: unknown): Promise<void> {
  const moduleRef = await Test.createTestingModule({
    imports: [SessionModule.forRoot(options as SessionModuleAllOptions)],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  try {
    await app.init();
  } finally {
    await app.close().catch(() => undefined);
  }
}

describe('options are validated at boot', () => {
  const redis = { url: 'redis://127.0.0.1:1' }; // never contacted: init fails first
  it.each([
    ['no redis', {}, /`redis` is required/],
    ['a bad redis url', { redis: { url: 'http://x' } }, /redis\.url/],
    ['ttl 0', { redis, ttl: 0 }, /`ttl` must be a whole number of seconds greater than 0 \(got 0\)/],
    ['a negative ttl', { redis, ttl: -5 }, /`ttl`/],
    ['ttl as a string', { redis, ttl: '30m' }, /`ttl`/],
    ['absoluteTtl below ttl', { redis, ttl: 600, absoluteTtl: 60 }, /`absoluteTtl` \(60 s\) must be at least `ttl` \(600 s\)/],
    ["sameSite 'none' without secure", { redis, cookie: { sameSite: 'none', secure: false } }, /requires `cookie.secure: true`/],
    ['a cookie name with a space', { redis, cookie: { name: 'my sid' } }, /`cookie.name`/],
    ['an unknown transport', { redis, transport: 'header' }, /`transport`/],
    ['maxSessionsPerUser 0', { redis, maxSessionsPerUser: 0 }, /`maxSessionsPerUser`/],
    ['a typo in an option name', { redis, ttL: 60 }, /unknown option `ttL`/],
  ])('app.init() fails for %s, saying what to fix', async (_label, options, message) => {
    await expect(initWith(options)).rejects.toThrow(message);
  });

  it('lists every problem at once', async () => {
    await expect(initWith({ redis, ttl: 0, transport: 'x' })).rejects.toThrow(/ttl[\s\S]*transport/);
  });
});

describe('forRootAsync', () => {
  @Injectable()
  class AppConfig {
    readonly redisUrl = testRedisUrl();
    readonly prefix = uniquePrefix('async');
  }
  @Module({ providers: [AppConfig], exports: [AppConfig] })
  class AppConfigModule {}

  it.each(ADAPTERS)('builds the options from injected providers; extras sit next to useFactory (%s)', async (adapter) => {
    @Module({
      imports: [
        SessionModule.forRootAsync({
          imports: [AppConfigModule],
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            redis: { url: config.redisUrl },
            keyPrefix: config.prefix,
            ttl: 120,
            validateCredentials,
          }),
          globalGuard: true,
        }),
      ],
      controllers: [GuardedController],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = await listenOn(moduleRef, adapter);
    try {
      const server = app.getHttpServer();
      expect((await request(server).get('/open')).status).toBe(401); // globalGuard took effect
      const res = await request(server).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
      expect(res.status).toBe(200);
      const ttl = Date.parse(res.body.session.expiresAt) - Date.parse(res.body.session.createdAt);
      expect(ttl).toBe(120_000);
      expect((await request(server).get('/open').set('Cookie', sessionCookie(res))).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('fails app.init() with the same messages when the factory returns bad options', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRootAsync({ useFactory: () => ({ redis: { url: testRedisUrl() }, ttl: -1 }) })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await expect(app.init()).rejects.toThrow(/`ttl`/);
    await app.close().catch(() => undefined);
  });
});

describe.each(ADAPTERS)('module shape (%s)', (adapter) => {
  it('controller: false leaves the /auth routes out; SessionService still works', async () => {
    const t = await createTestApp({ controller: false }, [], { adapter });
    try {
      const server = t.app.getHttpServer();
      expect((await request(server).post('/auth/login').send({ username: 'a', password: 'b' })).status).toBe(404);
      const { token } = await t.app.get(SessionService).create({ id: 9 });
      expect((await request(server).get('/me').set('Cookie', `sid=${token}`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('without validateCredentials the login route answers 501, the rest works', async () => {
    const t = await createTestApp({ validateCredentials: undefined }, [], { adapter });
    try {
      const server = t.app.getHttpServer();
      const res = await request(server).post('/auth/login').send({ username: 'a', password: 'b' });
      expect(res.status).toBe(501);
      expect(res.body.message).toMatch(/validateCredentials/);
      expect((await request(server).post('/auth/logout')).status).toBe(204);
    } finally {
      await t.close();
    }
  });
});

describe('isGlobal', () => {
  it.each(ADAPTERS)('lets a feature module use SessionGuard without importing SessionModule (%s)', async (adapter) => {
    @Module({ controllers: [GuardedController] })
    class FeatureModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRoot({ redis: { url: testRedisUrl() }, keyPrefix: uniquePrefix('global'), validateCredentials, isGlobal: true }),
        FeatureModule,
      ],
    }).compile();
    const app = await listenOn(moduleRef, adapter);
    try {
      const server = app.getHttpServer();
      const res = await request(server).post('/auth/login').send({ username: 'bob', password: 'bob-password' });
      expect((await request(server).get('/me').set('Cookie', sessionCookie(res))).status).toBe(200);
      expect((await request(server).get('/me')).status).toBe(401);
    } finally {
      await app.close();
    }
  });
});

describe.each(ADAPTERS)('Redis connections (%s)', (adapter) => {
  const own = usePrivateRedis();

  /** Connections other than the tests' own (the module's). */
  const clientNames = async () =>
    ((await own.admin.client('LIST')) as string)
      .split('\n')
      .filter((line) => line && !line.includes(` name=${TEST_CLIENT_NAME} `)).length;
  /** The count once it settles (a closed socket takes a moment to leave CLIENT LIST). */
  const settledClients = async (expected: number) => {
    for (let i = 0; i < 50 && (await clientNames()) !== expected; i++) await sleep(20);
    return clientNames();
  };

  it('closes the connection it created on app.close()', async () => {
    const t = await createTestApp({ redis: { url: own.server.url } }, [], { adapter });
    const res = await request(t.app.getHttpServer()).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
    expect(res.status).toBe(200);
    expect(await clientNames()).toBe(1);
    await t.close();
    expect(await settledClients(0)).toBe(0);
  });

  it('accepts plain ioredis options (host, port) as well as a URL', async () => {
    const t = await createTestApp({ redis: { host: own.server.host, port: own.server.port } }, [], { adapter });
    try {
      const res = await request(t.app.getHttpServer()).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
      expect(res.status).toBe(200);
      expect(await own.admin.exists(`${t.prefix}${res.body.session.id}`)).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('never closes a client the app passed in', async () => {
    const client = new Redis(own.server.url, { commandTimeout: 1000 });
    const t = await createTestApp({ redis: { client } }, [], { adapter });
    const res = await request(t.app.getHttpServer()).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
    expect(res.status).toBe(200);
    await t.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('does not connect before the app initialises', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ redis: { url: own.server.url }, keyPrefix: uniquePrefix('lazy') })],
    }).compile();
    expect(await settledClients(0)).toBe(0);
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    await app.get(SessionService).get('x'.repeat(43) + '.zz'); // any command
    await app.get(SessionService).create({ id: 1 });
    expect(await clientNames()).toBe(1);
    await app.close();
  });
});
