/**
 * One instance of the revocation window's app (bench/revocation-window.ts starts two, A and B,
 * on the same Redis and key prefix): the module's own /auth routes with bearer tokens (no CSRF
 * in the way), `cache: true`, a credentials check that costs nothing (the window is about the
 * logout, not the password hash) and no login throttle (every round logs a new user in).
 *   POST /auth/login, POST /auth/logout   the module's routes
 *   GET /me                               SessionGuard
 *   GET /__cache                          the cache's metrics: lookups by result, ready
 * Env: REDIS_URL. Prints `{"port": N}` when ready; stops on SIGTERM.
 */
import 'reflect-metadata';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Registry } from 'prom-client';
import { Public, SessionGuard, SessionModule } from '../src/index.js';
import { announce, required } from './child-process.js';
import { REVOCATION_PASSWORD, TTL_SECONDS } from './seed.js';

/** What GET /__cache answers. */
export interface CacheCounts {
  hit: number;
  miss: number;
  bypass: number;
  ready: boolean;
}

const registry = new Registry();

async function cacheCounts(): Promise<CacheCounts> {
  const metrics = await registry.getMetricsAsJSON();
  const lookups = metrics.find((m) => m.name === 'session_cache_lookups_total')?.values ?? [];
  const count = (result: string) => Number(lookups.find((v) => v.labels.result === result)?.value ?? 0);
  const ready = metrics.find((m) => m.name === 'session_cache_ready')?.values[0]?.value === 1;
  return { hit: count('hit'), miss: count('miss'), bypass: count('bypass'), ready };
}

@Controller()
class RevocationController {
  @UseGuards(SessionGuard)
  @Get('me')
  me() {
    return { ok: true };
  }

  @Public()
  @Get('__cache')
  cache(): Promise<CacheCounts> {
    return cacheCounts();
  }
}

async function main(): Promise<void> {
  @Module({
    imports: [
      SessionModule.forRoot({
        redis: { url: required('REDIS_URL') },
        keyPrefix: 'revocation:',
        ttl: TTL_SECONDS,
        transport: 'bearer',
        cache: true,
        loginThrottle: false,
        metrics: { registry },
        validateCredentials: ({ username, password }) =>
          password === REVOCATION_PASSWORD ? { id: username, username, role: 'user' } : null,
      }),
    ],
    controllers: [RevocationController],
  })
  class RevocationModule {}

  const app = await NestFactory.create<NestExpressApplication>(RevocationModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  announce(app);
}

await main();
