import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { SessionUser } from '../core/types.js';

/**
 * Where the sessions live.
 * - `{ url }`: a URL (`redis://[[user]:password@]host:port[/db]`, `rediss://` for TLS),
 *   with optional extra ioredis `options`;
 * - `{ client }`: an ioredis `Redis` or `Cluster` the app owns: the module never closes it;
 * - `{ cluster: { nodes, options } }`: a Redis Cluster the module connects to;
 * - any other object: ioredis `RedisOptions` (standalone, or Sentinel with `sentinels` + `name`).
 *
 * For connections it creates, the module defaults to `commandTimeout: 500` ms,
 * `maxRetriesPerRequest: 1`, `enableAutoPipelining: true`, `connectTimeout: 2000` ms
 * and a reconnect every 50–500 ms, so an unreachable or stalled Redis gives a 503
 * within about a second; your options override these.
 */
export type SessionRedisOptions =
  | { url: string; options?: RedisOptions }
  | { client: Redis | Cluster }
  | { cluster: { nodes: ClusterNode[]; options?: ClusterOptions } }
  | RedisOptions;

/** Attributes of the session cookie. */
export interface SessionCookieOptions {
  /** Cookie name. Default `'sid'`. */
  name?: string;
  /** `Secure` attribute: the browser sends the cookie over HTTPS only (and to http://localhost). Default `true`. */
  secure?: boolean;
  /** `SameSite` attribute. `'none'` requires `secure: true`. Default `'lax'`. */
  sameSite?: 'lax' | 'strict' | 'none';
  /** `Path` attribute. Default `'/'`. */
  path?: string;
  /** `Domain` attribute. Default unset (host-only cookie, the safer choice). */
  domain?: string;
  /**
   * `false` (default): a browser-session cookie with no `Max-Age` (OWASP's advice for
   * session ids). `true`: `Max-Age` runs to the session's absolute deadline, so the
   * login survives a browser restart.
   */
  persistent?: boolean;
  /**
   * The `__Host-` preset: the cookie is named `__Host-<name>` (`__Host-sid`), always
   * `Secure`, `Path=/` and without `Domain`, which browsers then enforce: no subdomain or
   * plain-HTTP page can set or shadow it (cookie tossing). Default `false`.
   */
  hostPrefix?: boolean;
}

/** Credentials as posted to `POST /auth/login`. */
export interface SessionCredentials {
  username: string;
  password: string;
}

/** Where a login attempt came from. */
export interface LoginContext {
  ip: string | undefined;
  userAgent: string | undefined;
}

/**
 * The app's login hook: return the user for good credentials, `null` otherwise.
 * The module never sees a password hash; never put one in the returned user.
 */
