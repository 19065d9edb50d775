/**
 * Why a session was refused or ended, as a stable code: the same set in HTTP bodies
 * (`reason`), GraphQL errors (`extensions.reason`), gateway exceptions (`reason`), socket.io's
 * `exception` event before a disconnect and `ws` close reasons. Match on these, never on the
 * English `message`, which may change.
 */
export const SessionRefusalCode = {
  /** No session token came with the call (no cookie, no bearer header, no handshake token). */
  Missing: 'SESSION_MISSING',
  /** Two session cookies came with the request (cookie tossing): neither is used. */
  Ambiguous: 'SESSION_AMBIGUOUS',
  /** The token is malformed, unknown, expired or revoked. */
  Invalid: 'SESSION_INVALID',
  /** An open socket's or subscription's session ended (logout, revoke, rotate, expiry). */
  Ended: 'SESSION_ENDED',
  /** `binding` under `enforce`: the IP network or user agent differs from the login's; the session is ended. */
  BindingMismatch: 'BINDING_MISMATCH',
  /** A call carried by the session cookie came from another site (CSRF, cross-site WebSocket hijacking). */
  CrossSite: 'CROSS_SITE',
  /** `csrf.doubleSubmit`: the CSRF header is missing or does not match the session. */
  CsrfTokenInvalid: 'CSRF_TOKEN_INVALID',
  /** `@Roles()`: the session's role is not listed. */
  ForbiddenRole: 'FORBIDDEN_ROLE',
  /** `@RequireFreshSession()`: the login is older than the route accepts; sign in again. */
  ReauthRequired: 'REAUTH_REQUIRED',
  /** Redis could not answer (a 503): retry shortly; the session may be fine. */
  RedisUnavailable: 'REDIS_UNAVAILABLE',
  /** A socket or stream past `maxLiveConnectionsPerSession` (a 429): the newest is refused, the open ones stay. */
  TooManyConnections: 'TOO_MANY_CONNECTIONS',
} as const;

/** One of `SessionRefusalCode`'s values. */
export type SessionRefusalCode = (typeof SessionRefusalCode)[keyof typeof SessionRefusalCode];
