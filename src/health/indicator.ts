import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { SessionStore } from '../core/store.js';

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
    } catch {
      // Only a fixed sentence: health endpoints are often public, and Redis's own error text
      // names hosts, ports and ACL users (NOPERM). The store logs the detail (rate-limited).
      return indicator.down({ message: 'Session store unavailable: Redis did not answer PING (details in the app log)' });
    }
  }
}
