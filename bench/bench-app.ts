import { Controller, Get, Module, Req, UnauthorizedException, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RedisStore } from 'connect-redis';
import type { Request } from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { SessionGuard, SessionModule } from '../src/index.js';
import { countHandled } from './child-process.js';
import { EXPRESS_SESSION_SECRET, TTL_SECONDS } from './seed.js';

/**
 * One Nest app (Express adapter, logging off) serving the same tiny JSON route three ways:
 *   /a  no session check: the framework's ceiling;
 *   /b  SessionGuard;
 *   /c  express-session + connect-redis, production-like options.
 */
@Controller()
class BenchController {
  @Get('a')
  a() {
    return { ok: true };
  }

  @UseGuards(SessionGuard)
  @Get('b')
  b() {
    return { ok: true };
  }

  @Get('c')
  c(@Req() request: Request) {
    if (!(request.session as unknown as { userId?: number })?.userId) throw new UnauthorizedException();
    return { ok: true };
  }
}

export interface BenchApp {
  app: NestExpressApplication;
  store: RedisStore;
  close(): Promise<void>;
}

export async function createBenchApp(
  redisUrl: string,
  validateCredentials?: Parameters<typeof SessionModule.forRoot>[0]['validateCredentials'],
): Promise<BenchApp> {
  @Module({
    imports: [
      SessionModule.forRoot({
        redis: { url: redisUrl },
        keyPrefix: 'session:',
        ttl: TTL_SECONDS,
        validateCredentials,
      }),
    ],
    controllers: [BenchController],
  })
  class BenchModule {}

  const app = await NestFactory.create<NestExpressApplication>(BenchModule, { logger: false });
  app.disable('x-powered-by');
  countHandled(app);
  // connect-redis supports node-redis (not ioredis).
  const client = createClient({ url: redisUrl });
  await client.connect();
  const store = new RedisStore({ client, prefix: 'sess:' });
  app.use(
    '/c',
    session({
      store,
      secret: EXPRESS_SESSION_SECRET,
      resave: false,
      saveUninitialized: false,
      rolling: true,
      cookie: { httpOnly: true, sameSite: 'lax', maxAge: TTL_SECONDS * 1000 },
    }),
  );
  return {
    app,
    store,
    async close() {
      await app.close();
      await client.quit();
    },
  };
}
