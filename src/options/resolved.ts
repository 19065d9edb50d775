import type {
  BindingMode,
  SessionCookieOptions,
  SessionModuleFactoryOptions,
  SessionRedisOptions,
  ValidateCredentials,
} from './types.js';

/** Injection token of the resolved, validated options (`ResolvedSessionOptions`). */
export const RESOLVED_SESSION_OPTIONS = Symbol('nestjs-redis-session:config');

/**
 * Options after defaults, in the units the code uses. Built once at boot. With `problems`,
 * every other field holds the defaults: the boot fails, and nothing reads them for real.
 */
export interface ResolvedSessionOptions {
  /** What is wrong with the options; non-empty fails `app.init()`. */
  readonly problems: readonly string[];
  /** Undefined only with `problems`. */
  readonly redis: SessionRedisOptions | undefined;
  readonly keyPrefix: string;
  readonly ttlMs: number;
  readonly absoluteTtlMs: number;
  /** With `hostPrefix`, already the `__Host-` cookie (prefixed name, Secure, Path=/, no Domain). */
  readonly cookie: Required<Omit<SessionCookieOptions, 'domain' | 'hostPrefix'>> & { domain: string | undefined };
  readonly transport: NonNullable<SessionModuleFactoryOptions['transport']>;
  readonly validateCredentials: ValidateCredentials | undefined;
  /** 0 = unlimited (`null` or `Infinity` given). */
  readonly maxSessionsPerUser: number;
  /** Per field: 'off', 'report' or 'enforce'. */
  readonly binding: { ip: BindingMode; userAgent: BindingMode };
  /** Null when "remember me" is off. */
  readonly rememberMe: { ttlMs: number; absoluteTtlMs: number } | null;
  /** See `SessionModuleOptions.redisTimeoutMs`. */
  readonly redisTimeoutMs: number;
  readonly durability: NonNullable<SessionModuleFactoryOptions['durability']>;
  readonly replicas: number;
  readonly replicationTimeoutMs: number;
  readonly expiredEvents: boolean;
  readonly liveRevocation: boolean;
  /** 0 = unlimited (`null` or `Infinity` given). */
  readonly maxLiveConnectionsPerSession: number;
  /**
   * Which guarded calls answer from the session cache, and its limits. `slideEveryMs` null: the
   * per-session default, a tenth of the session's own idle timeout.
   */
  readonly cache: { http: boolean; sockets: boolean; max: number; slideEveryMs: number | null };
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
