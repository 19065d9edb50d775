import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, UseGuards, type DynamicModule } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule, Mutation, Query, Resolver } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import request from 'supertest';
import { CurrentSession, Public, Roles, SessionGuard, type Session } from '../src/index.js';
import { createTestApp, type AdapterName, type TestApp } from './support/app.js';
import { sessionCookie } from './support/http.js';

/** Resolvers guarded with @UseGuards, as on REST controllers, with no subclassing. */
@Resolver()
class ProfileResolver {
  @UseGuards(SessionGuard)
  @Query(() => String)
  me(@CurrentSession() session: Session): string {
    return session.username ?? '';
  }

  @UseGuards(SessionGuard)
  @Roles('admin')
  @Query(() => String)
  adminReport(@CurrentSession('role') role: string): string {
    return `report for ${role}`;
  }

  @UseGuards(SessionGuard)
  @Mutation(() => String)
  touchProfile(@CurrentSession('userId') userId: string | number): string {
    return `touched ${userId}`;
  }

  @Query(() => String)
  open(): string {
    return 'open';
  }
}

/** Under globalGuard: no decorators at all, one @Public. */
@Resolver()
class GlobalResolver {
  @Query(() => String)
  whoami(@CurrentSession('username') username: string): string {
    return username;
  }

  @Public()
  @Query(() => String)
  health(): string {
    return 'ok';
  }
}

/** Apollo on Express, Mercurius on Fastify: the pairs Nest users run. */
function graphqlModule(adapter: AdapterName): DynamicModule {
  return adapter === 'express'
    ? GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        autoSchemaFile: true,
        includeStacktraceInErrorResponses: false,
      })
    : GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true });
}

const DRIVER = { express: 'Apollo', fastify: 'Mercurius' } as const;
const bob = { username: 'bob', password: 'bob-password' }; // role user
const alice = { username: 'alice', password: 'alice-password' }; // role admin

interface GraphqlAnswer {
  status: number;
  data: Record<string, unknown> | null | undefined;
  codes: string[];
}

describe.each(['express', 'fastify'] as const)('GraphQL resolvers (%s)', (adapter) => {
  const post = async (t: TestApp, query: string, headers: Record<string, string> = {}): Promise<GraphqlAnswer> => {
    const res = await request(t.app.getHttpServer()).post('/graphql').set(headers).send({ query });
    const body = res.body as { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: { code?: string } }> };
    return { status: res.status, data: body.data, codes: (body.errors ?? []).map((e) => e.extensions?.code ?? 'none') };
  };

  describe(`${DRIVER[adapter]} with @UseGuards(SessionGuard)`, () => {
    let t: TestApp;
    @Module({ imports: [graphqlModule(adapter)], providers: [ProfileResolver] })
    class GraphqlFeature {}
    beforeAll(async () => {
      t = await createTestApp({ isGlobal: true }, [GraphqlFeature], { adapter });
    });
    afterAll(() => t.close());
    const login = async (who: { username: string; password: string }) =>
      sessionCookie(await request(t.app.getHttpServer()).post('/auth/login').send(who));

    it('a query without a session: the UNAUTHENTICATED error, never a 500; an unguarded field still answers', async () => {
      const answer = await post(t, '{ me }');
      expect(answer.status).toBeLessThan(500);
      expect(answer.data?.me ?? null).toBeNull();
      expect(answer.codes).toEqual(['UNAUTHENTICATED']);
      expect((await post(t, '{ open }')).data).toEqual({ open: 'open' });
    });

    it('a query with the session cookie: @CurrentSession in the resolver', async () => {
      expect(await post(t, '{ me }', { Cookie: await login(bob) })).toEqual({ status: 200, data: { me: 'bob' }, codes: [] });
    });

    it('@Roles: FORBIDDEN for another role, the data for the listed one', async () => {
      expect((await post(t, '{ adminReport }', { Cookie: await login(bob) })).codes).toEqual(['FORBIDDEN']);
      expect((await post(t, '{ adminReport }', { Cookie: await login(alice) })).data).toEqual({
        adminReport: 'report for admin',
      });
    });

    it('a mutation with the cookie from another site is refused (FORBIDDEN); from the same origin it runs', async () => {
      const cookie = await login(bob);
      const crossSite = await post(t, 'mutation { touchProfile }', {
        Cookie: cookie,
        Origin: 'https://evil.example',
        'Sec-Fetch-Site': 'cross-site',
      });
      expect(crossSite.codes).toEqual(['FORBIDDEN']);
      const sameOrigin = await post(t, 'mutation { touchProfile }', { Cookie: cookie, 'Sec-Fetch-Site': 'same-origin' });
      expect(sameOrigin.data).toEqual({ touchProfile: 'touched u-bob' });
    });

    it('a revoked session is refused on the next query', async () => {
      const cookie = await login(bob);
      expect((await post(t, '{ me }', { Cookie: cookie })).data).toEqual({ me: 'bob' });
      await request(t.app.getHttpServer()).post('/auth/logout').set('Cookie', cookie);
      expect((await post(t, '{ me }', { Cookie: cookie })).codes).toEqual(['UNAUTHENTICATED']);
    });
  });

  describe(`${DRIVER[adapter]} with globalGuard: true`, () => {
    let t: TestApp;
    @Module({ imports: [graphqlModule(adapter)], providers: [GlobalResolver] })
    class GraphqlFeature {}
    beforeAll(async () => {
      t = await createTestApp({ isGlobal: true, globalGuard: true }, [GraphqlFeature], { adapter });
    });
    afterAll(() => t.close());

    it('every resolver needs a session but @Public ones; with one, it answers', async () => {
      expect((await post(t, '{ whoami }')).codes).toEqual(['UNAUTHENTICATED']);
      expect((await post(t, '{ health }')).data).toEqual({ health: 'ok' });
      const cookie = sessionCookie(await request(t.app.getHttpServer()).post('/auth/login').send(bob));
      expect((await post(t, '{ whoami }', { Cookie: cookie })).data).toEqual({ whoami: 'bob' });
    });
  });
});
