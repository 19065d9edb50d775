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
}

/** Options of `SessionService.revokeAll`. */
export interface RevokeAllOptions {
  /** A public session id to keep (e.g. the current one for "log out other devices"). */
  except?: string;
}
