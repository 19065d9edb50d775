import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, UseGuards, type DynamicModule } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule, Query, Resolver, Subscription } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { createClient, type Client } from 'graphql-ws';
import request from 'supertest';
import WebSocket from 'ws';
import { CurrentSession, SessionGuard, SESSION_ENDED_CLOSE_CODE } from '../src/index.js';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './support/app.js';
import { listeningPort, sessionCookie } from './support/http.js';
import { uniquePrefix } from './support/redis.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A subscription that never completes by itself: one event every 50 ms, tagged with the session's user. */
@Resolver()
class TickerResolver {
  @Query(() => String)
  open(): string {
    return 'open';
  }

  @UseGuards(SessionGuard)
  @Query(() => String)
  me(@CurrentSession('username') username: string): string {
    return username;
  }

  @UseGuards(SessionGuard)
  @Subscription(() => String, { resolve: (value: string) => value })
  ticks(@CurrentSession('username') username: string): AsyncIterableIterator<string> {
    return (async function* () {
      for (let i = 0; ; i++) {
        yield `${username} ${i}`;
        await sleep(50);
      }
    })();
  }
}

/** Subscriptions as each driver serves them: Apollo through Nest's graphql-ws server, Mercurius its own. */
function graphqlModule(adapter: AdapterName): DynamicModule {
  return adapter === 'express'
    ? GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        autoSchemaFile: true,
        subscriptions: { 'graphql-ws': true },
      })
    : GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true, subscription: true });
}

@Module({ imports: [graphqlModule('express')], providers: [TickerResolver] })
class ApolloFeature {}

/** The README's advice for a custom context function: hand the request on, and graphql-ws's extra and connectionParams. */
@Module({
  imports: [
    GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      autoSchemaFile: true,
      subscriptions: { 'graphql-ws': true },
      context: ({ req, res, extra, connectionParams }: Record<string, unknown>) => ({
        req,
        res,
        extra,
        connectionParams,
        app: 'mine',
      }),
    }),
  ],
  providers: [TickerResolver],
})
class ApolloCustomContextFeature {}
@Module({ imports: [graphqlModule('fastify')], providers: [TickerResolver] })
class MercuriusFeature {}
const FEATURE = { express: ApolloFeature, fastify: MercuriusFeature };

interface Connection {
  client: Client;
  /** The close code the server ended the connection with, once it did. */
  closed: Promise<number>;
  /** The close reason that came with it (a `SessionRefusalCode`). */
  closeReason: Promise<string>;
}

/** A graphql-ws client as a Node app or a browser would open it: headers on the upgrade, a token in connectionParams. */
function connect(t: TestApp, options: { cookie?: string; origin?: string; authorization?: string } = {}): Connection {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = options.cookie;
  if (options.origin) headers.origin = options.origin;
  class HeaderedWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  }
  let onClosed: (code: number) => void = () => undefined;
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  let onReason: (reason: string) => void = () => undefined;
  const closeReason = new Promise<string>((resolve) => (onReason = resolve));
  const client = createClient({
    url: `ws://127.0.0.1:${listeningPort(t.app.getHttpServer())}/graphql`,
    webSocketImpl: HeaderedWebSocket,
    connectionParams: options.authorization ? { authorization: options.authorization } : undefined,
    retryAttempts: 0,
    on: {
      closed: (event) => {
        onClosed((event as { code: number }).code);
        onReason(String((event as { reason?: unknown }).reason));
      },
    },
  });
  return { client, closed, closeReason };
}

const codeOf = (extensions: Record<string, unknown> | undefined) =>
  typeof extensions?.code === 'string' ? extensions.code : 'none';

interface Outcome {
  events: string[];
  /** The GraphQL error codes, or `close <code>` when the connection was closed under it. */
  errors: string[];
}

/** Subscribes and collects `count` events (then unsubscribes), or what refused it. */
function subscribe(connection: Connection, count: number, onEvent?: (event: string) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { events: [], errors: [] };
    const unsubscribe = connection.client.subscribe<{ ticks: string }>(
      { query: 'subscription { ticks }' },
      {
        next: (result) => {
          if (result.errors) outcome.errors.push(...result.errors.map((e) => codeOf(e.extensions)));
          if (result.data) {
            outcome.events.push(result.data.ticks);
            onEvent?.(result.data.ticks);
            if (outcome.events.length === count) {
              unsubscribe();
              resolve(outcome);
            }
          }
        },
        error: (error: unknown) => {
          if (Array.isArray(error))
            outcome.errors.push(...error.map((e: { extensions?: { code?: string } }) => e.extensions?.code ?? 'none'));
          else outcome.errors.push(`close ${(error as { code?: number }).code}`);
          resolve(outcome);
        },
        complete: () => resolve(outcome),
      },
    );
  });
}

