// SessionUser and SessionContext are the options' (the login hook's) types: defined in options/,
// the lowest folder, so that options/ never imports core/.
export type { SessionUser, SessionContext } from '../options/types.js';

/**
 * A change to a live session (`SessionService.update`, `updateUser`): `username` and `role`
 * replace the session's, any other key is merged into its custom data (`session.data`). A key
 * set to `null` or `undefined` is removed (`username`/`role` become null); a data key set to a
 * `SessionOps` operator (append, remove, increment) is changed by Redis from the value it holds.
 * Password-ish keys are dropped, as at login; the user id cannot change.
 */
export interface SessionPatch {
  /** The session's new username; `null` removes it. */
  username?: string | null;
  /** The session's new role (what `@Roles()` checks on the next request); `null` removes it. */
  role?: string | null;
  [key: string]: unknown;
}

/** A live session. Dates serialise to ISO 8601 strings in HTTP responses. */
export interface Session {
  /**
   * Public id: names the session in lists and in `DELETE /auth/sessions/:id`.
   * It is a hash of the token, so it can never be used as one.
   */
  id: string;
  /** The user's id, with the type `validateCredentials` gave it (the number 1 and the string "1" are different users). */
  userId: string | number;
  /** The user's name at login (or as last updated); null when there was none. */
  username: string | null;
  /** The user's role at login (or as last updated), which `@Roles()` checks; null when there was none. */
  role: string | null;
  /** When the user logged in (`@RequireFreshSession()` measures from it). */
  createdAt: Date;
  /** The last validated request (derived from the key's TTL, see README). */
  lastActivityAt: Date;
  /** `min(lastActivityAt + ttl, absoluteExpiresAt)`. */
  expiresAt: Date;
  /** `createdAt + absoluteTtl`: sliding never goes past it. */
  absoluteExpiresAt: Date;
  /** The client IP the login came from (behind a proxy: as `trust proxy` resolves it); null if unknown. */
  ip: string | null;
  /** The login's `User-Agent` (capped at 512 characters); null if none. */
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
  /** The token to hand the client (cookie or bearer): Redis only ever sees its hash. */
  token: string;
  /** The session it names. */
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
