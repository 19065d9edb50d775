import type { ExecutionContext } from '@nestjs/common';
import type { ContextAdapter } from './adapter.js';
import { gatewayContext } from './gateway.js';
import { graphqlContext } from './graphql.js';
import { restContext } from './rest.js';
import { rpcContext } from './rpc.js';

export type { ContextAdapter } from './adapter.js';

/** Every kind of execution context the guard knows, by `context.getType()`. */
const ADAPTERS = new Map<string, ContextAdapter>(
  [restContext, graphqlContext, gatewayContext, rpcContext].map((adapter) => [adapter.type, adapter]),
);

/** The adapter of a context's kind; a kind no adapter knows carries no session, as RPC. */
export function contextAdapterOf(context: ExecutionContext): ContextAdapter {
  return ADAPTERS.get(context.getType<string>()) ?? rpcContext;
}
