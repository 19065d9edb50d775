import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, UseGuards, type DynamicModule } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { CurrentSession, RequireFreshSession, Roles, SessionGuard, SessionRefusalCode } from '../src/index.js';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './support/app.js';
import { sessionCookie } from './support/http.js';
import { usePrivateRedis } from './support/redis.js';

// Every refusal says why with a stable code (`reason`), the same set on every transport, so an
// app can translate messages without matching English; and a 503 says "retry shortly".

const bob = { username: 'bob', password: 'bob-password' }; // role user
/** Nothing listens there: every command fails at once, as with Redis down. */
const DEAD_REDIS = { url: 'redis://127.0.0.1:1' };

@Controller('fresh')
class FreshController {
  @UseGuards(SessionGuard)
  @RequireFreshSession(1)
  @Get()
  fresh() {
    return { fresh: true };
  }
}

@Module({ controllers: [FreshController] })
class FreshModule {}

@Resolver()
class ReasonResolver {
  @UseGuards(SessionGuard)
  @Query(() => String)
  me(@CurrentSession('username') username: string): string {
    return username;
  }

  @UseGuards(SessionGuard)
  @Roles('admin')
  @Query(() => String)
  adminOnly(): string {
    return 'admin';
  }
}

function graphqlModule(adapter: AdapterName): DynamicModule {
  return adapter === 'express'
    ? GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        autoSchemaFile: true,
        includeStacktraceInErrorResponses: false,
      })
    : GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true });
}

const body = (res: request.Response) => res.body as { statusCode: number; message: string; reason?: string };

describe.each(ADAPTERS)('refusal reasons over HTTP (%s)', (adapter) => {
  let t: TestApp;
  let down: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ isGlobal: true }, [FreshModule], { adapter });
    down = await createTestApp({ redis: DEAD_REDIS }, [], { adapter, assertionClient: false });
  });
  afterAll(async () => {
    await t?.close();
    await down?.close();
  });
  const http = () => t.app.getHttpServer();
  const login = async () => sessionCookie(await request(http()).post('/auth/login').send(bob));

  it('each refusal carries its code next to Nest’s usual body', async () => {
    const cookie = await login();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past @RequireFreshSession(1)
    const cases: Array<[string, request.Test, number, SessionRefusalCode]> = [
      ['no session', request(http()).get('/me'), 401, SessionRefusalCode.Missing],
      ['a bad token', request(http()).get('/me').set('Cookie', 'sid=forged.token.value'), 401, SessionRefusalCode.Invalid],
      [
        'two session cookies',
        request(http()).get('/me').set('Cookie', `${cookie}; ${cookie}`),
        401,
        SessionRefusalCode.Ambiguous,
      ],
      ['a role not listed', request(http()).get('/admin').set('Cookie', cookie), 403, SessionRefusalCode.ForbiddenRole],
      ['an old login', request(http()).get('/fresh').set('Cookie', cookie), 403, SessionRefusalCode.ReauthRequired],
      [
        'a cross-site logout',
        request(http()).post('/auth/logout').set('Cookie', cookie).set('Origin', 'https://evil.example'),
        403,
        SessionRefusalCode.CrossSite,
      ],
    ];
    for (const [what, sent, status, reason] of cases) {
      const res = await sent;
      expect([what, res.status, body(res).reason, body(res).statusCode]).toEqual([what, status, reason, status]);
      expect(typeof body(res).message).toBe('string');
    }
  });

  it('Redis unavailable: 503 with Retry-After and REDIS_UNAVAILABLE, from the guard and from the auth routes', async () => {
    // A well-formed token (from the healthy app), so that Redis is asked.
    const cookie = await login();
    for (const sent of [
      request(down.app.getHttpServer()).get('/me').set('Cookie', cookie),
      request(down.app.getHttpServer()).post('/auth/login').send(bob),
      request(down.app.getHttpServer()).get('/auth/sessions').set('Cookie', cookie),
    ]) {
      const res = await sent;
      expect([res.status, res.headers['retry-after'], body(res).reason]).toEqual([503, '1', SessionRefusalCode.RedisUnavailable]);
    }
  });
});

