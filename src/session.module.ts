import { Inject, Module, Optional, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { LoginBodyLimitMiddleware } from './auth/dto/login-body-limit.js';
import { LoginService } from './auth/login-service.js';
import { openApiProvider } from './auth/openapi/decorators.js';
import { SessionLoginThrottle } from './auth/login-throttle.js';
import { SessionAuth } from './auth/session-auth.js';
import { SessionIssuer } from './auth/session-issuer.js';
import { SessionCounters } from './core/counters.js';
import { SessionEventSink } from './core/events.js';
import { SessionRedis } from './core/redis/connection.js';
import { SessionCache } from './core/cache/session-cache.js';
import { SessionLive } from './core/live.js';
import { SessionService } from './core/service.js';
import { SessionStore } from './core/store.js';
import { SessionCookies } from './http/cookies.js';
import { SessionAuthenticator } from './http/authenticate.js';
import { SessionBinding } from './http/binding.js';
import { SessionClientAddress } from './http/client-address.js';
import { wsExceptionProvider } from './http/contexts/gateway.js';
import { SessionCsrf } from './http/csrf.js';
import { SessionGuard } from './http/guard.js';
import { SessionSockets } from './http/sockets.js';
import { SessionStreams } from './http/streams.js';
import { SessionTransport } from './http/transport.js';
import { SessionEvents } from './integrations/events/events.js';
import { SessionExpirySubscriber } from './integrations/events/expiry-subscriber.js';
import { SessionMetrics } from './integrations/metrics/metrics.js';
import { SessionBootCheck } from './options/boot-check.js';
import { RESOLVED_SESSION_OPTIONS, resolveModuleOptions } from './options/resolve.js';
import { SessionConfigurableModule, SESSION_CONTROLLER_ENABLED, SESSION_MODULE_OPTIONS } from './session.module-definition.js';

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
    { provide: RESOLVED_SESSION_OPTIONS, inject: [SESSION_MODULE_OPTIONS], useFactory: resolveModuleOptions },
    // First: bad options fail the boot before anything connects.
    SessionBootCheck,
    SessionRedis,
    SessionStore,
    SessionCache,
    SessionLive,
    SessionService,
    SessionTransport,
    SessionCookies,
    SessionCsrf,
    SessionLoginThrottle,
    SessionAuth,
    SessionIssuer,
    LoginService,
    SessionMetrics,
    SessionEvents,
    SessionExpirySubscriber,
    // The core reports through these; the integrations implement them.
    { provide: SessionCounters, useExisting: SessionMetrics },
    { provide: SessionEventSink, useExisting: SessionEvents },
    SessionGuard,
    SessionBinding,
    SessionClientAddress,
    SessionAuthenticator,
    SessionStreams,
    SessionSockets,
    // Loads WsException when @nestjs/websockets is installed (an optional peer).
    wsExceptionProvider,
    // Applies the OpenAPI decorators when @nestjs/swagger is installed (an optional peer).
    openApiProvider,
  ],
  // The guard is instantiated in every module that uses it, so its dependencies are exported too;
  // SessionStore for the health indicator (nestjs-redis-session/health); SessionAuth for the
  // app's own sign-in routes.
  exports: [
    SessionService,
    SessionAuth,
    SessionLive,
    SessionStreams,
    SessionSockets,
    SessionGuard,
    SessionBinding,
    SessionAuthenticator,
    SessionTransport,
    SessionCsrf,
    SessionMetrics,
    SessionCounters,
    RESOLVED_SESSION_OPTIONS,
    SessionStore,
  ],
})
export class SessionModule extends SessionConfigurableModule implements NestModule {
  constructor(@Optional() @Inject(SESSION_CONTROLLER_ENABLED) private readonly controllerEnabled = false) {
    super();
  }

  /** Nest's middleware hook: with the controller on, the login body limit on `POST /auth/login`. */
  configure(consumer: MiddlewareConsumer): void {
    // Refuses an oversized login body before Fastify parses it (see the middleware).
    if (this.controllerEnabled)
      consumer.apply(LoginBodyLimitMiddleware).forRoutes({ path: 'auth/login', method: RequestMethod.POST });
  }
}
