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

export type SessionEventName = (typeof SessionEvent)[keyof typeof SessionEvent];

export interface SessionCreatedEvent {
  session: Session;
}
export interface SessionDestroyedEvent {
  sessionId: string;
  userId: string | number;
}
export interface SessionRevokedEvent {
  sessionId: string;
  userId: string | number;
  reason: 'revoke' | 'revoke-all' | 'max-sessions' | 'binding';
}
export interface SessionRotatedEvent {
  sessionId: string;
  previousSessionId: string;
  userId: string | number;
}
export interface SessionExpiredEvent {
  sessionId: string;
}
export interface SessionBindingMismatchEvent {
  sessionId: string;
  userId: string | number;
  field: 'ip' | 'userAgent';
  /** `'enforce'`: the session was ended (a `session.revoked` with reason `binding` follows). */
  mode: 'report' | 'enforce';
  /** What the login recorded, and what this request sent. */
  expected: string;
  actual: string | null;
}

/**
 * Where the core reports what happened to sessions. The module binds it to
 * `SessionEvents` (integrations/events), which forwards to `@nestjs/event-emitter` when the
 * app has it; the core never depends on that package.
 */
export abstract class SessionEventSink {
  abstract emit(event: SessionEventName, payload: unknown): void;
}
