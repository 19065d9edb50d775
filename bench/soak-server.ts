/**
 * The app under the soak (`npm run soak`), in its own process: SessionModule with its
 * AuthController, one guarded route, and `/__soak` for the parent's samples. Logins check
 * a plain password (no argon2): the soak is about the session layer under churn, and a
 * hash at 19 MiB per login would make logins the whole CPU budget of a 2-core machine.
 *
 * Env: REDIS_URL, USERS (users `soak<N>` with password `pw-<N>`, N < USERS).
 * Behind a trusted "proxy" (the load generator on loopback sets X-Forwarded-For), so the
 * login throttle counts each simulated client IP apart, as it would in production.
 * Prints one JSON line `{"port": N}` when ready; stops on SIGTERM.
 * Run it with --expose-gc: each sample then reports the heap after a full collection.
 */
import 'reflect-metadata';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import { CurrentSession, SessionGuard, SessionModule, type Session } from '../src/index.js';
import { announce, required } from './child-process.js';

export interface SoakAppSample {
  /** Event-loop delay since the previous sample, ms. */
  lag: { mean: number; p50: number; p99: number; max: number };
  /** Bytes; `heapUsed` after a full GC when the process runs with --expose-gc. */
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  gcForced: boolean;
  /** Responses sent since start, by status. */
  statuses: Record<string, number>;
  uptimeSeconds: number;
}

const users = Number(required('USERS'));

@Controller()
class SoakController {
  @UseGuards(SessionGuard)
  @Get('me')
  me(@CurrentSession() session: Session) {
    return { userId: session.userId, sessionId: session.id };
  }
}

@Module({
  imports: [
    SessionModule.forRoot({
      redis: { url: required('REDIS_URL') },
      keyPrefix: 'session:',
      cookie: { secure: false }, // plain HTTP on loopback
      validateCredentials: async ({ username, password }) => {
        const match = /^soak(\d+)$/.exec(username);
        if (!match || Number(match[1]) >= users || password !== `pw-${match[1]}`) return null;
        return { id: Number(match[1]), username, role: 'user' };
      },
    }),
  ],
  controllers: [SoakController],
})
class SoakModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(SoakModule, { logger: ['error'] });
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const statuses: Record<string, number> = {};
  const gc = (globalThis as { gc?: () => void }).gc;
  app.use((request: Request, response: Response, next: () => void) => {
    if (request.url === '/__soak') {
      const ms = (ns: number) => ns / 1e6;
      const sample: SoakAppSample = {
        lag: { mean: ms(lag.mean), p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max) },
        memory: { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 },
        gcForced: gc !== undefined,
        statuses: { ...statuses },
        uptimeSeconds: process.uptime(),
      };
      gc?.();
      const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
      sample.memory = { rss, heapUsed, heapTotal, external, arrayBuffers };
      response.json(sample);
      // The forced GC's pause shows up as one late tick of the delay monitor: start the
      // next interval's figures after it, so they describe the traffic, not the sampling.
      setTimeout(() => lag.reset(), 50);
      return;
    }
    response.on('finish', () => {
      statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
    });
    next();
  });

  await app.listen(0, '127.0.0.1');
  announce(app);
}

await main();