export type ValidateCredentials = (
  credentials: SessionCredentials,
  context: LoginContext,
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

/** Login throttling options. Counts are of failed attempts in a fixed window. */
export interface SessionLoginThrottleOptions {
  /** Per username (case-insensitive). Default `{ limit: 10, windowSeconds: 900 }`. */
  perUsername?: { limit: number; windowSeconds: number };
  /** Per client IP (`req.ip`). Default `{ limit: 100, windowSeconds: 900 }`. */
  perIp?: { limit: number; windowSeconds: number };
  /**
   * Failed attempts for a username after which each further attempt is delayed before it
   * is checked: 250 ms, then doubling, up to `maxDelayMs`. Default 5.
   */
  delayAfter?: number;
  /** Longest delay in ms. Default 2000. */
  maxDelayMs?: number;
}

/** CSRF options. */
export interface SessionCsrfOptions {
  /** Other origins allowed to send state-changing requests, e.g. `['https://admin.example.com']`. Default none. */
  trustedOrigins?: string[];
  /**
   * Also require a double-submit token: login sets a readable cookie `<cookie.name>_csrf`
   * (and returns `csrfToken` in its body) holding a value derived from the session token;
   * state-changing requests must echo it in the `headerName` header. Default `false`.
   */
  doubleSubmit?: boolean;
  /** Header that carries the double-submit token. Default `'x-csrf-token'`. */
  headerName?: string;
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

/** Everything `SessionModule.forRoot()` accepts: the options table of the README. */
export interface SessionModuleOptions extends SessionModuleFactoryOptions, SessionModuleExtras {}

/** The same as `SessionModuleOptions` (its earlier name). */
export type SessionModuleAllOptions = SessionModuleOptions;

export type SessionTransportKind = 'cookie' | 'bearer' | 'both';

/** Options after defaults, in the units the code uses. Built once at boot. */
export interface ResolvedSessionOptions {
  /** What is wrong with the options; non-empty fails `app.init()`. */
  readonly problems: readonly string[];
  readonly redis: SessionRedisOptions | undefined;
  readonly keyPrefix: string;
  readonly ttlMs: number;
  readonly absoluteTtlMs: number;
  readonly cookie: Required<Omit<SessionCookieOptions, 'domain' | 'hostPrefix'>> & { domain: string | undefined };
  readonly transport: SessionTransportKind;
  readonly validateCredentials: ValidateCredentials | undefined;
  /** 0 = unlimited (`null` or `Infinity` given); default 100. */
  readonly maxSessionsPerUser: number;
  readonly durability: 'none' | 'replicated';
  readonly replicas: number;
  readonly replicationTimeoutMs: number;
  readonly expiredEvents: boolean;
  /** Bytes of JSON-encoded custom data a session may hold. */
  readonly maxDataBytes: number;
  /** The `Clear-Site-Data` value for logouts, or null for none. */
  readonly clearSiteData: string | null;
  /** Null when metrics are off. */
  readonly metrics: { registry: object | undefined; prefix: string } | null;
  /** Null when login throttling is off. */
  readonly loginThrottle: {
    perUsername: { limit: number; windowMs: number };
    perIp: { limit: number; windowMs: number };
    delayAfter: number;
    maxDelayMs: number;
  } | null;
  /** Null when CSRF protection is off. */
  readonly csrf: { trustedOrigins: ReadonlySet<string>; doubleSubmit: boolean; headerName: string } | null;
}

export const SESSION_DEFAULTS = {
  keyPrefix: 'session:',
  ttl: 1800,
  absoluteTtl: 43200,
  cookie: { name: 'sid', secure: true, sameSite: 'lax', path: '/', persistent: false },
  transport: 'cookie',
  maxSessionsPerUser: 100,
} as const;

const KNOWN_OPTIONS = new Set([
  'redis', 'keyPrefix', 'ttl', 'absoluteTtl', 'cookie', 'transport', 'validateCredentials',
  'maxSessionsPerUser', 'durability', 'replication', 'expiredEvents', 'csrf', 'loginThrottle', 'metrics', 'clearSiteData', 'maxDataBytes', 'controller', 'globalGuard', 'isGlobal',
]);
const KNOWN_COOKIE_OPTIONS = new Set(['name', 'secure', 'sameSite', 'path', 'domain', 'persistent', 'hostPrefix']);
// RFC 6265 cookie-name: an RFC 7230 token.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/;
const COOKIE_DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// Redis keys may hold anything, but a prefix with spaces or control characters is
// almost always a mistake and makes redis-cli inspection miserable.
const KEY_PREFIX = /^[\x21-\x7e]{1,100}$/;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const show = (value: unknown): string => {
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
};

function validateRedis(redis: unknown, problems: string[]): void {
  if (redis === undefined || redis === null) {
    problems.push(
      "`redis` is required: pass { url: 'redis://localhost:6379' }, { client } with an ioredis " +
        'Redis or Cluster you own, { cluster: { nodes } }, or ioredis options.',
    );
    return;
  }
  if (!isObject(redis)) {
    problems.push(`\`redis\` must be an object (got ${show(redis)}).`);
    return;
  }
  if ('client' in redis) {
    const client = redis.client as Record<string, unknown> | null;
    if (!client || typeof client.defineCommand !== 'function' || typeof client.getex !== 'function') {
      problems.push('`redis.client` must be an ioredis Redis or Cluster instance (ioredis ≥ 5).');
    }
    return;
  }
  if ('url' in redis) {
    if (typeof redis.url !== 'string' || !/^rediss?:\/\/./.test(redis.url)) {
      problems.push(`\`redis.url\` must start with redis:// or rediss:// (got ${show(redis.url)}).`);
    }
    return;
  }
  if ('cluster' in redis) {
    const cluster = redis.cluster as Record<string, unknown> | null;
    if (!isObject(cluster) || !Array.isArray(cluster.nodes) || cluster.nodes.length === 0) {
      problems.push('`redis.cluster.nodes` must list at least one node, e.g. [{ host: "127.0.0.1", port: 7000 }].');
    }
  }
}

function validateSeconds(name: string, value: unknown, problems: string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    problems.push(`\`${name}\` must be a whole number of seconds greater than 0 (got ${show(value)}).`);
  } else if (value > 31_536_000 * 10) {
    problems.push(`\`${name}\` must be at most ten years in seconds (got ${value}); is it in milliseconds?`);
  }
}

function validateMetrics(metrics: unknown, problems: string[]): void {
  if (metrics === undefined || typeof metrics === 'boolean') return;
  if (!isObject(metrics)) {
    problems.push(`\`metrics\` must be true, false or { registry?, prefix? } (got ${show(metrics)}).`);
    return;
  }
  for (const key of Object.keys(metrics)) {
    if (key !== 'registry' && key !== 'prefix') problems.push(`unknown option \`metrics.${key}\`.`);
  }
  if (metrics.prefix !== undefined && (typeof metrics.prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metrics.prefix))) {
    problems.push(`\`metrics.prefix\` must be a Prometheus name prefix such as 'myapp_session_' (got ${show(metrics.prefix)}).`);
  }
  if (metrics.registry !== undefined && (!isObject(metrics.registry) || typeof metrics.registry.getSingleMetric !== 'function')) {
    problems.push('`metrics.registry` must be a prom-client Registry.');
  }
}

