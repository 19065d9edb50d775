import type { ExecutionContext } from '@nestjs/common';
import { SESSION_REQUEST_KEY } from '../metadata.js';
import { reasonOf } from '../refusals.js';
import type { HttpRequestLike } from '../request.js';
import { endSocketWithSession } from '../socket-watch.js';
import type { ContextAdapter } from './adapter.js';
import { graphqlSocketOf, type GraphqlContext } from './graphql-socket.js';

/**
 * A GraphQL resolver (`@nestjs/graphql`, an optional peer never imported: everything is read from
 * the resolver's arguments). Over HTTP the request is in the GraphQL context: `req` with Apollo
 * on Express, `request` or `reply.request` with Mercurius on Fastify. Over a WebSocket
 * (graphql-ws) it is the connection's upgrade request, and since a subscription goes on pushing
 * without asking again, the connection is closed (4401) when the session ends, on any instance.
 */
export const graphqlContext: ContextAdapter = {
  type: 'graphql',
  cacheKind: 'http',
  request: (context) => {
    const gql = gqlOf(context);
    return graphqlSocketOf(gql)?.request ?? (httpRequestOf(gql) as HttpRequestLike | undefined);
  },
  // One GraphQL context per operation (over HTTP and graphql-ws): its top-level fields resolve at once.
  operation: gqlOf,
  holder: holderOf,
  keep: (context, session, live) => {
    const gql = gqlOf(context);
    const operation = graphqlSocketOf(gql);
    if (!operation) return; // over HTTP: the request the guard set it on is the holder
    (gql as { [SESSION_REQUEST_KEY]?: unknown })[SESSION_REQUEST_KEY] = session;
    if (operation.socket) endSocketWithSession(live, operation.socket, session);
  },
  response: (context) => {
    const gql = gqlOf(context);
    // Apollo on Express: the response hangs off the request; Mercurius: the Fastify reply.
    return gql?.res ?? gql?.reply ?? (gql?.req as { res?: object } | undefined)?.res;
  },
  // Every operation, whatever its method: a GET query (Mercurius runs them by default, Apollo
  // with csrfPrevention off) carries the cookie too, and over graphql-ws the handshake is a GET.
  alwaysChecksOrigin: () => true,
  // GraphQL's own error codes, and the refusal's `reason`: graphql-js copies an error's
  // `extensions` into the response (Mercurius adds none of its own; Apollo keeps them). A 503
  // goes as a plain error: Nest's Apollo driver turns any other HttpException status into
  // INTERNAL_SERVER_ERROR, and "retry shortly" must stay recognisable.
  shape: (error) => {
    const status = error.getStatus();
    const extensions = { code: GRAPHQL_CODES[status] ?? 'INTERNAL_SERVER_ERROR', reason: reasonOf(error), status };
    return status === 503 ? Object.assign(new Error(error.message), { extensions }) : Object.assign(error, { extensions });
  },
  missingRequestHint:
    'SessionGuard refused a GraphQL operation: its context holds no request. A custom `context` function must ' +
    'hand it on: context: ({ req, res, extra, connectionParams }) => ({ req, res, extra, connectionParams }).',
};

/** The `extensions.code` GraphQL clients know, by HTTP status. */
const GRAPHQL_CODES: Record<number, string> = { 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 503: 'SERVICE_UNAVAILABLE' };

/** Over graphql-ws, the operation's own GraphQL context (one per operation), not the connection's; else the HTTP request. */
function holderOf(context: ExecutionContext): object | undefined {
  const gql = gqlOf(context);
  return graphqlSocketOf(gql) ? gql : httpRequestOf(gql);
}

function httpRequestOf(gql: GraphqlContext | undefined): object | undefined {
  return gql?.req ?? gql?.request ?? gql?.reply?.request;
}

/** A resolver's arguments are (root, args, context, info). */
function gqlOf(context: ExecutionContext): GraphqlContext | undefined {
  const value: unknown = context.getArgByIndex(2);
  return typeof value === 'object' && value !== null ? (value as GraphqlContext) : undefined;
}
