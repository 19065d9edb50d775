/** The result label of `<prefix>guard_checks_total` and `<prefix>guard_duration_seconds`. */
export type GuardResult = 'ok' | 'unauthorized' | 'forbidden' | 'unavailable';

/**
 * The result label of `<prefix>logins_total` and `<prefix>login_duration_seconds`.
 * `invalid`: the body was refused (400, 415) before any credential was checked;
 * `failure`: wrong credentials (`validateCredentials` returned null or threw a 4xx).
 */
export type LoginResult = 'success' | 'failure' | 'invalid' | 'throttled' | 'unavailable' | 'error';

/** The result label of `<prefix>cache_lookups_total`. */
export type CacheLookup = 'hit' | 'miss' | 'bypass';

/**
 * What `SessionCounters.measure` records for a piece of work: which timed series (`guard` or
 * `login`), the result label of work that succeeded and the one of work that threw, `null`
 * meaning "not counted". Declare one per call site, once (a module constant): `measure` then
 * allocates nothing of its own but the timing.
 */
export type Measured =
  | {
      readonly series: 'guard';
      readonly success: GuardResult | null;
      readonly failure: (err: unknown) => GuardResult | null;
    }
  | {
      readonly series: 'login';
      readonly success: LoginResult | null;
      readonly failure: (err: unknown) => LoginResult | null;
    };

/**
 * What the library counts as it works: the port `http/`, `auth/` and the core report through.
 * The module binds it to `SessionMetrics` (integrations/metrics), whose observations do nothing
 * unless `metrics` is on; nothing but the module depends on prom-client.
 */
export abstract class SessionCounters {
  /**
   * True when the metrics are on. A hot path tests it before it builds what `measure` needs
   * (`if (!counters.enabled) return this.check(...)`): off, no closure is allocated per request.
   */
  abstract readonly enabled: boolean;
  /** A Redis command failed or timed out (the caller answers 503). */
  abstract redisError(): void;
  /** Sessions ended before their time: `logout`, `revoke`, `revoke-all`, `max-sessions`. */
  abstract revoked(reason: string, count?: number): void;
  /** A guard check ended with `result`; `startedAt` is the `performance.now()` it began at. */
  abstract guard(result: GuardResult, startedAt: number): void;
  /** A login attempt ended with `result`; `startedAt` is the `performance.now()` it began at. */
  abstract login(result: LoginResult, startedAt: number): void;
  /** A request's IP or user agent differed from its session's login (`binding`). */
  abstract bindingMismatch(field: 'ip' | 'userAgent', mode: 'report' | 'enforce'): void;
  /**
   * A guarded call looked at the session cache: `hit` (answered from memory, no Redis command),
   * `miss` (asked Redis), `bypass` (the cache was not ready: invalidations might be missed).
   */
  abstract cacheLookup(result: CacheLookup): void;
  /**
   * The cache dropped entries: `key` (a change Redis reported, or one made here), `flush`
   * (everything: FLUSHDB, a lost or silent invalidation connection).
   */
  abstract cacheInvalidated(kind: 'key' | 'flush', count?: number): void;
  /**
   * Registered once at boot: read at scrape time for the gauges (ready: 1/0, entries), so the
   * hot path never updates a gauge.
   */
  abstract cacheState(read: () => { ready: boolean; entries: number }): void;

  /**
   * Runs `work` and, with the metrics on, times it and counts its result: `what.success` when it
   * returns (or its promise fulfils), `what.failure(err)` when it throws (or its promise
   * rejects); the error is rethrown untouched. Synchronous work is measured synchronously (a
   * middleware stays synchronous). With the metrics off it is `work()` and nothing else; a hot
   * path skips even the closure by testing `enabled` first.
   */
  measure<T>(what: Measured, work: () => T): T {
    if (!this.enabled) return work();
    const startedAt = performance.now();
    let result: T;
    try {
      result = work();
    } catch (err) {
      this.observe(what.failure(err), what, startedAt);
      throw err;
    }
    if (!isPromise(result)) {
      this.observe(what.success, what, startedAt);
      return result;
    }
    return result.then(
      (value: unknown) => {
        this.observe(what.success, what, startedAt);
        return value;
      },
      (err: unknown) => {
        this.observe(what.failure(err), what, startedAt);
        throw err;
      },
    ) as T;
  }

  /** Records `result` (null: nothing) in `what`'s series. */
  private observe(result: GuardResult | LoginResult | null, what: Measured, startedAt: number): void {
    if (result === null) return;
    if (what.series === 'guard') this.guard(result as GuardResult, startedAt);
    else this.login(result as LoginResult, startedAt);
  }
}

function isPromise(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
