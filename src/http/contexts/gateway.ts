import type { ExecutionContext, HttpException } from '@nestjs/common';
import { SESSION_REQUEST_KEY } from '../metadata.js';
import { reasonOf } from '../refusals.js';
import type { ContextAdapter } from './adapter.js';
import { socketRequestOf } from './socket-request.js';

/**
 * A WebSocket gateway message (`@nestjs/platform-socket.io` or `@nestjs/platform-ws`). The
 * request is the socket's handshake (socket.io's own, or the upgrade request a `ws` socket kept
 * through `SessionSockets.authenticate`), read anew at each message; the session is kept on the
 * socket, which each message's guard replaces. The socket is the handler's argument 0, read by
 * index: `switchToWs()` assigns three new closures onto the context at every call.
 */
export const gatewayContext: ContextAdapter = {
  type: 'ws',
  cacheKind: 'sockets',
  request: (context: ExecutionContext) => socketRequestOf(socketOf(context)),
  // Each message is an operation of its own, authenticated anew from the handshake.
  operation: () => undefined,
  holder: clientOf,
  keep: (context, session) => {
    const client = clientOf(context) as { [SESSION_REQUEST_KEY]?: unknown } | undefined;
    if (client) client[SESSION_REQUEST_KEY] = session;
  },
  response: () => undefined,
  alwaysChecksOrigin: () => true,
  // Nest's gateway exception filter answers anything but a WsException with "Internal server error".
  shape: (error) => asWsException(error),
  missingRequestHint:
    'SessionGuard refused a gateway message: its socket kept no handshake. With @nestjs/platform-ws, call ' +
    'SessionSockets.authenticate(client, request) in handleConnection (request is its second argument).',
};

/** A hand-written test double with only `switchToWs()` still works. */
function socketOf(context: ExecutionContext): unknown {
  return typeof context.getArgByIndex === 'function' ? context.getArgByIndex(0) : context.switchToWs().getClient();
}

function clientOf(context: ExecutionContext): object | undefined {
  const client: unknown = socketOf(context);
  return typeof client === 'object' && client !== null ? client : undefined;
}

/**
 * `WsException` of `@nestjs/websockets` (an optional peer). Loaded at boot with a dynamic
 * `import()` (see auth/openapi for why not `require`); absent when the app has no gateways,
 * and then never needed.
 */
type WsExceptionClass = new (error: string | object) => Error;

let WsException: WsExceptionClass | null | undefined;

/** Imports `@nestjs/websockets` once; never rejects. */
export async function loadWsException(): Promise<boolean> {
  if (WsException === undefined) {
    try {
      WsException = ((await import('@nestjs/websockets')) as { WsException: WsExceptionClass }).WsException;
    } catch {
      WsException = null;
    }
  }
  return WsException !== null;
}

/**
 * The refusal as a gateway client receives it: an `exception` event `{ status: 'error', code,
 * message, reason }` (`code` the HTTP status, `reason` the `SessionRefusalCode`).
 */
export function asWsException(error: HttpException): Error {
  const reason = reasonOf(error);
  const data = { status: 'error', code: error.getStatus(), message: error.message, ...(reason && { reason }) };
  return WsException ? new WsException(data) : Object.assign(new Error(error.message), data);
}

/** In `SessionModule`'s providers: Nest awaits it while it instantiates the app. */
export const wsExceptionProvider = {
  provide: Symbol('nestjs-redis-session:ws-exception'),
  useFactory: loadWsException,
};
