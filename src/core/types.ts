/**
 * The user a session belongs to, as `validateCredentials` returns it.
 * Extra keys are kept as custom data (`session.data`); any key whose name contains
 * "password" (any case) is dropped, at any depth.
 */
export interface SessionUser {
  /** The user's id; a number stays a number, a string stays a string. */
  id: string | number;
  username?: string;
  role?: string;
  [key: string]: unknown;
}

/** Where a login came from; stored with the session for the user's device list. */
/**
 * A change to a live session (`SessionService.update`, `updateUser`): `username` and `role`
 * replace the session's, any other key is merged into its custom data (`session.data`). A key
 * set to `null` or `undefined` is removed (`username`/`role` become null). Password-ish keys are
 * dropped, as at login; the user id cannot change.
 */
export interface SessionPatch {
  username?: string | null;
  role?: string | null;
  [key: string]: unknown;
}

export interface SessionContext {
  ip?: string;
  userAgent?: string;
}

/** A live session. Dates serialise to ISO 8601 strings in HTTP responses. */
export interface Session {
  /**
   * Public id: names the session in lists and in `DELETE /auth/sessions/:id`.
   * It is a hash of the token, so it can never be used as one.
   */
  id: string;
  userId: string | number;
  username: string | null;
  role: string | null;
  createdAt: Date;
  /** The last validated request (derived from the key's TTL, see README). */
  lastActivityAt: Date;
  /** `min(lastActivityAt + ttl, absoluteExpiresAt)`. */
  expiresAt: Date;
  /** `createdAt + absoluteTtl`: sliding never goes past it. */
  absoluteExpiresAt: Date;
  ip: string | null;
  userAgent: string | null;
  /** Custom data: the extra keys of the `SessionUser`, present only when there are some. */
  data?: Record<string, unknown>;
}

/** A session as `GET /auth/sessions` lists it. */
export interface SessionListItem extends Session {
  /** True for the session that made the request. */
  current: boolean;
}

/** What `create()` and `rotate()` return: the token goes to the client, never to Redis. */
export interface IssuedSession {
  token: string;
  session: Session;
  /** Set when the session's cookie must outlive the browser (a "remember me" login), whatever `cookie.persistent` says. */
  persistentCookie?: boolean;
}

/**
 * Per-login lifetimes (`SessionService.create`, `SessionAuth.signIn`): a "remember me" login
 * gets longer ones than the module's. Seconds, whole numbers; each defaults to the module's.
 */
export interface SessionCreateOptions {
  /** Idle timeout of this session, seconds. */
  ttl?: number;
  /** Lifetime of this session from login, seconds. */
  absoluteTtl?: number;
  /** Its cookie lasts until the absolute deadline (`Max-Age`), even with `cookie.persistent: false`. */
  persistentCookie?: boolean;
}

/** Options of `SessionService.revokeAll`. */
export interface RevokeAllOptions {
  /** A public session id to keep (e.g. the current one for "log out other devices"). */
  except?: string;
}

/** Options of `SessionService.list` and `listPage`. */
export interface SessionListOptions {
  /** Sessions per page: a whole number from 1 to 1000; default 100. */
  limit?: number;
  /** Where to continue: the `nextCursor` of the previous page, unchanged. Left out: the first (newest) page. */
  cursor?: string;
}

/** One page of a user's sessions, newest first. */
export interface SessionPage {
  /**
   * At most `limit` live sessions. Can be shorter (even empty) while more remain: sessions
   * that ended between the index read and the session read are left out.
   */
  sessions: Session[];
  /** The cursor of the next page; null on the last page. */
  nextCursor: string | null;
}
