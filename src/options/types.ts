// The options the app passes to SessionModule.forRoot / forRootAsync, and what its login hook
// takes and returns: public interfaces only. Defaults: defaults.ts; checks: validate.ts; what
// the code uses: resolve.ts. This folder imports no other src/ folder (core/types.ts
// re-exports SessionUser and SessionContext from here), so options and core never loop.
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type {
  BindingMode,
  SessionCacheOptions,
  SessionCookieOptions,
  SessionCsrfOptions,
  SessionLoginThrottleOptions,
} from './section-types.js';

export type {
  BindingMode,
  SessionCacheOptions,
  SessionCookieOptions,
  SessionCsrfOptions,
  SessionLoginThrottleOptions,
} from './section-types.js';

/**
 * Where the sessions live.
 * - `{ url }`: a URL (`redis://[[user]:password@]host:port[/db]`, `rediss://` for TLS),
 *   with optional extra ioredis `options`;
 * - `{ client }`: an ioredis `Redis` or `Cluster` the app owns: the module never closes it;
 * - `{ cluster: { nodes, options } }`: a Redis Cluster the module connects to;
 * - any other object: ioredis `RedisOptions` (standalone, or Sentinel with `sentinels` + `name`).
 *
 * For connections it creates, the module defaults to `maxRetriesPerRequest: 1`,
 * `enableAutoPipelining: true`, `connectTimeout: 2000` ms and a reconnect every 50–500 ms,
 * and every call it makes ends by `redisTimeoutMs`, so an unreachable or stalled Redis gives a
 * 503 within about a second; your options override these.
 */
export type SessionRedisOptions =
  | { url: string; options?: RedisOptions }
  | { client: Redis | Cluster }
  | { cluster: { nodes: ClusterNode[]; options?: ClusterOptions } }
  | RedisOptions;

/**
 * The user a session belongs to, as `validateCredentials` returns it.
 * Extra keys are kept as custom data (`session.data`); any key whose name contains
 * "password" (any case) is dropped, at any depth.
 */
export interface SessionUser {
  /** The user's id; a number stays a number, a string stays a string. */
  id: string | number;
  /** Shown in session lists and `@CurrentSession()`; stored as null when absent. */
  username?: string;
  /** What `@Roles()` checks; stored as null when absent. */
  role?: string;
  [key: string]: unknown;
}

/**
 * Where a login came from: handed to `validateCredentials`, and stored with the session
 * for the user's device list (`Session.ip`, `Session.userAgent`).
 */
export interface SessionContext {
  /** The client's address as the app sees it (`req.ip`: behind a proxy, set `trust proxy`). */
  ip?: string;
  /** The `User-Agent` header, cut to a bounded length. */
  userAgent?: string;
}

/** Credentials as posted to `POST /auth/login`. */
export interface SessionCredentials {
  /** As typed by the user; the login throttle counts failures per username, case-insensitively. */
  username: string;
  /** In clear text: check it against your hash, never store or log it. */
  password: string;
}

/**
 * The app's login hook: return the user for good credentials, `null` otherwise.
 * The module never sees a password hash; never put one in the returned user.
 */
export type ValidateCredentials = (
  credentials: SessionCredentials,
  context: SessionContext,
) => Promise<SessionUser | null> | SessionUser | null;

/**
 * What `forRootAsync()`'s `useFactory` returns: every option but the three that shape
 * the module itself (`controller`, `globalGuard`, `isGlobal`), which `forRootAsync`
 * takes next to `useFactory` because they must be known before the factory runs.
 */
