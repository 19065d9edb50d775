import type { Session } from './types.js';

/** Event names, for `@OnEvent(SessionEvent.Created)` (`@nestjs/event-emitter`). */
export const SessionEvent = {
  /** `{ session }`: a login or `SessionService.create`. */
  Created: 'session.created',
  /** `{ sessionId, userId }`: a logout or `SessionService.destroy`. */
  Destroyed: 'session.destroyed',
  /** `{ sessionId, userId, reason }`: `revoke`, `revokeAll`, or eviction past `maxSessionsPerUser`. */
  Revoked: 'session.revoked',
  /** `{ sessionId, previousSessionId, userId }`: `SessionService.rotate`. */
  Rotated: 'session.rotated',
  /** `{ sessionId }`: Redis expired the session key (needs `expiredEvents: true`). */
  Expired: 'session.expired',
  /** `{ sessionId, userId, field, mode, expected, actual }`: a request's IP or user agent differs from the login's (`binding`). */
  BindingMismatch: 'session.binding-mismatch',
} as const;

/** One of the `SessionEvent` names. */
export type SessionEventName = (typeof SessionEvent)[keyof typeof SessionEvent];

/** The payload of `session.created` (`SessionEvent.Created`): a login or `SessionService.create`. */
export interface SessionCreatedEvent {
  /** The new session. */
  session: Session;
}
/** The payload of `session.destroyed` (`SessionEvent.Destroyed`): a logout or `SessionService.destroy`. */
export interface SessionDestroyedEvent {
  /** The public id of the session that ended. */
  sessionId: string;
  /** Its user's id. */
  userId: string | number;
}
/** The payload of `session.revoked` (`SessionEvent.Revoked`), once per session ended. */
export interface SessionRevokedEvent {
  /** The public id of the session that was ended. */
  sessionId: string;
  /** Its user's id. */
  userId: string | number;
  /**
   * Why: `revoke` (one session: `SessionService.revoke`, `DELETE /auth/sessions/:id`), `revoke-all`
   * (`SessionService.revokeAll`, log out everywhere),
   * `max-sessions` (evicted past `maxSessionsPerUser`), `binding` (an enforced `binding` mismatch).
   */
  reason: 'revoke' | 'revoke-all' | 'max-sessions' | 'binding';
}
/** The payload of `session.rotated` (`SessionEvent.Rotated`): `SessionService.rotate` or `SessionAuth.rotate`. */
export interface SessionRotatedEvent {
  /** The public id of the new token's session. */
  sessionId: string;
  /** The public id the session had before (its old token no longer works). */
  previousSessionId: string;
  /** The user's id. */
  userId: string | number;
}
/** The payload of `session.expired` (`SessionEvent.Expired`), with `expiredEvents: true`. */
export interface SessionExpiredEvent {
  /** The public id of the session Redis expired (its user is gone with the key). */
  sessionId: string;
}
/** The payload of `session.binding-mismatch` (`SessionEvent.BindingMismatch`), once per differing field. */
export interface SessionBindingMismatchEvent {
  /** The public id of the session. */
  sessionId: string;
  /** Its user's id. */
  userId: string | number;
  /** What differs: the IP network (`ip`) or the user agent (`userAgent`). */
  field: 'ip' | 'userAgent';
  /** `'enforce'`: the session was ended (a `session.revoked` with reason `binding` follows). */
  mode: 'report' | 'enforce';
  /** What the login recorded. */
  expected: string;
  /** What this request sent (null: no `User-Agent` header). */
  actual: string | null;
}

/**
 * Where the core reports what happened to sessions. The module binds it to
 * `SessionEvents` (integrations/events), which forwards to `@nestjs/event-emitter` when the
 * app has it; the core never depends on that package.
 */
export abstract class SessionEventSink {
  /**
   * True when something receives the events (the app has `EventEmitterModule`): known once the
   * app has bootstrapped. A report nobody would otherwise see (`binding: 'report'`) is logged
   * while it is false.
   */
  abstract readonly listening: boolean;
  abstract emit(event: SessionEventName, payload: unknown): void;
}
