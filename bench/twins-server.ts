/**
 * The twins' app, in a process of its own so the REST figures (A, B, C) never share it:
 * a REST route, a GraphQL query and a socket.io message, each unguarded and behind
 * SessionGuard, with `binding` enforced on IP and user agent (the requests match: the sessions
 * are seeded with the load generators' address and user agent), so its cost shows too.
 *   GET /open               no session check      GET /me               SessionGuard
 *   POST /graphql { open }  no session check      POST /graphql { me }  SessionGuard
 *   socket 'open'           no session check      socket 'me'           SessionGuard
 * The gateway authenticates no handshake: a guarded message costs the guard's one command.
 * Env: REDIS_URL, SESSIONS, COOKIE_FILE. Prints `{"port": N}` when ready; stops on SIGTERM.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { CurrentSession, SessionGuard, SessionModule, SessionService } from '../src/index.js';
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
}

async function main(): Promise<void> {
  const redisUrl = required('REDIS_URL');
  const sessions = Number(required('SESSIONS'));

  @Module({
    imports: [
      SessionModule.forRoot({
        redis: { url: redisUrl },
        keyPrefix: 'twins:',
        ttl: TTL_SECONDS,
        controller: false,
        binding: { ip: 'enforce', userAgent: 'enforce' },
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
  writeFileSync(required('COOKIE_FILE'), JSON.stringify({ b: cookies }));

  announce(app);
}

await main();
