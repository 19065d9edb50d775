/**
 * What the core counts as it works. The module binds it to `SessionMetrics`
 * (integrations/metrics), whose methods do nothing unless `metrics` is on; the core never
 * depends on prom-client.
 */
export abstract class SessionCounters {
  /** A Redis command failed or timed out (the caller answers 503). */
  abstract redisError(): void;
  /** Sessions ended before their time: `logout`, `revoke`, `revoke-all`, `max-sessions`. */
  abstract revoked(reason: string, count?: number): void;
}
