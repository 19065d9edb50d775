import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { catchError, type Observable, throwError } from 'rxjs';
import { RETRY_AFTER_SECONDS, SessionStoreUnavailableException } from '../core/errors.js';
import { setResponseHeader } from './request.js';

/**
 * Adds `Retry-After` to the 503 a route answers when Redis cannot (`SessionStoreUnavailableException`),
 * so clients and proxies wait a moment and retry instead of treating it as a failure.
 * `AuthController` uses it and `SessionGuard` does the same for its own 503s; put it on your
 * own routes that call `SessionService` (`@UseInterceptors(SessionUnavailableInterceptor)`, or
 * `app.useGlobalInterceptors(new SessionUnavailableInterceptor())`). HTTP only; other contexts
 * pass through untouched.
 */
@Injectable()
export class SessionUnavailableInterceptor implements NestInterceptor {
  /** Passes the handler's answer on; on a `SessionStoreUnavailableException`, sets `Retry-After` and rethrows it. */
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    return next.handle().pipe(
      catchError((err: unknown) => {
        if (err instanceof SessionStoreUnavailableException) {
          setResponseHeader(context.switchToHttp().getResponse(), 'Retry-After', String(RETRY_AFTER_SECONDS));
        }
        return throwError(() => err);
      }),
    );
  }
}