function validateThrottle(throttle: unknown, problems: string[]): void {
  if (throttle === undefined || throttle === false) return;
  if (!isObject(throttle)) {
    problems.push(`\`loginThrottle\` must be false or an object like { perUsername: { limit: 10, windowSeconds: 900 } } (got ${show(throttle)}).`);
    return;
  }
  for (const key of Object.keys(throttle)) {
    if (!['perUsername', 'perIp', 'delayAfter', 'maxDelayMs'].includes(key)) problems.push(`unknown option \`loginThrottle.${key}\`.`);
  }
  for (const name of ['perUsername', 'perIp'] as const) {
    const rule = throttle[name];
    if (rule === undefined) continue;
    const ok =
      isObject(rule) &&
      typeof rule.limit === 'number' && Number.isInteger(rule.limit) && rule.limit >= 1 &&
      typeof rule.windowSeconds === 'number' && Number.isInteger(rule.windowSeconds) && rule.windowSeconds >= 1;
    if (!ok) {
      problems.push(`\`loginThrottle.${name}\` must be { limit: whole number ≥ 1, windowSeconds: whole number ≥ 1 } (got ${show(rule)}).`);
    }
  }
  for (const name of ['delayAfter', 'maxDelayMs'] as const) {
    const value = throttle[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (name === 'maxDelayMs' && value > 30_000))) {
      problems.push(`\`loginThrottle.${name}\` must be a whole number ≥ 0${name === 'maxDelayMs' ? ' and ≤ 30000 (ms)' : ''} (got ${show(value)}).`);
    }
  }
}

const CLEAR_SITE_DATA = /^"(cache|cookies|storage|executionContexts|\*)"(\s*,\s*"(cache|cookies|storage|executionContexts|\*)")*$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

