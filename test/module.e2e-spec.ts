import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Inject, Injectable, Module, Post, UseGuards, type DynamicModule } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import request from 'supertest';
import {
  CurrentSession,
  SessionGuard,
  SessionModule,
  SessionService,
  type Session,
  type SessionModuleOptions,
} from '../src/index.js';
import { ADAPTERS, createTestApp, GuardedController, listenOn, validateCredentials } from './support/app.js';
import { sessionCookie } from './support/http.js';
import { keysWithPrefix, sleep, TEST_CLIENT_NAME, testRedisUrl, uniquePrefix, usePrivateRedis } from './support/redis.js';

async function initWith(options: unknown): Promise<void> {
  const moduleRef = await Test.createTestingModule({
    imports: [SessionModule.forRoot(options as SessionModuleOptions)],
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

/** A feature module of the app's: it injects SessionService and guards a route, and does not import SessionModule. */
@Controller('feature')
class FeatureController {
  constructor(@Inject(SessionService) private readonly sessions: SessionService) {}

  @Post('sign-in')
  async signIn() {
    const { token, session } = await this.sessions.create({ id: 'feature-user', username: 'fay' });
    return { token, sessionId: session.id };
  }

  @UseGuards(SessionGuard)
  @Get('me')
  me(@CurrentSession() session: Session) {
    return { userId: session.userId, sessionId: session.id };
  }
}
@Module({ controllers: [FeatureController] })
class FeatureModule {}

describe('forRootAsync extras: isGlobal, controller, globalGuard next to useFactory', () => {
  @Injectable()
  class AsyncConfig {
    readonly redisUrl = testRedisUrl();
  }
  @Module({ providers: [AsyncConfig], exports: [AsyncConfig] })
  class AsyncConfigModule {}

  const asyncSession = (extras: { isGlobal?: boolean; controller?: boolean }, prefix = uniquePrefix('async-extras')) =>
    SessionModule.forRootAsync({
      ...extras,
      imports: [AsyncConfigModule],
      inject: [AsyncConfig],
      useFactory: (config: AsyncConfig) => ({ redis: { url: config.redisUrl }, keyPrefix: prefix, validateCredentials }),
    });

  it.each(ADAPTERS)(
    'isGlobal: true lets a feature module use SessionService and SessionGuard without importing SessionModule; controller: false leaves /auth out (%s)',
    async (adapter) => {
      const prefix = uniquePrefix('async-global');
      const moduleRef = await Test.createTestingModule({
        imports: [asyncSession({ isGlobal: true, controller: false }, prefix), FeatureModule],
      }).compile();
      const app = await listenOn(moduleRef, adapter);
      const redis = new Redis(testRedisUrl(), { connectionName: TEST_CLIENT_NAME });
      try {
        const server = app.getHttpServer();
        for (const [method, path] of [
          ['post', '/auth/login'],
          ['get', '/auth/session'],
          ['get', '/auth/sessions'],
          ['post', '/auth/logout'],
        ] as const) {
          const res = await request(server)[method](path).send({ username: 'alice', password: 'alice-password' });
          expect({ path, status: res.status }).toEqual({ path, status: 404 });
        }
        // The feature module's SessionService writes under the factory's prefix.
        const signIn = await request(server).post('/feature/sign-in');
        expect(signIn.status).toBe(201);
        expect(await redis.exists(`${prefix}${signIn.body.sessionId}`)).toBe(1);
        // Its SessionGuard checks sessions: 401 without one, 200 with the one just made.
        expect((await request(server).get('/feature/me')).status).toBe(401);
        const me = await request(server).get('/feature/me').set('Cookie', `sid=${signIn.body.token}`);
        expect(me.status).toBe(200);
        expect(me.body).toEqual({ userId: 'feature-user', sessionId: signIn.body.sessionId });
      } finally {
        redis.disconnect();
        await app.close();
      }
    },
  );

  it.each([
    ['forRootAsync', () => asyncSession({})],
    ['forRoot', () => SessionModule.forRoot({ redis: { url: testRedisUrl() }, keyPrefix: uniquePrefix('not-global') })],
  ] as Array<[string, () => DynamicModule]>)(
    'isGlobal defaults to false (%s): a feature module that does not import SessionModule cannot resolve SessionService',
    async (_label, sessionModule) => {
      const compile = () => Test.createTestingModule({ imports: [sessionModule(), FeatureModule] }).compile();
      await expect(compile()).rejects.toThrow(/can't resolve dependencies[\s\S]*SessionService/);
    },
  );

  it.each([
    ['controller', { controller: false }],
    ['globalGuard', { globalGuard: true }],
    ['isGlobal', { isGlobal: true }],
    ['all three', { controller: false, globalGuard: true, isGlobal: true }],
  ])('a useFactory that returns %s fails app.init(), saying to pass it next to useFactory', async (label, late) => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRootAsync({
          useFactory: () => ({ redis: { url: testRedisUrl() }, keyPrefix: uniquePrefix('late-extras'), ...late }) as never,
        }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      const failure = app.init();
      await expect(failure).rejects.toThrow(/came back from forRootAsync's useFactory/);
      for (const key of Object.keys(late)) await expect(failure).rejects.toThrow(`\`${key}\``);
      if (label !== 'all three') {
        const others = ['controller', 'globalGuard', 'isGlobal'].filter((key) => key !== label);
        await failure.catch((err: Error) => others.forEach((key) => expect(err.message).not.toContain(`\`${key}\``)));
      }
    } finally {
      await app.close().catch(() => undefined);
    }
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
        SessionModule.forRoot({
          redis: { url: testRedisUrl() },
          keyPrefix: uniquePrefix('global'),
          validateCredentials,
          isGlobal: true,
        }),
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
  /** CLIENT LIST lines of the connections other than the tests' own. */
  const moduleClientLines = async () =>
    ((await own.admin.client('LIST')) as string)
      .split('\n')
      .filter((line) => line && !line.includes(` name=${TEST_CLIENT_NAME} `));
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

  it('accepts plain ioredis options (host, port) as well as a URL, and closes that connection on app.close()', async () => {
    const t = await createTestApp({ redis: { host: own.server.host, port: own.server.port } }, [], { adapter });
    try {
      const res = await request(t.app.getHttpServer())
        .post('/auth/login')
        .send({ username: 'alice', password: 'alice-password' });
      expect(res.status).toBe(200);
      expect(await own.admin.exists(`${t.prefix}${res.body.session.id}`)).toBe(1);
      expect(await clientNames()).toBe(1);
    } finally {
      await t.close();
    }
    expect(await settledClients(0)).toBe(0);
  });

  it('redis.url with a database number: sessions and indexes land in that database, none in db 0', async () => {
    const db3 = new Redis(own.server.url, { db: 3, connectionName: TEST_CLIENT_NAME });
    const t = await createTestApp({ redis: { url: `${own.server.url}/3` } }, [], { adapter, assertionClient: db3 });
    try {
      const server = t.app.getHttpServer();
      const res = await request(server).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
      expect(res.status).toBe(200);
      expect((await request(server).get('/me').set('Cookie', sessionCookie(res))).status).toBe(200);
      expect((await keysWithPrefix(db3, t.prefix)).sort()).toEqual(
        [`${t.prefix}${res.body.session.id}`, `${t.prefix}user:1`].sort(),
      );
      expect(await db3.type(`${t.prefix}${res.body.session.id}`)).toBe('string');
      expect(await keysWithPrefix(own.admin, t.prefix)).toEqual([]); // own.admin is on db 0
      // The module's connection itself sits on db 3.
      const moduleLines = await moduleClientLines();
      expect(moduleLines.length).toBeGreaterThan(0);
      for (const line of moduleLines) expect(line).toMatch(/ db=3 /);
    } finally {
      await t.close();
      db3.disconnect();
    }
  });

  it("closes durability: 'replicated''s extra writer connection on app.close()", async () => {
    // No replica here: the login's WAIT falls short (503), but both connections were used.
    const t = await createTestApp(
      { redis: { url: own.server.url }, durability: 'replicated', replication: { timeoutMs: 50 } },
      [],
      { adapter, assertionClient: own.admin },
    );
    const res = await request(t.app.getHttpServer()).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
    expect(res.status).toBe(503);
    expect(await clientNames()).toBe(2); // the main connection and the writer
    await t.close();
    expect(await settledClients(0)).toBe(0);
  });

  it('closes the expiredEvents subscriber connection on app.close()', async () => {
    await own.admin.config('SET', 'notify-keyspace-events', 'Ex');
    try {
      const t = await createTestApp({ redis: { url: own.server.url }, expiredEvents: true }, [EventEmitterModule.forRoot()], {
        adapter,
        assertionClient: own.admin,
      });
      const res = await request(t.app.getHttpServer())
        .post('/auth/login')
        .send({ username: 'alice', password: 'alice-password' });
      expect(res.status).toBe(200);
      const lines = await moduleClientLines();
      expect(lines).toHaveLength(2); // the main connection and the subscriber
      expect(lines.filter((line) => / sub=1 /.test(line))).toHaveLength(1);
      await t.close();
      expect(await settledClients(0)).toBe(0);
    } finally {
      await own.admin.config('SET', 'notify-keyspace-events', '');
    }
  });

  it("an app's own client stays open and usable after app.close(); the module's writer and expiry subscriber are closed", async () => {
    await own.admin.config('SET', 'notify-keyspace-events', 'Ex');
    const client = new Redis(own.server.url, { commandTimeout: 1000 });
    try {
      const appClientId = Number(await client.client('ID'));
      const others = async () => (await moduleClientLines()).filter((line) => !line.startsWith(`id=${appClientId} `));
      const t = await createTestApp(
        { redis: { client }, durability: 'replicated', replication: { timeoutMs: 50 }, expiredEvents: true },
        [EventEmitterModule.forRoot()],
        { adapter, assertionClient: own.admin },
      );
      const res = await request(t.app.getHttpServer())
        .post('/auth/login')
        .send({ username: 'alice', password: 'alice-password' });
      expect(res.status).toBe(503); // WAIT without a replica: the writer connection was used
      const extra = await others();
      expect(extra).toHaveLength(2); // the writer and the subscriber
      expect(extra.filter((line) => / sub=1 /.test(line))).toHaveLength(1);
      await t.close();
      for (let i = 0; i < 50 && (await others()).length > 0; i++) await sleep(20);
      expect(await others()).toEqual([]);
      expect(client.status).toBe('ready');
      expect((await moduleClientLines()).map((line) => line.split(' ')[0])).toEqual([`id=${appClientId}`]);
      await client.set(`${uniquePrefix('app-client')}probe`, '1', 'PX', 1000);
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
      await own.admin.config('SET', 'notify-keyspace-events', '');
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
