import type { ExecutionContext } from '@nestjs/common';

/**
 * The HTTP request and response behind a handler, whatever serves it: a REST route
 * (`http`), or a GraphQL resolver (`graphql`: the request is in the GraphQL context, `req` with
 * Apollo on Express and with Mercurius on Fastify, or `reply.request`). Read from the
 * execution context's arguments, so `@nestjs/graphql` (an optional peer) is never imported.
 * Undefined for contexts without one (RPC, a GraphQL context built without the request).
 */
export function httpRequestOf(context: ExecutionContext): object | undefined {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest<object>();
  if (type === 'graphql') {
    const gql = graphqlContext(context);
    return gql?.req ?? gql?.request ?? gql?.reply?.request;
  }
  return undefined;
}

/**
 * Where a handler's validated session is kept: on the request for REST and GraphQL, on the
 * socket for a gateway message (the guard replaces it at each message).
 */
export function sessionHolderOf(context: ExecutionContext): object | undefined {
  if (context.getType<string>() === 'ws') {
    const client: unknown = context.switchToWs().getClient();
    return typeof client === 'object' && client !== null ? client : undefined;
  }
  return httpRequestOf(context);
}

/** The response to a REST route or a GraphQL request over HTTP (for headers such as `Cache-Control`). */
export function httpResponseOf(context: ExecutionContext): object | undefined {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getResponse<object>();
  if (type === 'graphql') {
    const gql = graphqlContext(context);
    // Apollo on Express: the response hangs off the request; Mercurius: the Fastify reply.
    return gql?.res ?? gql?.reply ?? (gql?.req as { res?: object } | undefined)?.res;
  }
  return undefined;
}

interface GraphqlContext {
  req?: object;
  request?: object;
  res?: object;
  reply?: { request?: object };
}

/** A resolver's arguments are (root, args, context, info). */
function graphqlContext(context: ExecutionContext): GraphqlContext | undefined {
  const value: unknown = context.getArgByIndex(2);
  return typeof value === 'object' && value !== null ? (value as GraphqlContext) : undefined;
}
