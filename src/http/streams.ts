import { Injectable } from '@nestjs/common';
import { Observable, takeUntil, type MonoTypeOperatorFunction } from 'rxjs';
import { SessionLive } from '../core/live.js';
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
 * instance only), or when the session expires.
 */
@Injectable()
export class SessionStreams {
  constructor(private readonly live: SessionLive) {}

  /** An rxjs operator: completes the stream when the request's session ends. The request must have passed `SessionGuard`. */
  untilSessionEnds<T>(request: object): MonoTypeOperatorFunction<T> {
    const session = (request as { [SESSION_REQUEST_KEY]?: Session })[SESSION_REQUEST_KEY];
    if (!session) throw new Error('untilSessionEnds: the request has no session; put SessionGuard on the route');
    return takeUntil(this.ended(session));
  }

  /** Emits once, then completes, when the session ends or expires. */
  ended(session: Pick<Session, 'id' | 'expiresAt'>): Observable<void> {
    return new Observable<void>((subscriber) =>
      this.live.watch(session.id, session.expiresAt, () => {
        subscriber.next();
        subscriber.complete();
      }),
    );
  }
}
