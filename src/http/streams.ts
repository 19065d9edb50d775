import { HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { Observable, takeUntil, type MonoTypeOperatorFunction } from 'rxjs';
import { SessionLive } from '../core/live.js';
import { SessionRefusalCode } from '../core/refusal-codes.js';
import type { Session } from '../core/types.js';
import { SESSION_REQUEST_KEY } from './metadata.js';

/**
 * Ends long-lived responses with their session. On an `@Sse()` route behind `SessionGuard`:
 *
 * ```ts
 * @UseGuards(SessionGuard)
 * @Sse('events')
 * events(@Req() req: Request): Observable<MessageEvent> {
 *   return this.updates$.pipe(this.streams.untilSessionEnds(req));
 * }
 * ```
 * The stream completes (and the response ends) within about a second after a logout, a
 * revocation or a rotation on any instance (`liveRevocation`, on by default; without it, on this
 * instance only), or when the session expires. A session that already holds
 * `maxLiveConnectionsPerSession` live connections on this instance gets a 429 instead (an
 * `EventSource` does not retry it); the streams open go on.
 */
@Injectable()
export class SessionStreams {
  constructor(private readonly live: SessionLive) {}

  /**
   * An rxjs operator: completes the stream when the request's session ends. The request must
   * have passed `SessionGuard`. Throws a 429 (`reason: 'TOO_MANY_CONNECTIONS'`) when the session
   * holds `maxLiveConnectionsPerSession` live connections on this instance already.
   */
  untilSessionEnds<T>(request: object): MonoTypeOperatorFunction<T> {
    const session = (request as { [SESSION_REQUEST_KEY]?: Session })[SESSION_REQUEST_KEY];
    if (!session) throw new Error('untilSessionEnds: the request has no session; put SessionGuard on the route');
    if (this.live.isFull(session.id)) {
      const message = 'Too many live connections for this session';
      throw new HttpException(
        { statusCode: 429, message, error: 'Too Many Requests', reason: SessionRefusalCode.TooManyConnections },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    return takeUntil(this.ended(session));
  }

  /**
   * Emits once, then completes, when the session ends or expires; at once when it holds
   * `maxLiveConnectionsPerSession` live connections on this instance already (nothing is watched).
   */
  ended(session: Pick<Session, 'id' | 'expiresAt'>): Observable<void> {
    return new Observable<void>((subscriber) => {
      const stop = this.live.watch(session.id, session.expiresAt, () => {
        subscriber.next();
        subscriber.complete();
      });
      if (stop) return stop;
      subscriber.next();
      subscriber.complete();
      return undefined;
    });
  }
}
