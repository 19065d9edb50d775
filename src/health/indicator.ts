import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { SessionStore } from '../core/store.js';

/** Options of `SessionHealthIndicator.isHealthy`. */
export interface SessionHealthCheckOptions {
  /** How long to wait for Redis to answer the probe (`PING`, `PTTL`) before reporting `down`; default 1000 ms. */
  timeoutMs?: number;
}

/** What `down` says: fixed sentences, never Redis's own error text. */
const DOWN = {
  keys:
    'Session store unavailable: the Redis user may not access the session keys (ACL key patterns must ' +
    'allow keyPrefix; details in the app log)',
  command: 'Session store unavailable: the Redis user may not run PING or PTTL (ACL; details in the app log)',
  unanswered: 'Session store unavailable: Redis did not answer PING and PTTL (details in the app log)',
} as const;

/** Which `DOWN` sentence an error of the probe gets (`SessionStoreUnavailableException` wraps Redis's). */
function downMessage(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : '';
  if (!cause.startsWith('NOPERM')) return DOWN.unanswered;
  return /\bkeys?\b/i.test(cause) ? DOWN.keys : DOWN.command;
}

/**
 * A `@nestjs/terminus` health indicator for the session store: sends `PING` and a read of a
 * key under `keyPrefix` (`PTTL <prefix>health`: it writes nothing) on the module's Redis
 * connection, and reports `up` with the round-trip time (`rttMs`), or `down` when Redis does
 * not answer within the timeout, or refuses either (terminus then answers 503). A Redis user
 * that may connect but not touch the session keys (an ACL such as `~other:*`), under which
 * every route answers 503, reports `down` too, saying so.
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

  /**
   * Probes Redis (`PING`, `PTTL <prefix>health`): `{ [key]: { status: 'up', rttMs } }`, or
   * `down` with a fixed message when it does not answer within `options.timeoutMs` or refuses a
   * command or the session keys (ACL); the detail goes to the app log, not the answer.
   */
  async isHealthy<const Key extends string = 'redis'>(
    key: Key = 'redis' as Key,
    options: SessionHealthCheckOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.indicators.check(key);
    try {
      const rttMs = await this.store.ping(options.timeoutMs ?? 1000);
      return indicator.up({ rttMs: Math.round(rttMs * 100) / 100 });
    } catch (err) {
      // Only a fixed sentence: health endpoints are often public, and Redis's own error text
      // names hosts, ports and ACL users (NOPERM). The store logs the detail (rate-limited).
      return indicator.down({ message: downMessage(err) });
    }
  }
}
