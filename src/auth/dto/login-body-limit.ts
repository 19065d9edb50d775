import { Injectable, type NestMiddleware } from '@nestjs/common';
import { SessionCounters } from '../../core/counters.js';
import { checkLoginHeaders, LOGIN_BODY_CHECK } from './login-body.js';

/**
 * Refuses a `POST /auth/login` whose headers already say it is not JSON (415) or larger than
 * `MAX_LOGIN_BODY_BYTES` (400). On Fastify, Nest middleware runs in the `onRequest` hook,
 * before the body is read, so such a body is never parsed (a 1 MB body nested 500,000 levels
 * deep costs ~250 ms of `JSON.parse`); on Express the app's body parser has already run
 * (100 KB by default) and this is the answer the handler would give.
 */
@Injectable()
export class LoginBodyLimitMiddleware implements NestMiddleware {
  constructor(private readonly counters: SessionCounters) {}

  use(request: { headers: Record<string, string | string[] | undefined> }, _response: unknown, next: () => void): void {
    this.counters.measure(LOGIN_BODY_CHECK, () => checkLoginHeaders(request.headers));
    next();
  }
}
