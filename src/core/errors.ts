import { BadRequestException, ServiceUnavailableException } from '@nestjs/common';

/**
 * Redis could not answer (down, failing over, too slow, out of memory). Maps to a
 * 503, never a 401: a blip in Redis must not log users out.
 */
export class SessionStoreUnavailableException extends ServiceUnavailableException {
  constructor(cause?: unknown) {
    super('Session store unavailable, try again shortly', { cause });
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