describe.each(['express', 'fastify'] as const)('refusal reasons over GraphQL (%s)', (adapter) => {
  @Module({ imports: [graphqlModule(adapter)], providers: [ReasonResolver] })
  class GraphqlFeature {}
  const own = usePrivateRedis();
  let t: TestApp;
  let down: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ redis: { url: own.server.url }, isGlobal: true }, [GraphqlFeature], { adapter });
    down = await createTestApp({ redis: DEAD_REDIS, isGlobal: true }, [GraphqlFeature], { adapter, assertionClient: false });
  });
  afterAll(async () => {
    await t?.close();
    await down?.close();
  });
  const post = (app: TestApp, query: string, cookie?: string) => {
    const sent = request(app.app.getHttpServer()).post('/graphql').send({ query });
    return cookie ? sent.set('Cookie', cookie) : sent;
  };
  const extensionsOf = (res: request.Response) =>
    ((res.body as { errors?: Array<{ extensions?: { code?: string; reason?: string } }> }).errors ?? []).map((e) => ({
      code: e.extensions?.code,
      reason: e.extensions?.reason,
    }));

  it('UNAUTHENTICATED and FORBIDDEN say why in extensions.reason', async () => {
    expect(extensionsOf(await post(t, '{ me }'))).toEqual([{ code: 'UNAUTHENTICATED', reason: 'SESSION_MISSING' }]);
    const cookie = sessionCookie(await request(t.app.getHttpServer()).post('/auth/login').send(bob));
    expect(extensionsOf(await post(t, '{ adminOnly }', cookie))).toEqual([{ code: 'FORBIDDEN', reason: 'FORBIDDEN_ROLE' }]);
  });

  it('Redis unavailable: SERVICE_UNAVAILABLE with the reason, and Retry-After on the response', async () => {
    // A well-formed token (from the healthy app), so that Redis is asked.
    const cookie = sessionCookie(await request(t.app.getHttpServer()).post('/auth/login').send(bob));
    const res = await post(down, '{ me }', cookie);
    expect(extensionsOf(res)).toEqual([{ code: 'SERVICE_UNAVAILABLE', reason: 'REDIS_UNAVAILABLE' }]);
    expect(res.headers['retry-after']).toBe('1');
  });

  it('a query with several guarded top-level fields costs one Redis command, not one per field', async () => {
    const cookie = sessionCookie(await request(t.app.getHttpServer()).post('/auth/login').send(bob));
    await own.admin.config('RESETSTAT');
    const res = await post(t, '{ a: me b: me c: me d: me }', cookie);
    expect(res.body).toEqual({ data: { a: 'bob', b: 'bob', c: 'bob', d: 'bob' } });
    expect(await commandCounts(own.admin)).toEqual({ getex: 1 });
    // Refused ones too: one refusal for the operation, no command at all without a token.
    await own.admin.config('RESETSTAT');
    expect(extensionsOf(await post(t, '{ a: me b: me }', 'sid=forged.token.value'))[0]).toEqual({
      code: 'UNAUTHENTICATED',
      reason: 'SESSION_INVALID',
    });
    expect(await commandCounts(own.admin)).toEqual({});
  });
});

/** Calls per command since the last CONFIG RESETSTAT, leaving out our own INFO/CONFIG. */
async function commandCounts(admin: Redis): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const counts: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!/^(info|config)\b/.test(match[1])) counts[match[1]] = Number(match[2]);
  }
  return counts;
}

describe.each(['express', 'fastify'] as const)('GraphQL over GET carries the cookie: its origin is checked (%s)', (adapter) => {
  // Mercurius runs GET queries by default; Apollo does with csrfPrevention off (its own guard against this).
  const gql =
    adapter === 'express'
      ? GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, csrfPrevention: false })
      : GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true });
  @Module({ imports: [gql], providers: [ReasonResolver] })
  class GraphqlFeature {}
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ isGlobal: true }, [GraphqlFeature], { adapter });
  });
  afterAll(() => t?.close());

  it('a cross-site GET query is refused (CROSS_SITE); a same-origin one answers', async () => {
    const cookie = sessionCookie(await request(t.app.getHttpServer()).post('/auth/login').send(bob));
    const get = (headers: Record<string, string>) =>
      request(t.app.getHttpServer()).get('/graphql').query({ query: '{ me }' }).set('Cookie', cookie).set(headers);
    const crossSite = await get({ 'Sec-Fetch-Site': 'cross-site', Origin: 'https://evil.example' });
    const errors = (crossSite.body as { errors?: Array<{ extensions?: { code?: string; reason?: string } }> }).errors ?? [];
    expect(errors.map((e) => [e.extensions?.code, e.extensions?.reason])).toEqual([['FORBIDDEN', 'CROSS_SITE']]);
    expect((await get({ 'Sec-Fetch-Site': 'same-origin' })).body).toEqual({ data: { me: 'bob' } });
  });
});
