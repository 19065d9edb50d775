import type { ExecutionContext, HttpException } from '@nestjs/common';
import type { SessionLive } from '../../core/live.js';
import type { Session } from '../../core/types.js';
import type { HttpRequestLike } from '../request.js';

/**
 * What the guard needs from one kind of execution context (`context.getType()`): where the
 * request is, where the session is kept, how a refusal reaches the client. One file per kind
 * (rest, graphql, gateway, rpc), picked once per operation by `contextAdapterOf`; a new kind
 * of context is a new adapter listed in `index.ts`, and the guard does not change.
 */
export interface ContextAdapter {
  /** The `context.getType()` this adapter serves. */
  readonly type: string;
  /**
   * Which of the session cache's switches covers its calls (`cache` option): socket messages
   * use it whenever live revocation is on, HTTP and GraphQL only when the app turns it on.
   */
  readonly cacheKind: 'http' | 'sockets';
  /**
   * The request to authenticate: what the transport reads the token from and the CSRF check
   * the origin from. Undefined when the context carries none.
   */
  request(context: ExecutionContext): HttpRequestLike | undefined;
  /**
   * An object that lives exactly as long as one operation, on which the guard keeps the
   * authentication in flight, so that the guards of one operation share one Redis command (a
   * GraphQL query's guarded top-level fields run at once). Undefined: each call authenticates.
   */
  operation(context: ExecutionContext): object | undefined;
  /** Where `@CurrentSession()` reads the validated session from (the object that holds `SESSION_REQUEST_KEY`). */
  holder(context: ExecutionContext): object | undefined;
  /**
   * After the guard validated `session` and set it on `request()`'s object: keeps it where
   * `holder()` reads it when that is elsewhere, and ties to it what must end with it (a
   * subscription's WebSocket).
   */
  keep(context: ExecutionContext, session: Session, live: SessionLive): void;
  /** The response, for `Cache-Control: no-store` on a refusal; undefined where there is none. */
  response(context: ExecutionContext): object | undefined;
  /**
   * Whether a cookie-carried call has its origin checked whatever its method: a WebSocket's
   * messages ride on a GET handshake, yet a cross-site page opening one with the cookie is
   * cross-site WebSocket hijacking.
   */
  alwaysChecksOrigin(context: ExecutionContext): boolean;
  /**
   * A refusal (401, 403) or a 503 as this context's clients receive it, its `reason` code kept
   * (the guard throws what this returns).
   */
  shape(error: HttpException): Error;
  /**
   * Logged once (and the call refused with a 401) when `request()` finds nothing in a context
   * that should carry one: a setting the app can fix. Undefined for a context that never
   * carries a session (RPC): the guard's `onUnsupportedContext` decides those.
   */
  readonly missingRequestHint: string | undefined;
}
