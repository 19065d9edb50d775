import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Body,
  Controller,
  Get,
  Module,
  Post,
  UseGuards,
  type DynamicModule,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule, Query, Resolver, Subscription } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { Test, type TestingModule } from '@nestjs/testing';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { createClient } from 'graphql-ws';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import request from 'supertest';
import WebSocket from 'ws';
import {
  CurrentSession,
  Public,
  RequireFreshSession,
  SessionGuard,
  SessionModule,
  type Session,
  type SessionModuleOptions,
} from '../src/index.js';
import { sessionForTest, sessionGuardForTest, signInForTest, signOutForTest, type TestSignIn } from '../src/testing/index.js';
import { ChatGateway } from './readme-examples/chat.gateway.js';
import { ProfileController } from './readme-examples/profile.controller.js';
import { UserId } from './readme-examples/user-id.decorator.js';
import { ADAPTERS, listenOn, type AdapterName } from './support/app.js';
import { listeningPort } from './support/http.js';
import { testRedisUrl, uniquePrefix } from './support/redis.js';

/*
 * nestjs-redis-session/testing, as the README's "Testing your app" uses it, on Express and
 * Fastify: signInForTest's session passes the real guard on every transport (cookie, bearer,
 * the __Host- preset with double-submit CSRF, a socket.io handshake, graphql-ws
 * connectionParams), and sessionGuardForTest stands in for the guard with no Redis at all.
 * The README's own recipe files (test/readme-examples/*.e2e-spec.ts, *.spec.ts) run as they are.
 */

/** Routes beyond the README's ProfileController: a state-changing one, @Public, a fresh login. */
@Controller('extras')
class ExtrasController {
  /** The README's `@UserId()`, the answer to "where is req.user". */
  @UseGuards(SessionGuard)
  @Post('echo')
  echo(@UserId() userId: string | number, @Body() body: unknown) {
    return { userId, body };
  }

  @UseGuards(SessionGuard)
  @RequireFreshSession(60)
  @Get('fresh')
  fresh(@CurrentSession('username') username: string | null) {
    return { username };
  }

  @UseGuards(SessionGuard)
  @Public()
  @Get('open')
  open(@CurrentSession() session: Session | undefined) {
    return { session: session ?? null };
  }
}

/** graphql-ws: a subscription that answers who it belongs to, once; and a guarded query. */
@Resolver()
class WhoamiResolver {
  @UseGuards(SessionGuard)
  @Query(() => String)
  me(@CurrentSession('username') username: string): string {
    return username;
  }

  @UseGuards(SessionGuard)
  @Subscription(() => String, { resolve: (value: string) => value })
  whoami(@CurrentSession('username') username: string): AsyncIterableIterator<string> {
    return (async function* () {
      yield username;
    })();
  }
}

/** A gateway whose messages are guarded one by one (no handshake check: it needs no SessionModule). */
@WebSocketGateway()
class MessagesGateway {
  @UseGuards(SessionGuard)
  @SubscribeMessage('whoami')
  whoami(@CurrentSession('username') username: string): string {
    return username;
  }
}

function graphqlModule(adapter: AdapterName): DynamicModule {
  return adapter === 'express'
    ? GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        autoSchemaFile: true,
        subscriptions: { 'graphql-ws': true },
      })
    : GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true, subscription: true });
}

interface Started {
  app: INestApplication;
  moduleRef: TestingModule;
}

