// The nested sections of the module options (`cookie`, `csrf`, `loginThrottle`, `binding`, `cache`):
// public interfaces only. types.ts re-exports them with the options they belong to.

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

/** How `binding` treats a field: not checked (`'off'`), reported (`'report'`), or enforced (`'enforce'`). */
export type BindingMode = 'off' | 'report' | 'enforce';

/** The session cache's limits (`cache: { ... }`); giving them turns the cache on for every guarded call. */
export interface SessionCacheOptions {
  /** Sessions held per instance; the least recently used go first. Default 10_000. An integer from 1 to 10_000_000. */
  max?: number;
  /**
   * A cached session's idle TTL is slid in Redis at most once per this many ms. Default: a tenth
   * of the session's idle timeout (`ttl`, or its own with "remember me"). At least 1000 and at
   * most half of `ttl` (in ms).
   */
  slideEveryMs?: number;
}
