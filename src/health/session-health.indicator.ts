import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { SessionStore } from '../session/session.store.js';

/** Options of `SessionHealthIndicator.isHealthy`. */
export interface SessionHealthCheckOptions {
  /** How long to wait for Redis to answer `PING` before reporting `down`; default 1000 ms. */
  timeoutMs?: number;
}

/**
 * A `@nestjs/terminus` health indicator for the session store: `PING`s the module's
 * Redis connection and reports `up` with the round-trip time (`rttMs`), or `down` with
 * the error when Redis does not answer within the timeout (terminus then answers 503).
 *
 * ```ts
 * @Module({ imports: [TerminusModule, SessionModule.forRoot(...)], providers: [SessionHealthIndicator], ... })
 *
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.session.isHealthy('redis')]); }
 * ```
 * It needs `SessionModule` in the same module (or `isGlobal: true`) and `TerminusModule`.
 */
@Injectable()
export class SessionHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly store: SessionStore,
  ) {}

  async isHealthy<const Key extends string = 'redis'>(
    key: Key = 'redis' as Key,
    options: SessionHealthCheckOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.indicators.check(key);
    try {
      const rttMs = await this.store.ping(options.timeoutMs ?? 1000);
      return indicator.up({ rttMs: Math.round(rttMs * 100) / 100 });
    } catch (err) {
      // SessionStoreUnavailableException: its cause is the Redis error (timeout, refused...).
      const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
      return indicator.down({
        message: err instanceof Error ? err.message : String(err),
        error: cause instanceof Error ? cause.message : String(cause),
      });
    }
  }
}