/** An app on a real Redis with the README's controller (and more), on `adapter`. */
async function startApp(
  adapter: AdapterName,
  options: Partial<SessionModuleOptions>,
  extra: { imports?: DynamicModule[]; providers?: Array<typeof ChatGateway | typeof WhoamiResolver> } = {},
): Promise<Started> {
  @Module({
    imports: [
      SessionModule.forRoot({ redis: { url: testRedisUrl() }, keyPrefix: uniquePrefix('testing'), ...options }),
      ...(extra.imports ?? []),
    ],
    controllers: [ProfileController, ExtrasController],
    providers: extra.providers ?? [],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  return { app: await listenOn(moduleRef, adapter), moduleRef };
}

const connected = (socket: ClientSocket) =>
  new Promise<void>((resolve, reject) => {
    if (socket.connected) return resolve();
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });

/** socket.io, as the README's gateway recipe opens it: the token in `auth`, or headers on the handshake. */
function openSocket(app: INestApplication, options: { auth?: { token: string }; headers?: Record<string, string> }) {
  return io(`http://127.0.0.1:${listeningPort(app.getHttpServer())}`, {
    transports: ['websocket'],
    auth: options.auth,
    extraHeaders: options.headers,
    forceNew: true,
    reconnection: false,
  });
}

/** A graphql-ws subscription with `connectionParams`: its one event, or the error codes that refused it. */
async function whoamiOverGraphqlWs(app: INestApplication, connectionParams?: Record<string, unknown>): Promise<string> {
  const client = createClient({
    url: `ws://127.0.0.1:${listeningPort(app.getHttpServer())}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
  });
  try {
    return await new Promise<string>((resolve) => {
      client.subscribe<{ whoami: string }>(
        { query: 'subscription { whoami }' },
        {
          next: (result) => {
            if (result.data) resolve(result.data.whoami);
            else resolve(`errors: ${(result.errors ?? []).map((e) => String(e.extensions?.code)).join(',')}`);
          },
          error: (error: unknown) =>
            resolve(
              Array.isArray(error)
                ? `errors: ${error.map((e: { extensions?: { code?: string } }) => e.extensions?.code).join(',')}`
                : `closed: ${(error as { code?: number }).code}`,
            ),
          complete: () => resolve('complete'),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

const dana = { id: 7, username: 'dana', role: 'admin', team: 'core', passwordHash: 'never stored' };
const erin = { id: 'u-erin', username: 'erin', role: 'user' };

describe.each(ADAPTERS)('nestjs-redis-session/testing (%s)', (adapter) => {
  describe("signInForTest: a real session, under transport: 'both'", () => {
    let both: Started;
    let http: ReturnType<INestApplication['getHttpServer']>;
    beforeAll(async () => {
      both = await startApp(adapter, { transport: 'both' }, { providers: [ChatGateway] });
      http = both.app.getHttpServer();
    });
    afterAll(async () => {
      await both?.app.close();
    });

    it('a guarded route answers 200 with its cookie, with its bearer header, and with its headers; 401 without', async () => {
      const signed = await signInForTest(both.app, dana);
      expect(signed.cookie).toBe(`sid=${signed.token}`);
      expect(signed.authorization).toBe(`Bearer ${signed.token}`);
      expect(signed.headers).toEqual({ cookie: signed.cookie });
      expect(signed.csrfToken).toBeNull();
      const me = { id: 7, name: 'dana' };
      await request(http).get('/me').set('Cookie', signed.cookie).expect(200, me);
      await request(http).get('/me').set('Authorization', signed.authorization).expect(200, me);
      await request(http).get('/me').set(signed.headers).expect(200, me);
      await request(http).get('/me').expect(401);
    });

    it("@Roles sees the user's role: 200 for an admin, 403 for a user", async () => {
      const admin = await signInForTest(both.app, dana);
      const user = await signInForTest(both.app, erin);
      await request(http).get('/admin/stats').set('Cookie', admin.cookie).expect(200, { userId: 7 });
      await request(http).get('/admin/stats').set('Authorization', user.authorization).expect(403);
    });

    it('the session is what a login makes: data kept, password keys dropped, the context recorded, its own ttl', async () => {
      const context = { ip: '203.0.113.7', userAgent: 'TestAgent/1.0' };
      const signed = await signInForTest(both.app, dana, { context, ttl: 60 });
      expect(signed.session).toMatchObject({ userId: 7, username: 'dana', role: 'admin', data: { team: 'core' }, ...context });
      expect(signed.session.data).not.toHaveProperty('passwordHash');
      expect(signed.session.expiresAt.getTime() - signed.session.lastActivityAt.getTime()).toBe(60_000);
      const current = await request(http).get('/auth/session').set('Cookie', signed.cookie).expect(200);
      expect(current.body).toMatchObject({ id: signed.session.id, ...context, data: { team: 'core' } });
    });

    it("@UserId() (the README's answer to req.user) reads the session's user id", async () => {
      const signed = await signInForTest(both.app, erin);
      await request(http)
        .post('/extras/echo')
        .set(signed.headers)
        .send({ n: 1 })
        .expect(201, { userId: 'u-erin', body: { n: 1 } });
    });

    it('a socket.io handshake with its token (socketAuth) or its cookie (extraHeaders: headers)', async () => {
      const signed = await signInForTest(both.app, erin);
      for (const options of [{ auth: signed.socketAuth }, { headers: signed.headers }]) {
        const socket = openSocket(both.app, options);
        try {
          await connected(socket);
          expect(await socket.timeout(2000).emitWithAck('whoami')).toBe('erin');
        } finally {
          socket.disconnect();
        }
      }
    });

    it('a graphql-ws operation with its connectionParams; refused without', async () => {
      // An app of its own: Mercurius's WebSocket server takes every upgrade on its port (socket.io's too).
      const gql = await startApp(
        adapter,
        { transport: 'both' },
        { imports: [graphqlModule(adapter)], providers: [WhoamiResolver] },
      );
      try {
        const signed = await signInForTest(gql.app, erin);
        expect(await whoamiOverGraphqlWs(gql.app, signed.connectionParams)).toBe('erin');
        expect(await whoamiOverGraphqlWs(gql.app)).toBe('errors: UNAUTHENTICATED');
      } finally {
        await gql.app.close();
      }
    });

    it('signOutForTest ends it as a logout does: 401 after, its socket disconnected, true then false', async () => {
      const signed = await signInForTest(both.app, erin);
      const socket = openSocket(both.app, { auth: signed.socketAuth });
      try {
        await connected(socket);
        const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
        expect(await signOutForTest(both.app, signed)).toBe(true);
        expect(await disconnected).toBe('io server disconnect');
      } finally {
        socket.disconnect();
      }
      await request(http).get('/me').set('Cookie', signed.cookie).expect(401);
      expect(await signOutForTest(both.app, signed.token)).toBe(false);
    });

    it('takes the TestingModule or a ModuleRef as well as the app', async () => {
      for (const target of [both.moduleRef, both.moduleRef.get(ModuleRef)]) {
        const signed: TestSignIn = await signInForTest(target, erin);
        await request(http).get('/me').set('Cookie', signed.cookie).expect(200, { id: 'u-erin', name: 'erin' });
      }
    });
  });

  describe('signInForTest: the __Host- cookie preset with double-submit CSRF', () => {
    let started: Started;
    beforeAll(async () => {
      started = await startApp(adapter, { cookie: { hostPrefix: true }, csrf: { doubleSubmit: true } });
    });
    afterAll(async () => {
      await started?.app.close();
    });

    it('the cookie is __Host-sid=…; the headers carry the CSRF token a state-changing request needs', async () => {
      const http = started.app.getHttpServer();
      const signed = await signInForTest(started.app, dana);
      expect(signed.cookie).toBe(`__Host-sid=${signed.token}`);
      expect(signed.csrfToken).toEqual(expect.any(String));
      expect(signed.headers).toEqual({ cookie: signed.cookie, 'x-csrf-token': signed.csrfToken });
      await request(http).get('/me').set('Cookie', signed.cookie).expect(200, { id: 7, name: 'dana' });
      await request(http).get('/me').set('Cookie', `sid=${signed.token}`).expect(401);
      // transport: 'cookie' (the default): no bearer.
      await request(http).get('/me').set('Authorization', signed.authorization).expect(401);
      await request(http).post('/extras/echo').set('Cookie', signed.cookie).send({}).expect(403);
      await request(http).post('/extras/echo').set(signed.headers).send({}).expect(201, { userId: 7, body: {} });
    });
  });

  describe("signInForTest: transport: 'bearer'", () => {
    let started: Started;
    beforeAll(async () => {
      started = await startApp(adapter, { transport: 'bearer' });
    });
    afterAll(async () => {
      await started?.app.close();
    });

    it('the headers are the Authorization header; the cookie is not read', async () => {
      const http = started.app.getHttpServer();
      const signed = await signInForTest(started.app, erin);
      expect(signed.headers).toEqual({ authorization: signed.authorization });
      await request(http).get('/me').set(signed.headers).expect(200, { id: 'u-erin', name: 'erin' });
      await request(http).get('/me').set('Cookie', signed.cookie).expect(401);
    });
  });

  describe('sessionGuardForTest: the guard overridden, no SessionModule, no Redis', () => {
    let session: Session | null = null;
    /** An app of the given parts with the guard overridden, listening on `adapter`. */
    const stubbed = async (parts: { controllers?: Type[]; providers?: Type[]; imports?: DynamicModule[] }) => {
      const moduleRef = await Test.createTestingModule(parts)
        .overrideGuard(SessionGuard)
        .useValue(sessionGuardForTest(() => session))
        .compile();
      return listenOn(moduleRef, adapter);
    };
    let app: INestApplication;
    beforeAll(async () => {
      app = await stubbed({ controllers: [ProfileController, ExtrasController], providers: [MessagesGateway] });
    });
    afterAll(async () => {
      await app?.close();
    });

    it("@CurrentSession reads its session; null is a 401; @Roles gives a 403 (the guard's bodies); @Public passes anyway", async () => {
      const http = app.getHttpServer();
      session = null;
      const missing = await request(http).get('/me').expect(401);
      expect(missing.body).toEqual({
        statusCode: 401,
        message: 'Authentication required',
        error: 'Unauthorized',
        reason: 'SESSION_MISSING',
      });
      await request(http).get('/extras/open').expect(200, { session: null });
      session = sessionForTest(erin);
      await request(http).get('/me').expect(200, { id: 'u-erin', name: 'erin' });
      const role = await request(http).get('/admin/stats').expect(403);
      expect(role.body).toMatchObject({ statusCode: 403, reason: 'FORBIDDEN_ROLE' });
      await request(http)
        .post('/extras/echo')
        .send({ n: 2 })
        .expect(201, { userId: 'u-erin', body: { n: 2 } });
      session = sessionForTest(dana);
      await request(http).get('/admin/stats').expect(200, { userId: 7 });
    });

    it('@RequireFreshSession: a login older than the route allows is a 403', async () => {
      const http = app.getHttpServer();
      session = sessionForTest(erin);
      await request(http).get('/extras/fresh').expect(200, { username: 'erin' });
      session = sessionForTest(erin, { createdAt: new Date(Date.now() - 120_000) });
      const stale = await request(http).get('/extras/fresh').expect(403);
      expect(stale.body).toMatchObject({ statusCode: 403, reason: 'REAUTH_REQUIRED' });
    });

    it("a gateway message: @CurrentSession reads the socket's session; null is the gateway's 401", async () => {
      const socket = openSocket(app, {});
      try {
        await connected(socket);
        session = sessionForTest(erin);
        expect(await socket.timeout(2000).emitWithAck('whoami')).toBe('erin');
        session = null;
        const refused = new Promise((resolve) => socket.once('exception', resolve));
        socket.emit('whoami');
        expect(await refused).toMatchObject({ status: 'error', code: 401, reason: 'SESSION_MISSING' });
      } finally {
        socket.disconnect();
      }
    });

    it('a GraphQL query over HTTP: @CurrentSession reads it; null is UNAUTHENTICATED', async () => {
      const gql = await stubbed({ imports: [graphqlModule(adapter)], providers: [WhoamiResolver] });
      try {
        session = sessionForTest(erin);
        const ok = await request(gql.getHttpServer()).post('/graphql').send({ query: '{ me }' });
        expect(ok.body).toEqual({ data: { me: 'erin' } });
        session = null;
        const refused = await request(gql.getHttpServer()).post('/graphql').send({ query: '{ me }' });
        expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'SESSION_MISSING' });
      } finally {
        await gql.close();
      }
    });
  });
});

describe('nestjs-redis-session/testing without a SessionModule', () => {
  it('signInForTest says what is missing', async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [ExtrasController] })
      .overrideGuard(SessionGuard)
      .useValue(sessionGuardForTest(null))
      .compile();
    await expect(signInForTest(moduleRef, erin)).rejects.toThrow(/signInForTest: no SessionModule in this app/);
    await moduleRef.close();
  });

  it('signInForTest before app.init(): says so (the Redis connection opens at init)', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ redis: { url: testRedisUrl() }, keyPrefix: uniquePrefix('testing') })],
    }).compile();
    await expect(signInForTest(moduleRef, erin)).rejects.toThrow(
      /signInForTest: the app is not initialised yet: await app.init\(\)/,
    );
  });

  it('sessionForTest: a Session as a login makes it (password keys dropped), any field overridden', () => {
    const session = sessionForTest(dana, { ip: '198.51.100.1' });
    expect(session).toMatchObject({ userId: 7, username: 'dana', role: 'admin', data: { team: 'core' }, ip: '198.51.100.1' });
    expect(session.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(session.absoluteExpiresAt.getTime() - session.createdAt.getTime()).toBe(43_200_000);
    expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBe(1_800_000);
    expect(() => sessionForTest({ id: '' })).toThrow(TypeError);
  });
});
