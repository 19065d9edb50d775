import type { ExecutionContext } from '@nestjs/common';
import type { HttpRequestLike } from './request.js';
import { handshakeOf } from './socket-request.js';

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
  const type = context.getType<string>();
  if (type === 'ws') {
    const client: unknown = context.switchToWs().getClient();
    return typeof client === 'object' && client !== null ? client : undefined;
  }
  // An operation over graphql-ws: its own GraphQL context (one per operation), not the connection's.
  if (type === 'graphql' && graphqlSocketOf(context)) return graphqlContext(context);
  return httpRequestOf(context);
}

/** A GraphQL operation that came over a WebSocket (graphql-ws) rather than HTTP. */
export interface GraphqlSocketOperation {
  /**
   * The connection's upgrade request as the transport and the CSRF check read it, with the
   * `authorization` of its `connectionParams` as the `Authorization` header when it has none.
   * A new object per call.
   */
  request: HttpRequestLike;
  /** The WebSocket (ws), to close when the session ends. */
  socket: object | undefined;
}

/**
 * The WebSocket behind a GraphQL operation, or undefined for one over HTTP:
 * - Apollo (Nest's graphql-ws server): graphql-ws's connection context, `{ connectionParams,
 *   extra: { socket, request } }`, as `req` under Nest's default context, or the GraphQL context
 *   itself when the app's `context` function hands it back;
 * - Mercurius: the upgrade's Fastify request (`request.ws`), and the `connection_init` payload.
 */
export function graphqlSocketOf(context: ExecutionContext): GraphqlSocketOperation | undefined {
  const gql = graphqlContext(context);
  if (!gql) return undefined;
  for (const candidate of [gql.req, gql] as Array<GraphqlWsContext | undefined>) {
    const upgrade = candidate?.extra?.request;
    if (upgrade?.headers) {
      return {
        request: withConnectionParams(handshakeOf(upgrade), candidate?.connectionParams),
        socket: candidate?.extra?.socket,
      };
    }
  }
  const request = gql.request as MercuriusUpgrade | undefined;
  if (request?.ws === true && request.raw?.headers) {
    return {
      request: withConnectionParams(handshakeOf(request.raw), gql._connectionInit),
      socket: webSocketOf(request.raw.socket),
    };
  }
  return undefined;
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
  /** Mercurius over a WebSocket: the `connection_init` payload. */
  _connectionInit?: unknown;
}

type UpgradeRequest = Parameters<typeof handshakeOf>[0];

interface GraphqlWsContext {
  connectionParams?: unknown;
  extra?: { request?: UpgradeRequest; socket?: object };
}

interface MercuriusUpgrade {
  ws?: boolean;
  raw?: UpgradeRequest & { socket?: object };
}

/**
 * Adds the token a graphql-ws client sends in `connectionParams` (`{ authorization: 'Bearer …' }`,
 * or Mercurius's `{ headers: { authorization } }`) as the `Authorization` header, unless the
 * upgrade request had one: browsers cannot set headers on a WebSocket.
 */
function withConnectionParams(request: HttpRequestLike, params: unknown): HttpRequestLike {
  if (typeof params !== 'object' || params === null || request.headers.authorization !== undefined) return request;
  const p = params as { authorization?: unknown; Authorization?: unknown; headers?: { authorization?: unknown } };
  const value = p.authorization ?? p.Authorization ?? p.headers?.authorization;
  if (typeof value === 'string' && value !== '') request.headers.authorization = value;
  return request;
}

/** The ws WebSocket over a TCP socket: ws keeps it there under its own symbol (Mercurius hands out only the request). */
function webSocketOf(netSocket: object | undefined): object | undefined {
  if (!netSocket) return undefined;
  const key = Object.getOwnPropertySymbols(netSocket).find((symbol) => symbol.description === 'websocket');
  const value: unknown = key ? (netSocket as Record<symbol, unknown>)[key] : undefined;
  return typeof value === 'object' && value !== null ? value : undefined;
}

/** A resolver's arguments are (root, args, context, info). */
function graphqlContext(context: ExecutionContext): GraphqlContext | undefined {
  const value: unknown = context.getArgByIndex(2);
  return typeof value === 'object' && value !== null ? (value as GraphqlContext) : undefined;
}
