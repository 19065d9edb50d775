import { Injectable, Module, type INestApplication, type LoggerService } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { HealthController } from '../../demo/health.controller.js';
import { SessionHealthIndicator } from '../../src/health/index.js';
import {
  SessionEvent,
  SessionService,
  SessionModule,
  type SessionExpiredEvent,
  type SessionModuleOptions,
} from '../../src/index.js';
import { GuardedController, listenOn, validateCredentials, type AdapterName } from './app.js';
import { sessionCookie } from './http.js';

/*
 * The app of the Redis security suites (test/redis-security*.e2e-spec.ts): the module under an
 * ACL user of its own, with what it logs captured.
 */

/** Session ids of every `session.expired` event any secure app received. */
export const expired: string[] = [];

@Injectable()
class ExpiryRecorder {
  @OnEvent(SessionEvent.Expired)
  onExpired(event: SessionExpiredEvent) {
    expired.push(event.sessionId);
  }
}

/** Collects what the module logs (a wrong password or a bad certificate must be reported clearly). */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown) {
    this.lines.push(String(message));
  }
  error(message: unknown) {
    this.lines.push(String(message));
  }
  warn(message: unknown) {
    this.lines.push(String(message));
  }
  debug() {}
  verbose() {}
}

export interface SecureApp {
  app: INestApplication;
  http: ReturnType<INestApplication['getHttpServer']>;
  service: SessionService;
  logger: CapturingLogger;
  close(): Promise<void>;
}

/**
 * An app with the /auth routes, GuardedController (GET /me), GET /health (terminus) and
 * an expiry-event listener, on the default key prefix `session:` (the one the ACL rule
 * names). Login throttling: 3 failures per username, no slow-down.
 */
export async function secureApp(options: Partial<SessionModuleOptions>, adapter: AdapterName = 'express'): Promise<SecureApp> {
  const logger = new CapturingLogger();
  @Module({
    imports: [
      SessionModule.forRoot({
        redis: { url: 'redis://127.0.0.1:1' },
        validateCredentials,
        keyPrefix: 'session:',
        loginThrottle: {
          perUsername: { limit: 3, windowSeconds: 60 },
          perIp: { limit: 10_000, windowSeconds: 60 },
          delayAfter: 100,
        },
        ...options,
      }),
      TerminusModule.forRoot({ logger: false }),
      EventEmitterModule.forRoot(),
    ],
    controllers: [GuardedController, HealthController],
    providers: [SessionHealthIndicator, ExpiryRecorder],
  })
  class SecureAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [SecureAppModule] }).compile();
  const app = await listenOn(moduleRef, adapter).catch(async (err: unknown) => {
    // A boot that fails runs no shutdown hook: close the module's connections here.
    await moduleRef.close().catch(() => undefined);
    throw err;
  });
  app.useLogger(logger);
  return { app, http: app.getHttpServer(), service: app.get(SessionService), logger, close: () => app.close() };
}

export type Http = SecureApp['http'];

export const login = (http: Http, username = 'alice', password = `${username}-password`, cookie?: string) => {
  const req = request(http).post('/auth/login').send({ username, password });
  return cookie ? req.set('Cookie', cookie) : req;
};
export const me = (http: Http, cookie: string) => request(http).get('/me').set('Cookie', cookie);

/** Logs in and returns the cookie and the public session id. */
export async function loggedIn(http: Http, username = 'alice'): Promise<{ cookie: string; id: string }> {
  const res = await login(http, username);
  if (res.status !== 200) throw new Error(`login as ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return { cookie: sessionCookie(res), id: (res.body as { session: { id: string } }).session.id };
}

/** Addresses of the connections logged in as `user` (CLIENT LIST). */
export async function connectionsOf(admin: Redis, user: string): Promise<string[]> {
  const list = String(await admin.client('LIST'));
  return list
    .split('\n')
    .filter((line) => new RegExp(`\\buser=${user}\\b`).test(line))
    .map((line) => /\baddr=(\S+)/.exec(line)?.[1] ?? '')
    .filter(Boolean);
}
