/**
 * Every default of the options, in the units the app writes them (seconds, bytes, ms where
 * the option says ms): the one place a default is written. resolve.ts fills in what the app
 * left out from here and the check messages quote it; docs/options.md's table lists the
 * same values, and resolve.spec.ts holds them here.
 */
export const SESSION_DEFAULTS = {
  keyPrefix: 'session:',
  /** Idle timeout, seconds (30 min). */
  ttl: 1800,
  /** Lifetime from login, seconds (12 h). */
  absoluteTtl: 43200,
  cookie: { name: 'sid', secure: true, sameSite: 'lax', path: '/', persistent: false, hostPrefix: false },
  transport: 'cookie',
  maxSessionsPerUser: 100,
  /** Bytes of JSON-encoded custom data per session. */
  maxDataBytes: 4096,
  /** The longest a request waits for Redis before its 503, ms. */
  redisTimeoutMs: 1000,
  durability: 'none',
  /** With `durability: 'replicated'`: replicas that must acknowledge, and the wait in ms. */
  replication: { replicas: 1, timeoutMs: 250 },
  expiredEvents: false,
  liveRevocation: true,
  /** Sockets and streams of one session on one instance. */
  maxLiveConnectionsPerSession: 100,
  /** The session cache's size, in sessions per instance (whether it is used depends on `cache` and `liveRevocation`). */
  cache: { max: 10_000 },
  clearSiteData: '"cache", "cookies", "storage"',
  csrf: { trustedOrigins: [], doubleSubmit: false, headerName: 'x-csrf-token' },
  loginThrottle: {
    perUsername: { limit: 10, windowSeconds: 900 },
    perIp: { limit: 100, windowSeconds: 900 },
    delayAfter: 5,
    /** ms */
    maxDelayMs: 2000,
  },
  metrics: { prefix: 'session_' },
  binding: { ip: 'off', userAgent: 'off' },
  /** What shapes the module itself (`forRootAsync` takes these next to `useFactory`). */
  controller: true,
  globalGuard: false,
  isGlobal: false,
} as const;
