/** What a call past its deadline is rejected with (the store turns it into a 503). */
export class RedisDeadlineError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
    this.name = 'RedisDeadlineError';
  }
}

interface Pending {
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

  constructor(private readonly ms: number) {}

  /** `promise`, or a RedisDeadlineError once `ms` (default: the module's `redisTimeoutMs`) has passed. */
  within<T>(promise: Promise<T>, ms = this.ms): Promise<T> {
    this.timer ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { until: Date.now() + ms, ms, reject };
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
   * Overdue calls are rejected one event-loop turn later (setImmediate), not in the timer
   * callback: after a blocked loop (a GC pause, a busy CPU) Node runs due timers before it
   * reads the sockets, so a reply that arrived in time would otherwise lose to its own
   * deadline and turn into a 503. The poll phase in between settles every call whose reply
   * is already in the socket; only calls still pending after it are past their deadline.
   */
  private sweep(): void {
    if (this.pending.size === 0) return;
    const now = Date.now();
    let overdue: Pending[] | undefined;
    for (const entry of this.pending) {
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
