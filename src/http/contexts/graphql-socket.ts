import type { HttpRequestLike } from '../request.js';
import { handshakeOf } from './socket-request.js';

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

/** A resolver's GraphQL context, as far as the module reads it (Apollo on Express, Mercurius on Fastify). */
export interface GraphqlContext {
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
 * The WebSocket behind a GraphQL operation, or undefined for one over HTTP:
 * - Apollo (Nest's graphql-ws server): graphql-ws's connection context, `{ connectionParams,
 *   extra: { socket, request } }`, as `req` under Nest's default context, or the GraphQL context
 *   itself when the app's `context` function hands it back;
 * - Mercurius: the upgrade's Fastify request (`request.ws`), and the `connection_init` payload.
 */
export function graphqlSocketOf(gql: GraphqlContext | undefined): GraphqlSocketOperation | undefined {
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