function validateCsrf(csrf: unknown, problems: string[]): void {
  if (csrf === undefined || csrf === false) return;
  if (!isObject(csrf)) {
    problems.push(`\`csrf\` must be false or an object like { trustedOrigins: ['https://app.example.com'] } (got ${show(csrf)}).`);
    return;
  }
  for (const key of Object.keys(csrf)) {
    if (!['trustedOrigins', 'doubleSubmit', 'headerName'].includes(key)) problems.push(`unknown option \`csrf.${key}\`.`);
  }
  const origins = csrf.trustedOrigins;
  if (origins !== undefined) {
    if (!Array.isArray(origins)) {
      problems.push(`\`csrf.trustedOrigins\` must be an array of origins (got ${show(origins)}).`);
    } else {
      for (const origin of origins) {
        if (typeof origin !== 'string' || normalizeOrigin(origin) !== origin) {
          problems.push(
            `\`csrf.trustedOrigins\`: ${show(origin)} is not an origin; write scheme://host[:port] with no path or trailing slash, e.g. 'https://app.example.com'.`,
          );
        }
      }
    }
  }
  if (csrf.doubleSubmit !== undefined && typeof csrf.doubleSubmit !== 'boolean') {
    problems.push(`\`csrf.doubleSubmit\` must be true or false (got ${show(csrf.doubleSubmit)}).`);
  }
  if (csrf.headerName !== undefined && (typeof csrf.headerName !== 'string' || !HEADER_NAME.test(csrf.headerName))) {
    problems.push(`\`csrf.headerName\` must be an HTTP header name such as 'x-csrf-token' (got ${show(csrf.headerName)}).`);
  }
}

/** `scheme://host[:port]` in lower case, or null for anything that is not an http(s) origin. */
export function normalizeOrigin(value: string): string | null {
  try {
    const url = new URL(value);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin === 'null') return null;
    return url.origin;
  } catch {
    return null;
  }
}

