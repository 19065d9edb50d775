import { ForbiddenException, HttpException, UnauthorizedException } from '@nestjs/common';
import { SessionRefusalCode } from '../core/refusal-codes.js';

/** What the guard refuses with: a 401 (no valid session) or a 403 (cross-site, role, fresh login). */
export type Refusal = UnauthorizedException | ForbiddenException;

/** Each refusal's status and message; the message is for people, `reason` for code. */
/** The codes that refuse a session itself (401, 403); the other two say "not now" (503, 429). */
type SessionDenial = Exclude<SessionRefusalCode, 'REDIS_UNAVAILABLE' | 'TOO_MANY_CONNECTIONS'>;

const REFUSALS: Record<SessionDenial, { status: 401 | 403; message: string }> = {
  SESSION_MISSING: { status: 401, message: 'Authentication required' },
  SESSION_AMBIGUOUS: { status: 401, message: 'Ambiguous session cookies' },
  SESSION_INVALID: { status: 401, message: 'Invalid or expired session' },
  SESSION_ENDED: { status: 401, message: 'Session ended' },
  BINDING_MISMATCH: { status: 401, message: 'Session binding mismatch' },
  CROSS_SITE: { status: 403, message: 'Cross-site request refused' },
  CSRF_TOKEN_INVALID: { status: 403, message: 'Missing or invalid CSRF token' },
  FORBIDDEN_ROLE: { status: 403, message: 'Insufficient role' },
  REAUTH_REQUIRED: { status: 403, message: 'Recent login required' },
};

/**
 * The refusal for `reason`: a 401 or 403 whose body is Nest's usual `{ statusCode, message,
 * error }` plus `reason`, the stable code apps match on.
 */
export function refusal(reason: SessionDenial): Refusal {
  const { status, message } = REFUSALS[reason];
  return status === 401
    ? new UnauthorizedException({ statusCode: 401, message, error: 'Unauthorized', reason })
    : new ForbiddenException({ statusCode: 403, message, error: 'Forbidden', reason });
}

/** A code's message as people read it. */
export function refusalMessage(reason: SessionRefusalCode): string {
  if (reason === SessionRefusalCode.RedisUnavailable) return 'Session store unavailable, try again shortly';
  if (reason === SessionRefusalCode.TooManyConnections) return 'Too many live connections for this session';
  return REFUSALS[reason].message;
}

/** A code's HTTP status: 401, 403, 429 for `TOO_MANY_CONNECTIONS`, 503 for `REDIS_UNAVAILABLE`. */
export function refusalStatus(reason: SessionRefusalCode): 401 | 403 | 429 | 503 {
  if (reason === SessionRefusalCode.RedisUnavailable) return 503;
  if (reason === SessionRefusalCode.TooManyConnections) return 429;
  return REFUSALS[reason].status;
}

/**
 * The stable code of an error the guard is about to answer with: its body's `reason`; a 503
 * without one is `REDIS_UNAVAILABLE`. Undefined for an error a subclassed guard built with a
 * body of its own: the module does not guess what the app meant.
 */
export function reasonOf(err: HttpException): SessionRefusalCode | undefined {
  const body = err.getResponse();
  const reason = typeof body === 'object' && body !== null ? (body as { reason?: unknown }).reason : undefined;
  if (typeof reason === 'string' && isRefusalCode(reason)) return reason;
  return err.getStatus() === 503 ? SessionRefusalCode.RedisUnavailable : undefined;
}

const CODES = new Set<string>(Object.values(SessionRefusalCode));
function isRefusalCode(value: string): value is SessionRefusalCode {
  return CODES.has(value);
}