describe.each(ADAPTERS)('GraphQL subscriptions over graphql-ws (%s)', (adapter) => {
  let a: TestApp;
  let b: TestApp;
  const open: Connection[] = [];
  beforeAll(async () => {
    const keyPrefix = uniquePrefix('gqlws');
    a = await createTestApp({ keyPrefix, isGlobal: true, transport: 'both' }, [FEATURE[adapter]], { adapter });
    b = await createTestApp({ keyPrefix, isGlobal: true, transport: 'both' }, [], { adapter });
  });
  afterAll(async () => {
    for (const connection of open) void connection.client.dispose();
    await a?.close();
    await b?.close();
  });
  const login = () => request(a.app.getHttpServer()).post('/auth/login').send({ username: 'bob', password: 'bob-password' });
  const opened = (connection: Connection) => (open.push(connection), connection);

  it("the connection's session cookie: events flow, @CurrentSession in the subscription", async () => {
    const connection = opened(connect(a, { cookie: sessionCookie(await login()) }));
    expect(await subscribe(connection, 3)).toEqual({ events: ['bob 0', 'bob 1', 'bob 2'], errors: [] });
  });

  it('a bearer token in connectionParams.authorization, for clients that cannot send cookies', async () => {
    const token = (await login()).body.token as string;
    const connection = opened(connect(a, { authorization: `Bearer ${token}` }));
    expect(await subscribe(connection, 2)).toEqual({ events: ['bob 0', 'bob 1'], errors: [] });
  });

  it('without a session: UNAUTHENTICATED; the cookie opened from another site: FORBIDDEN (cross-site WebSocket hijacking)', async () => {
    expect(await subscribe(opened(connect(a)), 1)).toEqual({ events: [], errors: ['UNAUTHENTICATED'] });
    const cookie = sessionCookie(await login());
    const crossSite = opened(connect(a, { cookie, origin: 'https://evil.example' }));
    expect(await subscribe(crossSite, 1)).toEqual({ events: [], errors: ['FORBIDDEN'] });
    const sameSite = opened(connect(a, { cookie, origin: `http://127.0.0.1:${listeningPort(a.app.getHttpServer())}` }));
    expect(await subscribe(sameSite, 1)).toEqual({ events: ['bob 0'], errors: [] });
  });

  it('a logout on another instance closes the subscription’s connection within a second (4401, no retry)', async () => {
    const cookie = sessionCookie(await login());
    const connection = opened(connect(a, { cookie }));
    let logoutAt = 0;
    const outcome = subscribe(connection, Number.POSITIVE_INFINITY, (event) => {
      if (event !== 'bob 1') return;
      logoutAt = performance.now();
      void request(b.app.getHttpServer())
        .post('/auth/logout')
        .set('Cookie', cookie)
        .then(
          (res) => expect(res.status).toBe(204),
          () => undefined,
        );
    });
    const code = await Promise.race([connection.closed, sleep(3000).then(() => -1)]);
    const after = performance.now() - logoutAt;
    process.stdout.write(
      `graphql-ws (${adapter}): subscription on instance A closed ${Math.round(after)} ms after the logout on B\n`,
    );
    expect(code).toBe(SESSION_ENDED_CLOSE_CODE);
    expect(await connection.closeReason).toBe('SESSION_ENDED');
    expect(after).toBeLessThan(1000);
    expect((await outcome).errors).toEqual([`close ${SESSION_ENDED_CLOSE_CODE}`]);
  });

  it('a revoked session is refused on its next subscription', async () => {
    const res = await login();
    const connection = opened(connect(a, { authorization: `Bearer ${res.body.token as string}` }));
    expect((await subscribe(connection, 1)).events).toEqual(['bob 0']);
    const sessionId = (
      await request(a.app.getHttpServer())
        .get('/me')
        .set('Authorization', `Bearer ${res.body.token as string}`)
    ).body.sessionId as string;
    expect(sessionId).toBeTruthy();
    const again = opened(connect(a, { authorization: `Bearer ${res.body.token as string}` }));
    await request(b.app.getHttpServer())
      .delete(`/auth/sessions/${sessionId}`)
      .set('Authorization', `Bearer ${res.body.token as string}`);
    expect((await subscribe(again, 1)).errors).toEqual(['UNAUTHENTICATED']);
  });
});

describe('Apollo with a custom context function (the README’s)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ isGlobal: true }, [ApolloCustomContextFeature], { adapter: 'express' });
  });
  afterAll(() => t?.close());

  it('authenticates a query over HTTP and a subscription over graphql-ws', async () => {
    const cookie = sessionCookie(
      await request(t.app.getHttpServer()).post('/auth/login').send({ username: 'bob', password: 'bob-password' }),
    );
    const query = await request(t.app.getHttpServer()).post('/graphql').set('Cookie', cookie).send({ query: '{ me }' });
    expect(query.body).toEqual({ data: { me: 'bob' } });
    const connection = connect(t, { cookie });
    try {
      expect(await subscribe(connection, 1)).toEqual({ events: ['bob 0'], errors: [] });
    } finally {
      void connection.client.dispose();
    }
  });
});