/** Every problem with the options, each as a sentence that says what to fix. Empty when valid. */
export function validateSessionOptions(raw: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(raw)) {
    return [`options must be an object (got ${show(raw)}).`];
  }
  for (const key of Object.keys(raw)) {
    if (!KNOWN_OPTIONS.has(key)) problems.push(`unknown option \`${key}\`.`);
  }
  validateRedis(raw.redis, problems);

  if (raw.keyPrefix !== undefined && (typeof raw.keyPrefix !== 'string' || !KEY_PREFIX.test(raw.keyPrefix))) {
    problems.push(
      `\`keyPrefix\` must be 1–100 printable characters without spaces, e.g. 'session:' (got ${show(raw.keyPrefix)}).`,
    );
  }
  validateSeconds('ttl', raw.ttl, problems);
  validateSeconds('absoluteTtl', raw.absoluteTtl, problems);
  const ttl = typeof raw.ttl === 'number' ? raw.ttl : SESSION_DEFAULTS.ttl;
  const absoluteTtl = typeof raw.absoluteTtl === 'number' ? raw.absoluteTtl : SESSION_DEFAULTS.absoluteTtl;
  if (ttl > 0 && absoluteTtl > 0 && absoluteTtl < ttl) {
    problems.push(
      `\`absoluteTtl\` (${absoluteTtl} s) must be at least \`ttl\` (${ttl} s): ` +
        'the idle timeout cannot outlast the session. Raise absoluteTtl or lower ttl.',
    );
  }

  if (raw.transport !== undefined && !['cookie', 'bearer', 'both'].includes(raw.transport as string)) {
    problems.push(`\`transport\` must be 'cookie', 'bearer' or 'both' (got ${show(raw.transport)}).`);
  }
  if (raw.validateCredentials !== undefined && typeof raw.validateCredentials !== 'function') {
    problems.push('`validateCredentials` must be a function (credentials, context) => Promise<SessionUser | null>.');
  }
  if (
    raw.maxSessionsPerUser !== undefined &&
    raw.maxSessionsPerUser !== null &&
    raw.maxSessionsPerUser !== Number.POSITIVE_INFINITY &&
    (typeof raw.maxSessionsPerUser !== 'number' || !Number.isInteger(raw.maxSessionsPerUser) || raw.maxSessionsPerUser < 1)
  ) {
    problems.push(
      `\`maxSessionsPerUser\` must be a whole number ≥ 1 (default ${SESSION_DEFAULTS.maxSessionsPerUser}), ` +
        `or null (or Infinity) for no limit (got ${show(raw.maxSessionsPerUser)}).`,
    );
  }
  if (raw.durability !== undefined && raw.durability !== 'none' && raw.durability !== 'replicated') {
    problems.push(`\`durability\` must be 'none' or 'replicated' (got ${show(raw.durability)}).`);
  }
  if (raw.replication !== undefined) {
    const replication = raw.replication;
    if (!isObject(replication)) {
      problems.push(`\`replication\` must be an object like { replicas: 1, timeoutMs: 250 } (got ${show(replication)}).`);
    } else {
      for (const key of Object.keys(replication)) {
        if (key !== 'replicas' && key !== 'timeoutMs') problems.push(`unknown option \`replication.${key}\`.`);
      }
      const { replicas, timeoutMs } = replication;
      if (replicas !== undefined && (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1)) {
        problems.push(`\`replication.replicas\` must be a whole number ≥ 1 (got ${show(replicas)}).`);
      }
      if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 10_000)) {
        problems.push(`\`replication.timeoutMs\` must be a whole number of milliseconds from 1 to 10000 (got ${show(timeoutMs)}).`);
      }
      if (raw.durability !== 'replicated') {
        problems.push("`replication` only applies with `durability: 'replicated'`: set it, or remove `replication`.");
      }
    }
  }
  validateCsrf(raw.csrf, problems);
  validateThrottle(raw.loginThrottle, problems);
  validateMetrics(raw.metrics, problems);
  if (
    raw.maxDataBytes !== undefined &&
    (typeof raw.maxDataBytes !== 'number' || !Number.isInteger(raw.maxDataBytes) || raw.maxDataBytes < 2 || raw.maxDataBytes > 1_048_576)
  ) {
    problems.push(`\`maxDataBytes\` must be a whole number of bytes from 2 to 1048576 (got ${show(raw.maxDataBytes)}).`);
  }
  if (
    raw.clearSiteData !== undefined &&
    raw.clearSiteData !== false &&
    (typeof raw.clearSiteData !== 'string' || !CLEAR_SITE_DATA.test(raw.clearSiteData))
  ) {
    problems.push(
      `\`clearSiteData\` must be false or quoted directives such as '"cookies", "storage"' (got ${show(raw.clearSiteData)}).`,
    );
  }
  for (const flag of ['controller', 'globalGuard', 'isGlobal', 'expiredEvents'] as const) {
    if (raw[flag] !== undefined && typeof raw[flag] !== 'boolean') {
      problems.push(`\`${flag}\` must be true or false (got ${show(raw[flag])}).`);
    }
  }

  const cookie = raw.cookie;
  if (cookie !== undefined) {
    if (!isObject(cookie)) {
      problems.push(`\`cookie\` must be an object (got ${show(cookie)}).`);
    } else {
      for (const key of Object.keys(cookie)) {
        if (!KNOWN_COOKIE_OPTIONS.has(key)) problems.push(`unknown option \`cookie.${key}\`.`);
      }
      if (cookie.name !== undefined && (typeof cookie.name !== 'string' || !COOKIE_NAME.test(cookie.name))) {
        problems.push(`\`cookie.name\` must be a cookie token such as 'sid' (got ${show(cookie.name)}).`);
      }
      if (cookie.secure !== undefined && typeof cookie.secure !== 'boolean') {
        problems.push(`\`cookie.secure\` must be true or false (got ${show(cookie.secure)}).`);
      }
      if (cookie.persistent !== undefined && typeof cookie.persistent !== 'boolean') {
        problems.push(`\`cookie.persistent\` must be true or false (got ${show(cookie.persistent)}).`);
      }
      if (cookie.sameSite !== undefined && !['lax', 'strict', 'none'].includes(cookie.sameSite as string)) {
        problems.push(`\`cookie.sameSite\` must be 'lax', 'strict' or 'none' (got ${show(cookie.sameSite)}).`);
      }
      if (cookie.sameSite === 'none' && cookie.secure === false) {
        problems.push(
          "`cookie.sameSite: 'none'` requires `cookie.secure: true`: browsers reject SameSite=None cookies without Secure.",
        );
      }
      if (cookie.path !== undefined && (typeof cookie.path !== 'string' || !COOKIE_PATH.test(cookie.path))) {
        problems.push(`\`cookie.path\` must start with '/' and hold no ';' or spaces (got ${show(cookie.path)}).`);
      }
      if (cookie.domain !== undefined && (typeof cookie.domain !== 'string' || !COOKIE_DOMAIN.test(cookie.domain))) {
        problems.push(`\`cookie.domain\` must be a host name such as 'example.com' (got ${show(cookie.domain)}).`);
      }
      if (cookie.hostPrefix !== undefined && typeof cookie.hostPrefix !== 'boolean') {
        problems.push(`\`cookie.hostPrefix\` must be true or false (got ${show(cookie.hostPrefix)}).`);
      }
      // Browsers drop prefixed cookies that break the prefix's rules: refuse them at boot.
      const hostPrefixed = cookie.hostPrefix === true || (typeof cookie.name === 'string' && cookie.name.startsWith('__Host-'));
      if (hostPrefixed) {
        if (cookie.secure === false) problems.push('a `__Host-` cookie must be Secure: remove `cookie.secure: false`.');
        if (cookie.domain !== undefined) problems.push('a `__Host-` cookie cannot have a Domain: remove `cookie.domain`.');
        if (cookie.path !== undefined && cookie.path !== '/') problems.push("a `__Host-` cookie must have Path=/: remove `cookie.path`.");
      }
      if (typeof cookie.name === 'string' && cookie.name.startsWith('__Secure-') && cookie.secure === false) {
        problems.push('a `__Secure-` cookie must be Secure: remove `cookie.secure: false`.');
      }
      if (cookie.hostPrefix === true && typeof cookie.name === 'string' && cookie.name.startsWith('__')) {
        problems.push("with `cookie.hostPrefix: true`, give `cookie.name` without a prefix (e.g. 'sid'): it becomes '__Host-sid'.");
      }
    }
  }
  return problems;
}

