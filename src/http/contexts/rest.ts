import type { ExecutionContext } from '@nestjs/common';
import type { HttpRequestLike } from '../request.js';
import type { ContextAdapter } from './adapter.js';

/** A REST route (Express or Fastify): the request and response are the platform's own. */
export const restContext: ContextAdapter = {
  type: 'http',
  cacheKind: 'http',
  request: (context: ExecutionContext) => context.switchToHttp().getRequest<HttpRequestLike>(),
  // Guards of one request run one after the other: the session set on the request is enough.
  operation: () => undefined,
  holder: (context: ExecutionContext) => context.switchToHttp().getRequest<object>(),
  // The guard already set the session on the request, which is where @CurrentSession reads it.
  keep: () => undefined,
  response: (context: ExecutionContext) => context.switchToHttp().getResponse<object>(),
  // Safe methods pass the CSRF check: a GET must not change state.
  alwaysChecksOrigin: () => false,
  // The body (`{ statusCode, message, error, reason }`) is the exception's own.
  shape: (error) => error,
  missingRequestHint: undefined,
};
