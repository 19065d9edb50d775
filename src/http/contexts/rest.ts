import type { ExecutionContext } from '@nestjs/common';
import type { HttpRequestLike } from '../request.js';
import type { ContextAdapter } from './adapter.js';

/**
 * A REST route (Express or Fastify): the request and response are the platform's own, the
 * handler's arguments 0 and 1. Read by index: `switchToHttp()` assigns three new closures onto
 * the context at every call, on the guard's hot path. (A hand-written test double with only
 * `switchToHttp()` still works.)
 */
export const restContext: ContextAdapter = {
  type: 'http',
  cacheKind: 'http',
  request: (context: ExecutionContext) => argument<HttpRequestLike>(context, 0),
  // Guards of one request run one after the other: the session set on the request is enough.
  operation: () => undefined,
  holder: (context: ExecutionContext) => argument<object>(context, 0),
  // The guard already set the session on the request, which is where @CurrentSession reads it.
  keep: () => undefined,
  response: (context: ExecutionContext) => argument<object>(context, 1),
  // Safe methods pass the CSRF check: a GET must not change state.
  alwaysChecksOrigin: () => false,
  // The body (`{ statusCode, message, error, reason }`) is the exception's own.
  shape: (error) => error,
  missingRequestHint: undefined,
};

function argument<T>(context: ExecutionContext, index: 0 | 1): T {
  if (typeof context.getArgByIndex === 'function') return context.getArgByIndex<T>(index);
  const http = context.switchToHttp();
  return index === 0 ? http.getRequest<T>() : http.getResponse<T>();
}
