import { Inject, Module, Optional, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { LoginBodyLimitMiddleware } from './dto/login-body-limit.middleware.js';
import { openApiProvider } from './openapi.js';
import { SESSION_CONFIG } from './session.constants.js';
import { SessionConfigurableModule, SESSION_CONTROLLER_ENABLED, SESSION_MODULE_OPTIONS } from './session.module-definition.js';
import { resolveModuleOptions } from './session-options.js';
import { SessionCsrf } from './session.csrf.js';
import { SessionEvents } from './session.events.js';
import { SessionGuard } from './session.guard.js';
import { SessionRedis } from './session.redis.js';
import { SessionService } from './session.service.js';
import { SessionStore } from './session.store.js';
import { SessionLoginThrottle } from './session.throttle.js';
import { SessionLint } from './session.lint.js';
import { SessionMetrics } from './session.metrics.js';
import { SessionTransport } from './session.transport.js';

/**
 * Server-side sessions in Redis.
 *
 * ```ts
 * SessionModule.forRoot({ redis: { url: 'redis://localhost:6379' }, validateCredentials })
 * ```
 * Provides `SessionService` and `SessionGuard`; registers `AuthController` under
 * `/auth` unless `controller: false`. Options are checked when the app initialises.
 */
@Module({
  providers: [
    { provide: SESSION_CONFIG, inject: [SESSION_MODULE_OPTIONS], useFactory: resolveModuleOptions },
    SessionRedis,
    SessionEvents,
    SessionStore,
    SessionService,
    SessionTransport,
    SessionCsrf,
    SessionLoginThrottle,
    SessionLint,
    SessionMetrics,
    SessionGuard,
    // Applies the OpenAPI decorators when @nestjs/swagger is installed (an optional peer).
    openApiProvider,
  ],
  // The guard is instantiated in every module that uses it, so its dependencies are exported too;
  // SessionStore for the health indicator (nestjs-redis-session/health).
  exports: [SessionService, SessionGuard, SessionTransport, SessionCsrf, SessionMetrics, SESSION_CONFIG, SessionStore],
})
export class SessionModule extends SessionConfigurableModule implements NestModule {
  constructor(@Optional() @Inject(SESSION_CONTROLLER_ENABLED) private readonly controllerEnabled = false) {
    super();
  }

  configure(consumer: MiddlewareConsumer): void {
    // Refuses an oversized login body before Fastify parses it (see the middleware).
    if (this.controllerEnabled) consumer.apply(LoginBodyLimitMiddleware).forRoutes({ path: 'auth/login', method: RequestMethod.POST });
  }
}
