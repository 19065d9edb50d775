/** What a call past its deadline is rejected with (the store turns it into a 503). */
export class RedisDeadlineError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
    this.name = 'RedisDeadlineError';
  }
}

interface Pending {
  /** Monotonic ms (`performance.now()`). */
  until: number;
  ms: number;
  reject(err: Error): void;
}

/** How often the one timer looks at the calls in flight, ms. */
const SWEEP_MS = 100;

/**
 * A deadline on every Redis call the module makes, whoever owns the client: a client the
 * app passed in without `commandTimeout` would otherwise make a request wait as long as a
 * stalled Redis does. One shared timer (10 sweeps a second, unref'd) instead of a timer per
 * call: a call costs a Set insert and delete. The command itself is not cancelled; it may
 * still run on Redis later (as after a `commandTimeout`), and multi-step writes go on in
 * their order, so a late step never re-creates what an earlier one removed.
 */
export class RedisDeadline {
  private readonly pending = new Set<Pending>();
  private timer: NodeJS.Timeout | undefined;
  /** When the last sweep ran (monotonic ms), to tell a blocked event loop from a slow Redis. */
  private sweptAt = 0;

  constructor(private readonly ms: number) {}

  /** `promise`, or a RedisDeadlineError once `ms` (default: the module's `redisTimeoutMs`) has passed. */
  within<T>(promise: Promise<T>, ms = this.ms): Promise<T> {
    if (this.timer === undefined) {
      this.sweptAt = performance.now();
      this.timer = setInterval(() => this.sweep(), SWEEP_MS).unref();
    }
    return new Promise<T>((resolve, reject) => {
      // Monotonic: a wall clock set forward must not time calls out, nor one set back stretch them.
      const entry: Pending = { until: performance.now() + ms, ms, reject };
      this.pending.add(entry);
      promise.then(
        (value) => {
          this.pending.delete(entry);
          resolve(value);
        },
        (err: unknown) => {
          this.pending.delete(entry);
          reject(err as Error);
        },
      );
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const entry of this.pending) entry.reject(new RedisDeadlineError(entry.ms));
    this.pending.clear();
  }

  /**
   * Time the event loop was blocked (a long GC pause, a CPU-bound request, a busy host) is
   * not counted against Redis: the process could not have read a reply meanwhile, and a call
   * may not even have been written yet (auto-pipelining writes on a later tick). A sweep that
   * ran more than one period late moves every deadline on by its lateness. And overdue calls
   * are rejected one loop turn later (setImmediate), not in the timer callback: Node runs due
   * timers before it reads the sockets, so the poll phase in between settles every call whose
   * reply is already there; only calls still pending after it have missed their deadline.
   */
  private sweep(): void {
    const now = performance.now();
    const late = now - this.sweptAt - SWEEP_MS;
    this.sweptAt = now;
    if (this.pending.size === 0) return;
    let overdue: Pending[] | undefined;
    for (const entry of this.pending) {
      if (late > SWEEP_MS) entry.until += late;
      if (entry.until <= now) (overdue ??= []).push(entry);
    }
    if (overdue) setImmediate(() => this.expire(overdue));
  }

  private expire(overdue: Pending[]): void {
    for (const entry of overdue) {
      // Gone from the set: its reply settled it during the poll phase, or stop() rejected it.
      if (!this.pending.delete(entry)) continue;
      entry.reject(new RedisDeadlineError(entry.ms));
    }
  }
}
