import { SESSION_DEFAULTS as D } from './defaults.js';
import type {
  BindingMode,
  SessionCookieOptions,
  SessionModuleOptions,
  SessionRedisOptions,
  ValidateCredentials,
} from './types.js';
import { validateSessionOptions } from './validate.js';
import { isObject } from './values.js';

/** Injection token of the resolved, validated options (`ResolvedSessionOptions`). */
export const RESOLVED_SESSION_OPTIONS = Symbol('nestjs-redis-session:config');

type SessionTransportKind = 'cookie' | 'bearer' | 'both';

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
  /** Per field: 'off', 'report' or 'enforce'. */
  readonly binding: { ip: BindingMode; userAgent: BindingMode };
  /** Null when "remember me" is off. */
  readonly rememberMe: { ttlMs: number; absoluteTtlMs: number } | null;
  /** See `SessionModuleOptions.redisTimeoutMs`. */
  readonly redisTimeoutMs: number;
  readonly durability: 'none' | 'replicated';
  readonly replicas: number;
  readonly replicationTimeoutMs: number;
  readonly expiredEvents: boolean;
  readonly liveRevocation: boolean;
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
    keyPrefix: typeof options.keyPrefix === 'string' ? options.keyPrefix : D.keyPrefix,
    ttlMs: positive(options.ttl, D.ttl) * 1000,
    absoluteTtlMs: positive(options.absoluteTtl, D.absoluteTtl) * 1000,
    cookie:
      cookie.hostPrefix === true
        ? {
            name: `__Host-${cookie.name ?? D.cookie.name}`,
            secure: true,
            sameSite: cookie.sameSite ?? D.cookie.sameSite,
            path: '/',
            domain: undefined,
            persistent: cookie.persistent ?? D.cookie.persistent,
          }
        : {
            name: cookie.name ?? D.cookie.name,
            secure: cookie.secure ?? D.cookie.secure,
            sameSite: cookie.sameSite ?? D.cookie.sameSite,
            path: cookie.path ?? D.cookie.path,
            domain: cookie.domain,
            persistent: cookie.persistent ?? D.cookie.persistent,
          },
    transport: options.transport ?? D.transport,
    validateCredentials: typeof options.validateCredentials === 'function' ? options.validateCredentials : undefined,
    // 0 = unlimited: null or Infinity.
    maxSessionsPerUser:
      options.maxSessionsPerUser === null || options.maxSessionsPerUser === Number.POSITIVE_INFINITY
        ? 0
        : positive(options.maxSessionsPerUser, D.maxSessionsPerUser),
    redisTimeoutMs: positive(options.redisTimeoutMs, D.redisTimeoutMs),
    binding: { ip: options.binding?.ip ?? 'off', userAgent: options.binding?.userAgent ?? 'off' },
    rememberMe:
      options.rememberMe && typeof options.rememberMe === 'object'
        ? { ttlMs: options.rememberMe.ttl * 1000, absoluteTtlMs: options.rememberMe.absoluteTtl * 1000 }
        : null,
    durability: options.durability === 'replicated' ? 'replicated' : 'none',
    replicas: positive(options.replication?.replicas, D.replication.replicas),
    replicationTimeoutMs: positive(options.replication?.timeoutMs, D.replication.timeoutMs),
    expiredEvents: options.expiredEvents === true,
    liveRevocation: options.liveRevocation !== false,
    maxDataBytes: positive(options.maxDataBytes, D.maxDataBytes),
    csrf: resolveCsrf(options.csrf),
    loginThrottle: resolveThrottle(options.loginThrottle),
    metrics: resolveMetrics(options.metrics),
    clearSiteData:
      options.clearSiteData === false
        ? null
        : typeof options.clearSiteData === 'string'
          ? options.clearSiteData
          : D.clearSiteData,
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
    prefix: typeof given.prefix === 'string' ? given.prefix : D.metrics.prefix,
  };
}

function resolveThrottle(throttle: SessionModuleOptions['loginThrottle']): ResolvedSessionOptions['loginThrottle'] {
  if (throttle === false) return null;
  const given = isObject(throttle) ? throttle : {};
  const defaults = D.loginThrottle;
  const rule = (value: unknown, { limit, windowSeconds }: { limit: number; windowSeconds: number }) => {
    const r = isObject(value) ? value : {};
    return {
      limit: typeof r.limit === 'number' && r.limit >= 1 ? r.limit : limit,
      windowMs: (typeof r.windowSeconds === 'number' && r.windowSeconds >= 1 ? r.windowSeconds : windowSeconds) * 1000,
    };
  };
  return {
    perUsername: rule(given.perUsername, defaults.perUsername),
    perIp: rule(given.perIp, defaults.perIp),
    delayAfter: typeof given.delayAfter === 'number' && given.delayAfter >= 0 ? given.delayAfter : defaults.delayAfter,
    maxDelayMs: typeof given.maxDelayMs === 'number' && given.maxDelayMs >= 0 ? given.maxDelayMs : defaults.maxDelayMs,
  };
}

function resolveCsrf(csrf: SessionModuleOptions['csrf']): ResolvedSessionOptions['csrf'] {
  if (csrf === false) return null;
  const given = isObject(csrf) ? csrf : {};
  const origins = Array.isArray(given.trustedOrigins) ? given.trustedOrigins : [];
  return {
    trustedOrigins: new Set(origins.filter((o): o is string => typeof o === 'string')),
    doubleSubmit: given.doubleSubmit === true,
    headerName: typeof given.headerName === 'string' ? given.headerName.toLowerCase() : D.csrf.headerName,
  };
}
