import { BadRequestException, ServiceUnavailableException } from '@nestjs/common';
import { SessionRefusalCode } from './refusal-codes.js';

/** What a client is told to wait before it retries after a 503, in seconds (`Retry-After`). */
export const RETRY_AFTER_SECONDS = 1;

/**
 * Redis could not answer (down, failing over, too slow, out of memory). Maps to a
 * 503, never a 401: a blip in Redis must not log users out. Its body carries
 * `reason: 'REDIS_UNAVAILABLE'`; the guard and `AuthController` add `Retry-After`.
 */
export class SessionStoreUnavailableException extends ServiceUnavailableException {
  constructor(cause?: unknown) {
    super(
      {
        statusCode: 503,
        message: 'Session store unavailable, try again shortly',
        error: 'Service Unavailable',
        reason: SessionRefusalCode.RedisUnavailable,
      },
      { cause },
    );
  }
}

/**
 * Bad paging options for `SessionService.list`/`listPage` (a `limit` out of range, a cursor
 * that is not one a previous page returned). A 400: `GET /auth/sessions` answers it as is.
 */
export class SessionListOptionsException extends BadRequestException {
  constructor(message: string) {
    super(message);
  }
}