/**
 * Applies defaults and converts units. Never throws: a bad option is reported in
 * `problems`, which the module turns into a boot error in `app.init()`.
 */
export function resolveSessionOptions(raw: unknown): ResolvedSessionOptions {
  const problems = validateSessionOptions(raw);
  const options = (isObject(raw) ? raw : {}) as Partial<SessionModuleOptions>;
  const cookie: SessionCookieOptions = isObject(options.cookie) ? options.cookie : {};
  const positive = (value: unknown, fallback: number) =>
    typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
  return {
    problems,
    redis: options.redis,
    keyPrefix: typeof options.keyPrefix === 'string' ? options.keyPrefix : SESSION_DEFAULTS.keyPrefix,
    ttlMs: positive(options.ttl, SESSION_DEFAULTS.ttl) * 1000,
    absoluteTtlMs: positive(options.absoluteTtl, SESSION_DEFAULTS.absoluteTtl) * 1000,
    cookie: cookie.hostPrefix === true
      ? {
          name: `__Host-${cookie.name ?? SESSION_DEFAULTS.cookie.name}`,
          secure: true,
          sameSite: cookie.sameSite ?? SESSION_DEFAULTS.cookie.sameSite,
          path: '/',
          domain: undefined,
          persistent: cookie.persistent ?? SESSION_DEFAULTS.cookie.persistent,
        }
      : {
          name: cookie.name ?? SESSION_DEFAULTS.cookie.name,
          secure: cookie.secure ?? SESSION_DEFAULTS.cookie.secure,
          sameSite: cookie.sameSite ?? SESSION_DEFAULTS.cookie.sameSite,
          path: cookie.path ?? SESSION_DEFAULTS.cookie.path,
          domain: cookie.domain,
          persistent: cookie.persistent ?? SESSION_DEFAULTS.cookie.persistent,
        },
    transport: options.transport ?? SESSION_DEFAULTS.transport,
    validateCredentials: typeof options.validateCredentials === 'function' ? options.validateCredentials : undefined,
    // 0 = unlimited: null or Infinity.
    maxSessionsPerUser:
      options.maxSessionsPerUser === null || options.maxSessionsPerUser === Number.POSITIVE_INFINITY
        ? 0
        : positive(options.maxSessionsPerUser, SESSION_DEFAULTS.maxSessionsPerUser),
    durability: options.durability === 'replicated' ? 'replicated' : 'none',
    replicas: positive(options.replication?.replicas, 1),
    replicationTimeoutMs: positive(options.replication?.timeoutMs, 250),
    expiredEvents: options.expiredEvents === true,
    maxDataBytes: positive(options.maxDataBytes, 4096),
    csrf: resolveCsrf(options.csrf),
    loginThrottle: resolveThrottle(options.loginThrottle),
    metrics: resolveMetrics(options.metrics),
    clearSiteData:
      options.clearSiteData === false
        ? null
        : typeof options.clearSiteData === 'string'
          ? options.clearSiteData
          : '"cache", "cookies", "storage"',
  };
}