export interface SessionModuleFactoryOptions {
  /** Where sessions live. Required. */
  redis: SessionRedisOptions;
  /** Prefix of every key the module writes. Default `'session:'`. */
  keyPrefix?: string;
  /** Idle timeout in seconds; every validated request slides it. Default `1800` (30 min). */
  ttl?: number;
  /** Lifetime in seconds from login; sliding never goes past it. Must be ≥ `ttl`. Default `43200` (12 h). */
  absoluteTtl?: number;
  /** Session cookie attributes (used when `transport` is `'cookie'` or `'both'`). */
  cookie?: SessionCookieOptions;
  /**
   * How the token travels: `'cookie'` (default), `'bearer'` (`Authorization: Bearer <token>`,
   * the token is returned in the login response body), or `'both'` (bearer wins when present).
   */
  transport?: 'cookie' | 'bearer' | 'both';
  /** Checks a login; required for `POST /auth/login` (it answers 501 without it). */
  validateCredentials?: ValidateCredentials;
  /**
   * On a login past this many live sessions, the user's oldest sessions are revoked. Default
   * `100`: a user (or a script logging in in a loop) cannot pile up sessions without bound,
   * which would make every list and "log out everywhere" of that user heavy. A whole number
   * ≥ 1, or `null` (or `Infinity`) for no limit; without one, `GET /auth/sessions` and
   * `SessionService.list` still answer a page at a time (`listPage` follows the cursor).
   */
  maxSessionsPerUser?: number | null;
  /**
   * Binds a session to where it logged in from, checked by the guard on every request at no
   * Redis cost: `ip` compares the network (the same /24 for IPv4, /64 for IPv6), `userAgent`
   * the exact string. Each is `'off'` (default), `'report'` (a `session.binding-mismatch`
   * event and a metric, the request goes on) or `'enforce'` (the session is ended: 401,
   * `session.revoked` with reason `binding`). Mobile networks change IPs and browsers update
   * their user agents: see docs/sessions.md ("Binding a session") before enforcing.
   */
  binding?: { ip?: BindingMode; userAgent?: BindingMode };
  /**
   * "Remember me": a login whose body has `rememberMe: true` gets these lifetimes (seconds)
   * instead of `ttl` and `absoluteTtl`, and a persistent cookie (`Max-Age` until its absolute
   * deadline). Off by default (`rememberMe` in a login body is then ignored). Each session keeps
   * the lifetimes it was created with: the guard still sends one command and never slides past
   * the session's own absolute deadline. E.g. `{ ttl: 7 * 86400, absoluteTtl: 30 * 86400 }`.
   */
  rememberMe?: { ttl: number; absoluteTtl: number };
  /**
   * The longest a request waits for Redis, in ms, whoever owns the client and whatever its
   * `commandTimeout`: past it the request gets a 503 (never a hang). One shared timer checks
   * every call in flight 10 times a second, so a 503 comes within `redisTimeoutMs` + 100 ms;
   * time the process's own event loop was blocked (a long GC pause) is not counted, and a
   * reply already received is never turned into a 503. Writes that wait for replicas (`durability: 'replicated'`) get the replication timeout on
   * top. From 100 to 60000; default `1000`.
   */
  redisTimeoutMs?: number;
  /**
   * `'none'` (default): a write is acknowledged once the Redis master has it, so a
   * failover can lose the last moments of writes (a fresh login, or a logout, revert).
   * `'replicated'`: login, logout, revoke, revokeAll and rotate wait (`WAIT`) until
   * `replication.replicas` replicas have the write, and answer 503 if they do not within
   * `replication.timeoutMs`. They go through a connection of their own, so guarded
   * requests never queue behind a `WAIT`.
   */
  durability?: 'none' | 'replicated';
  /** With `durability: 'replicated'`: replicas that must acknowledge (default 1) and how long to wait, in ms (default 250). */
  replication?: { replicas?: number; timeoutMs?: number };
  /**
   * Close sockets and SSE streams on every app instance within about a second when their
   * session ends (logout, revoke, revoke-all, rotate, eviction): each end is PUBLISHed on the
   * channel `<prefix>ended`, and each instance keeps one subscriber connection while it has
   * sessions to watch. Costs one PUBLISH per ended session (never one per request); an ACL
   * user needs `+publish` and `&<prefix>ended` (and `+subscribe` once streams or sockets are
   * watched). `false`: ends on this instance and expiries still close them, nothing is
   * published. Default `true`.
   */
  liveRevocation?: boolean;
  /**
   * The most live connections (sockets, SSE streams, graphql-ws connections) one session may
   * hold open on one app instance; the next is refused (a socket is closed with `4429` /
   * `TOO_MANY_CONNECTIONS`, a stream answers 429) and the ones open go on. Each costs memory
   * while it lasts, so a client opening sockets in a loop must not hold them without bound.
   * A whole number ≥ 1, or `null` (or `Infinity`) for no limit; default `100`.
   */
  maxLiveConnectionsPerSession?: number | null;
  /**
   * The per-instance session cache: guarded calls answer from memory with no Redis command, and
   * Redis tells every instance of every change (server-assisted client-side caching).
   * Omitted: used for socket messages (socket.io, ws) whenever `liveRevocation` is on, not for
   * HTTP or GraphQL. `true` or an object: used for every guarded call. `false`: never.
   */
  cache?: boolean | SessionCacheOptions;
  /**
   * Emit `session.expired` when Redis expires a session key (keyspace notifications: the
   * server needs `notify-keyspace-events` with `E` and `x`, e.g. `Ex`). Needs
   * `@nestjs/event-emitter`. Notifications are fire-and-forget (lost while disconnected,
   * node-local on a Cluster): use them for metrics and audit, never for correctness.
   * Default `false`.
   */
  expiredEvents?: boolean;
  /**
   * Cross-site request forgery protection for cookie-carried sessions (bearer requests are
   * never affected). On by default: a state-changing request (not GET/HEAD/OPTIONS) with
   * the session cookie is refused (403) when the browser says it is cross-site
   * (`Sec-Fetch-Site`) or its `Origin` is neither the request's own host nor listed in
   * `trustedOrigins`. `false` turns it off (not recommended).
   */
  csrf?: false | SessionCsrfOptions;
  /**
   * Slows, then refuses (429 with `Retry-After`), repeated failed logins for one username
   * and from one IP, counted in Redis so every app instance shares the counts. On by
   * default; `false` turns it off.
   */
  loginThrottle?: false | SessionLoginThrottleOptions;
  /**
   * Prometheus metrics (needs `prom-client`, an optional peer): guard checks and their
   * time, logins by result and their time, revocations, Redis errors. `true` registers
   * them in prom-client's default registry with the prefix `session_`. Default `false`.
   */
  metrics?: boolean | { registry?: object; prefix?: string };
  /**
   * Largest custom data a session may hold, in bytes of its JSON encoding (the extra keys of
   * the `SessionUser`). Every guarded request reads the whole session, so large data costs
   * each request. `create()` (and a login) fails with a RangeError past it. Default `4096`.
   */
  maxDataBytes?: number;
  /**
   * `Clear-Site-Data` sent by logout, logout-all and revoking the current session, so the
   * browser drops what it kept for the site (OWASP's advice). Default
   * `'"cache", "cookies", "storage"'`; `false` sends none (e.g. when other apps share the
   * origin and their cookies or storage must survive).
   */
  clearSiteData?: false | string;
}

/** Options that shape the module itself; `forRootAsync` takes them next to `useFactory`. */
export interface SessionModuleExtras {
  /** Register `AuthController` (`/auth/*`). Default `true`. */
  controller?: boolean;
  /** Register `SessionGuard` for every route; `@Public()` opts a route out. Default `false`. */
  globalGuard?: boolean;
  /** Make the module's providers global. Default `false`. */
  isGlobal?: boolean;
}

/** Everything `SessionModule.forRoot()` accepts: the options table of docs/options.md. */
export interface SessionModuleOptions extends SessionModuleFactoryOptions, SessionModuleExtras {}
