import type { ContextAdapter } from './adapter.js';

/**
 * A microservice message handler (`rpc`), and any context type no other adapter knows: no
 * cookie or header travels with it, so there is no request to authenticate. The guard's
 * `onUnsupportedContext` decides: `@UseGuards(SessionGuard)` refuses, the global guard lets
 * undecorated handlers through.
 */
export const rpcContext: ContextAdapter = {
  type: 'rpc',
  cacheKind: 'http',
  request: () => undefined,
  operation: () => undefined,
  holder: () => undefined,
  keep: () => undefined,
  response: () => undefined,
  alwaysChecksOrigin: () => false,
  shape: (error) => error,
  missingRequestHint: undefined,
};
