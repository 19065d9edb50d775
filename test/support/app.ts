import { Controller, type DynamicModule, Get, type INestApplication, Module, type Type, UseGuards } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  CurrentSession,
  NoSlide,
  Public,
  Roles,
  SessionGuard,
  SessionModule,
  type Session,
  type SessionModuleOptions,
  type SessionUser,
} from '../../src/index.js';
import type { Redis } from 'ioredis';
import { assertionClient, testRedisUrl, uniquePrefix } from './redis.js';

/** Test users: plain passwords are fine here (the demo app shows argon2id). */
export const USERS: Record<string, { password: string; user: SessionUser }> = {
  alice: { password: 'alice-password', user: { id: 1, username: 'alice', role: 'admin', team: 'core' } },
  bob: { password: 'bob-password', user: { id: 'u-bob', username: 'bob', role: 'user' } },
  carol: { password: 'carol-password', user: { id: 3, username: 'carol', role: 'user', passwordHash: 'x' } },
};

export async function validateCredentials(credentials: { username: string; password: string }) {
  const entry = Object.hasOwn(USERS, credentials.username) ? USERS[credentials.username] : undefined;
  return entry && entry.password === credentials.password ? entry.user : null;
}

@Controller()
export class GuardedController {
  @UseGuards(SessionGuard)
  @Get('me')
  me(@CurrentSession() session: Session) {
    return { userId: session.userId, username: session.username, sessionId: session.id };
  }

  @UseGuards(SessionGuard)
  @Roles('admin')
  @Get('admin')
  admin(@CurrentSession('userId') userId: string | number) {
    return { admin: true, userId };
  }

  /** A route a page polls: validated, not slid. */
  @UseGuards(SessionGuard)
  @NoSlide()
  @Get('poll')
  poll(@CurrentSession() session: Session) {
    return { userId: session.userId, expiresAt: session.expiresAt };
  }

  @Get('open')
  open() {
    return { open: true };
  }

  @Public()
  @Get('public')
  publicRoute() {
    return { public: true };
  }

  @Get('global-only')
  globalOnly(@CurrentSession() session: Session | undefined) {
    return { userId: session?.userId ?? null };
  }
}

export interface TestApp {
  app: INestApplication;
  prefix: string;
  /** A separate client on the same Redis, for assertions on what the module wrote. */
  redis: Redis;
  close(): Promise<void>;
}

/** The HTTP platforms the e2e suites run on. */
export const ADAPTERS = ['express', 'fastify'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/**
 * Runs `check` for every platform at once, for tests that mostly wait (expiry, outages):
 * side by side they cost the time of one. Waits for all; a failure names its platform.
 */
export async function onEachAdapter(check: (adapter: AdapterName) => Promise<void>): Promise<void> {
  const results = await Promise.allSettled(ADAPTERS.map((adapter) => check(adapter)));
  results.forEach((result, i) => {
    if (result.status === 'rejected') {
      const error = result.reason as unknown;
      if (error instanceof Error) error.message = `[${ADAPTERS[i]}] ${error.message}`;
      throw error;
    }
  });
}

export interface TestAppSetup {
  /** The HTTP platform: `'express'` (default) or `'fastify'` (no cookie plugin: the module needs none). */
  adapter?: AdapterName;
  /**
   * The assertion client (`TestApp.redis`): by default a new client on the URL or
   * host in `options.redis` (else the suite's Redis); pass your own (the caller closes
   * it, not `close()`), or `false` for none (Cluster or Sentinel setups, where the
   * test asserts through its own clients; `redis` then throws on use).
   */
  assertionClient?: Redis | false;
  /** Trust `X-Forwarded-For` for `req.ip` (Express `trust proxy`, Fastify `trustProxy`), to test per-IP rules. */
  trustProxy?: boolean;
  /** Runs on the app before it listens (e.g. `app.useWebSocketAdapter(new WsAdapter(app))`). */
  configure?: (app: INestApplication) => void;
}

/** A Nest app with SessionModule on a real Redis, listening on a real port. */
export async function createTestApp(
  options: Partial<SessionModuleOptions> = {},
  extraImports: Array<Type | DynamicModule> = [],
  setup: TestAppSetup = {},
): Promise<TestApp> {
  const prefix = options.keyPrefix ?? uniquePrefix('e2e');
  @Module({
    imports: [
      SessionModule.forRoot({
        // Only read the suite's Redis when the test names none (topology tests have no global setup).
        redis: options.redis ?? { url: testRedisUrl() },
        validateCredentials,
        ...options,
        keyPrefix: prefix,
      }),
      ...extraImports,
    ],
    controllers: [GuardedController],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = await listenOn(moduleRef, setup.adapter ?? 'express', { trustProxy: setup.trustProxy, configure: setup.configure });
  const owned = setup.assertionClient === undefined;
  const redis = setup.assertionClient === undefined ? assertionClient(redisUrlOf(options.redis)) : setup.assertionClient;
  if (redis) await redis.ping(); // connected before the test starts counting commands
  return {
    app,
    prefix,
    redis: redis || noAssertionClient(),
    async close() {
      await app.close();
      if (owned && redis) redis.disconnect();
    },
  };
}

/**
 * Creates the app on the chosen platform and listens on a free port. Fastify is
 * loaded only when asked for, so Express-only suites do not pay for it.
 */
export async function listenOn(
  moduleRef: TestingModule,
  adapter: AdapterName,
  options: { trustProxy?: boolean; configure?: (app: INestApplication) => void } = {},
): Promise<INestApplication> {
  if (adapter === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    const fastify = new FastifyAdapter(options.trustProxy ? { trustProxy: true } : undefined);
    const app = moduleRef.createNestApplication<NestFastifyApplication>(fastify, { logger: false });
    options.configure?.(app);
    await app.listen(0, '127.0.0.1');
    // What Nest's docs ask before supertest talks to a Fastify app.
    await app.getHttpAdapter().getInstance().ready();
    return app;
  }
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
  if (options.trustProxy) app.set('trust proxy', true);
  options.configure?.(app);
  await app.listen(0, '127.0.0.1');
  return app;
}

function noAssertionClient(): Redis {
  return new Proxy({} as Redis, {
    get(_target, property) {
      throw new Error(
        `this TestApp has no assertion client (createTestApp(..., { assertionClient: false })): redis.${String(property)}`,
      );
    },
  });
}

function redisUrlOf(redis: SessionModuleOptions['redis'] | undefined): string {
  if (redis && 'url' in redis) return redis.url;
  if (redis && 'host' in redis && redis.host) return `redis://${redis.host}:${redis.port ?? 6379}`;
  return testRedisUrl();
}
