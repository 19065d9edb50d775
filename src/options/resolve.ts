import { SESSION_DEFAULTS as D } from './defaults.js';
import type { ResolvedSessionOptions } from './resolved.js';
import type {
  SessionCacheOptions,
  SessionCookieOptions,
  SessionCsrfOptions,
  SessionLoginThrottleOptions,
  SessionModuleOptions,
} from './types.js';
import { validateModuleOptions, validateSessionOptions } from './validate.js';

export { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from './resolved.js';

/**
 * Validates, then applies defaults and converts units. Never throws: a bad option is reported
 * in `problems`, which the module turns into a boot error in `app.init()`.
 */
export function resolveSessionOptions(raw: unknown): ResolvedSessionOptions {
  return resolveIfValid(raw, validateSessionOptions(raw));
}

/**
 * What the module's config provider runs on the options it is given (`forRoot()`'s, or what
 * `forRootAsync()`'s factory returned): `resolveSessionOptions`, with the checks only the
 * module can make (`validateModuleOptions`).
 */
export function resolveModuleOptions(raw: unknown): ResolvedSessionOptions {
  return resolveIfValid(raw, validateModuleOptions(raw));
}

// Only options that passed every check are resolved, so the code below can trust their types.
// With problems the boot fails (SessionBootCheck), but the providers built before it still
// read the options: they get the defaults.
function resolveIfValid(raw: unknown, problems: string[]): ResolvedSessionOptions {
  return { problems, ...resolve(problems.length === 0 ? (raw as SessionModuleOptions) : {}) };
}

const ms = (seconds: number) => seconds * 1000;
// The code reads 0 as "no limit" (`null` or `Infinity` given).
const limit = (cap: number | null | undefined, byDefault: number) =>
  cap === undefined ? byDefault : cap === null || cap === Number.POSITIVE_INFINITY ? 0 : cap;

/** One line per option: what the app gave, else `SESSION_DEFAULTS`, in the units the code uses. */
function resolve(options: Partial<SessionModuleOptions>): Omit<ResolvedSessionOptions, 'problems'> {
  const { binding, replication, rememberMe, clearSiteData } = options;
  return {
    redis: options.redis,
    keyPrefix: options.keyPrefix ?? D.keyPrefix,
    ttlMs: ms(options.ttl ?? D.ttl),
    absoluteTtlMs: ms(options.absoluteTtl ?? D.absoluteTtl),
    cookie: resolveCookie(options.cookie ?? {}),
    transport: options.transport ?? D.transport,
    validateCredentials: options.validateCredentials,
    maxSessionsPerUser: limit(options.maxSessionsPerUser, D.maxSessionsPerUser),
    binding: { ip: binding?.ip ?? D.binding.ip, userAgent: binding?.userAgent ?? D.binding.userAgent },
    rememberMe: rememberMe ? { ttlMs: ms(rememberMe.ttl), absoluteTtlMs: ms(rememberMe.absoluteTtl) } : null,
    redisTimeoutMs: options.redisTimeoutMs ?? D.redisTimeoutMs,
    durability: options.durability ?? D.durability,
    replicas: replication?.replicas ?? D.replication.replicas,
    replicationTimeoutMs: replication?.timeoutMs ?? D.replication.timeoutMs,
    expiredEvents: options.expiredEvents ?? D.expiredEvents,
    liveRevocation: options.liveRevocation ?? D.liveRevocation,
    maxLiveConnectionsPerSession: limit(options.maxLiveConnectionsPerSession, D.maxLiveConnectionsPerSession),
    cache: resolveCache(options.cache, options.liveRevocation ?? D.liveRevocation),
    maxDataBytes: options.maxDataBytes ?? D.maxDataBytes,
    clearSiteData: clearSiteData === false ? null : (clearSiteData ?? D.clearSiteData),
    metrics: options.metrics ? resolveMetrics(options.metrics === true ? {} : options.metrics) : null,
    loginThrottle: options.loginThrottle === false ? null : resolveThrottle(options.loginThrottle ?? {}),
    csrf: options.csrf === false ? null : resolveCsrf(options.csrf ?? {}),
  };
}

function resolveCookie(cookie: SessionCookieOptions): ResolvedSessionOptions['cookie'] {
  const name = cookie.name ?? D.cookie.name;
  const sameSite = cookie.sameSite ?? D.cookie.sameSite;
  const persistent = cookie.persistent ?? D.cookie.persistent;
  // The __Host- preset: browsers accept such a cookie only Secure, on Path=/ and host-only.
  if (cookie.hostPrefix ?? D.cookie.hostPrefix) {
    return { name: `__Host-${name}`, secure: true, sameSite, path: '/', domain: undefined, persistent };
  }
  const { secure = D.cookie.secure, path = D.cookie.path, domain } = cookie;
  return { name, secure, sameSite, path, domain, persistent };
}

/**
 * Left out: socket messages (socket.io, ws) use the cache whenever `liveRevocation` is on, HTTP
 * and GraphQL do not (`SessionModuleFactoryOptions.cache`). `true` or an object: every guarded
 * call; `false`: none. The limits are resolved even when it is off, so the shape never varies.
 */
function resolveCache(
  cache: boolean | SessionCacheOptions | undefined,
  liveRevocation: boolean,
): ResolvedSessionOptions['cache'] {
  const given = typeof cache === 'object' ? cache : {};
  const max = given.max ?? D.cache.max;
  const slideEveryMs = given.slideEveryMs ?? null;
  if (cache === undefined) return { http: false, sockets: liveRevocation, max, slideEveryMs };
  return { http: cache !== false, sockets: cache !== false, max, slideEveryMs };
}

function resolveMetrics({
  registry,
  prefix,
}: {
  registry?: object;
  prefix?: string;
}): NonNullable<ResolvedSessionOptions['metrics']> {
  return { registry, prefix: prefix ?? D.metrics.prefix };
}

const throttleRule = ({ limit, windowSeconds }: { limit: number; windowSeconds: number }) => ({
  limit,
  windowMs: ms(windowSeconds),
});

function resolveThrottle(throttle: SessionLoginThrottleOptions): NonNullable<ResolvedSessionOptions['loginThrottle']> {
  return {
    perUsername: throttleRule(throttle.perUsername ?? D.loginThrottle.perUsername),
    perIp: throttleRule(throttle.perIp ?? D.loginThrottle.perIp),
    delayAfter: throttle.delayAfter ?? D.loginThrottle.delayAfter,
    maxDelayMs: throttle.maxDelayMs ?? D.loginThrottle.maxDelayMs,
  };
}

function resolveCsrf(csrf: SessionCsrfOptions): NonNullable<ResolvedSessionOptions['csrf']> {
  return {
    trustedOrigins: new Set(csrf.trustedOrigins ?? D.csrf.trustedOrigins),
    doubleSubmit: csrf.doubleSubmit ?? D.csrf.doubleSubmit,
    // Node's header names are lower case: compared as they arrive.
    headerName: (csrf.headerName ?? D.csrf.headerName).toLowerCase(),
  };
}
