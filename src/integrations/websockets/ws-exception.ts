/**
 * `WsException` of `@nestjs/websockets` (an optional peer), for refusals in gateways: Nest's
 * WebSocket exception filter answers any other error with "Internal server error". Loaded at
 * boot with a dynamic `import()` (see integrations/openapi for why not `require`); absent
 * when the app has no gateways, and then never needed.
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

/** The refusal as a gateway client receives it: an `exception` event `{ status: 'error', code, message }`. */
export function asWsException(status: number, message: string): Error {
  const error = { status: 'error', code: status, message };
  return WsException ? new WsException(error) : Object.assign(new Error(message), error);
}

/** In `SessionModule`'s providers: Nest awaits it while it instantiates the app. */
export const wsExceptionProvider = {
  provide: Symbol('nestjs-redis-session:ws-exception'),
  useFactory: loadWsException,
};