const MODULE_SHAPE_OPTIONS = ['controller', 'globalGuard', 'isGlobal'] as const;

/**
 * What the module's config provider runs on the options it is given. `forRoot()` takes
 * `controller`, `globalGuard` and `isGlobal` out before the options get here, so any of
 * them present came from `forRootAsync()`'s factory, where they would be ignored without
 * a word: that fails the boot with where to put them instead.
 */
export function resolveModuleOptions(raw: unknown): ResolvedSessionOptions {
  const resolved = resolveSessionOptions(raw);
  if (!isObject(raw)) return resolved;
  const late = MODULE_SHAPE_OPTIONS.filter((key) => raw[key] !== undefined);
  if (late.length === 0) return resolved;
  const names = late.map((key) => `\`${key}\``).join(', ');
  return {
    ...resolved,
    problems: [
      ...resolved.problems,
      `${names} came back from forRootAsync's useFactory, where ${late.length > 1 ? 'they shape' : 'it shapes'} nothing: ` +
        `the module is built before the factory runs. Pass ${late.length > 1 ? 'them' : 'it'} next to useFactory, ` +
        `e.g. SessionModule.forRootAsync({ ${late.map((key) => `${key}: ${JSON.stringify(raw[key])}`).join(', ')}, useFactory }).`,
    ],
  };
}

function resolveMetrics(metrics: SessionModuleOptions['metrics']): ResolvedSessionOptions['metrics'] {
  if (metrics === undefined || metrics === false) return null;
  const given = isObject(metrics) ? metrics : {};
  return {
    registry: isObject(given.registry) ? given.registry : undefined,
    prefix: typeof given.prefix === 'string' ? given.prefix : 'session_',
  };
}

function resolveThrottle(throttle: SessionModuleOptions['loginThrottle']): ResolvedSessionOptions['loginThrottle'] {
  if (throttle === false) return null;
  const given = isObject(throttle) ? throttle : {};
  const rule = (value: unknown, limit: number, windowSeconds: number) => {
    const r = isObject(value) ? value : {};
    return {
      limit: typeof r.limit === 'number' && r.limit >= 1 ? r.limit : limit,
      windowMs: (typeof r.windowSeconds === 'number' && r.windowSeconds >= 1 ? r.windowSeconds : windowSeconds) * 1000,
    };
  };
  return {
    perUsername: rule(given.perUsername, 10, 900),
    perIp: rule(given.perIp, 100, 900),
    delayAfter: typeof given.delayAfter === 'number' && given.delayAfter >= 0 ? given.delayAfter : 5,
    maxDelayMs: typeof given.maxDelayMs === 'number' && given.maxDelayMs >= 0 ? given.maxDelayMs : 2000,
  };
}

function resolveCsrf(csrf: SessionModuleOptions['csrf']): ResolvedSessionOptions['csrf'] {
  if (csrf === false) return null;
  const given = isObject(csrf) ? csrf : {};
  const origins = Array.isArray(given.trustedOrigins) ? given.trustedOrigins : [];
  return {
    trustedOrigins: new Set(origins.filter((o): o is string => typeof o === 'string')),
    doubleSubmit: given.doubleSubmit === true,
    headerName: typeof given.headerName === 'string' ? given.headerName.toLowerCase() : 'x-csrf-token',
  };
}

/** Thrown by `app.init()` when the options cannot work. */
export class SessionOptionsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`SessionModule: invalid options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SessionOptionsError';
  }
}
