// The public API of nestjs-redis-session. Anything not exported here is internal.
export { SessionModule } from './session.module.js';
export { SessionService } from './core/service.js';
export { SessionAuth } from './auth/session-auth.js';
export { SessionStreams } from './http/streams.js';
export { SessionSockets, type SocketIoClientLike, type UpgradeRequestLike } from './http/sockets.js';
export {
  SESSION_ENDED_CLOSE_CODE,
  SESSION_FORBIDDEN_CLOSE_CODE,
  SESSION_UNAVAILABLE_CLOSE_CODE,
  SESSION_TOO_MANY_CLOSE_CODE,
} from './http/socket-watch.js';
export { SessionRefusalCode } from './core/refusal-codes.js';
export { SessionGuard, type GuardedRequest } from './http/guard.js';
export { SessionUnavailableInterceptor } from './http/unavailable-interceptor.js';
export type { TokenLookup } from './http/transport.js';
export { AuthController } from './auth/controller.js';
export type { LoginResponse } from './auth/types.js';
export { LoginDto } from './auth/dto/login.js';
export { SessionDto, SessionListItemDto, LoginResponseDto } from './auth/dto/session.js';
export { Public } from './http/decorators/public.js';
export { Roles } from './http/decorators/roles.js';
export { CurrentSession } from './http/decorators/current-session.js';
export { RequireFreshSession } from './http/decorators/require-fresh-session.js';
export { NoSlide } from './http/decorators/no-slide.js';
export { SessionStoreUnavailableException, SessionListOptionsException } from './core/errors.js';
export { SessionOps, SessionPatchConflictException, type SessionOp } from './core/session-patch.js';
export { SessionOptionsError } from './options/error.js';
export { SESSION_REQUEST_KEY } from './http/metadata.js';
export {
  SessionEvent,
  type SessionCreatedEvent,
  type SessionDestroyedEvent,
  type SessionRevokedEvent,
  type SessionRotatedEvent,
  type SessionExpiredEvent,
  type SessionBindingMismatchEvent,
} from './core/events.js';
export type {
  SessionModuleOptions,
  BindingMode,
  SessionModuleFactoryOptions,
  SessionModuleExtras,
  SessionRedisOptions,
  SessionCookieOptions,
  SessionCsrfOptions,
  SessionCacheOptions,
  SessionLoginThrottleOptions,
  SessionCredentials,
  ValidateCredentials,
} from './options/types.js';
export type {
  Session,
  SessionUser,
  SessionPatch,
  SessionContext,
  SessionListItem,
  IssuedSession,
  SessionCreateOptions,
  RevokeAllOptions,
  SessionListOptions,
  SessionPage,
} from './core/types.js';
