/**
 * The twins' app, in a process of its own so the REST figures (A, B, C) never share it:
 * a REST route, a GraphQL query and a socket.io message, each unguarded and behind
 * SessionGuard, with `binding` enforced on IP and user agent (the requests match: the sessions
 * are seeded with the load generators' address and user agent), so its cost shows too.
 *   GET /open               no session check      GET /me               SessionGuard
 *   POST /graphql { open }  no session check      POST /graphql { me }  SessionGuard
 *   socket 'open'           no session check      socket 'me'           SessionGuard
 *                                                  socket 'floor'        a guard that returns true
 * The gateway authenticates no handshake: a guarded message costs the guard's one command, or
 * none on a hit of the session cache.
 * Env: REDIS_URL, SESSIONS, COOKIE_FILE; CACHE `off` (`cache: false`, the default) or `on`
 * (`cache: true`); SPREAD_MS (optional): after seeding, each session's idle TTL is cut by up to
 * this many ms (session i by i/SESSIONS of it), as if last active at times spread over that
 * span, so with the cache its slides fall due at a steady rate instead of all at once.
 * Prints `{"port": N}` when ready; stops on SIGTERM.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ConnectedSocket, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Redis } from 'ioredis';
import { CurrentSession, SessionGuard, SessionModule, SessionService } from '../src/index.js';
import { sessionKey } from '../src/core/keys.js';
import { sessionIdOf } from '../src/core/token.js';
import { seedUser, TTL_SECONDS, USER_AGENT } from './seed.js';
import { announce, countHandled, required } from './child-process.js';

@Controller()
class TwinController {
  @Get('open')
  open() {
    return { ok: true };
  }

  @UseGuards(SessionGuard)
  @Get('me')
  me() {
    return { ok: true };
  }
}

@Resolver()
class TwinResolver {
  @Query(() => Boolean)
  open(): boolean {
    return true;
  }

  @UseGuards(SessionGuard)
  @Query(() => String)
  me(@CurrentSession('username') username: string): string {
    return username;
  }
}

/** The floor: a guard with no work of its own, on a handler with one parameter decorator, as 'me' has. */
class FloorGuard {
  canActivate(): boolean {
    return true;
  }
}

@WebSocketGateway()
class TwinGateway {
  @SubscribeMessage('open')
  open(): boolean {
    return true;
  }

  @UseGuards(SessionGuard)
  @SubscribeMessage('me')
  me(@CurrentSession('username') username: string): string {
    return username;
  }

  @UseGuards(FloorGuard)
  @SubscribeMessage('floor')
  floor(@ConnectedSocket() client: { id: string }): string {
    return client.id;
  }
}

async function main(): Promise<void> {
  const redisUrl = required('REDIS_URL');
  const sessions = Number(required('SESSIONS'));
  const cache = process.env.CACHE === 'on';
  const keyPrefix = cache ? 'twins-cached:' : 'twins:';

  @Module({
    imports: [
      SessionModule.forRoot({
        redis: { url: redisUrl },
        keyPrefix,
        ttl: TTL_SECONDS,
        controller: false,
        binding: { ip: 'enforce', userAgent: 'enforce' },
        cache,
      }),
      GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true }),
    ],
    controllers: [TwinController],
    providers: [TwinResolver, TwinGateway],
  })
  class TwinsModule {}

  const app = await NestFactory.create<NestExpressApplication>(TwinsModule, { logger: false });
  countHandled(app);
  await app.listen(0, '127.0.0.1');

  const service = app.get(SessionService);
  const cookies: string[] = [];
  for (let start = 0; start < sessions; start += 200) {
    const batch = [];
    for (let i = start; i < Math.min(sessions, start + 200); i++) {
      batch.push(
        service
          .create(seedUser(i), { ip: '127.0.0.1', userAgent: USER_AGENT })
          .then(({ token }) => (cookies[i] = `sid=${token}`)),
      );
    }
    await Promise.all(batch);
  }
  const spreadMs = Number(process.env.SPREAD_MS ?? 0);
  if (spreadMs > 0) {
    const redis = new Redis(redisUrl);
    const pipeline = redis.pipeline();
    cookies.forEach((cookie, i) =>
      pipeline.pexpire(
        sessionKey(keyPrefix, sessionIdOf(cookie.slice('sid='.length))),
        TTL_SECONDS * 1000 - Math.floor((i / sessions) * spreadMs),
      ),
    );
    await pipeline.exec();
    await redis.quit();
  }
  writeFileSync(required('COOKIE_FILE'), JSON.stringify({ b: cookies }));

  announce(app);
}

await main();
