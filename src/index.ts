// The public API of nestjs-redis-session. Anything not exported here is internal.
export { SessionModule } from './session/session.module.js';
export { SessionService } from './session/session.service.js';
export { SessionGuard } from './session/session.guard.js';
export { AuthController, type LoginResponse } from './session/auth.controller.js';
export { LoginDto } from './session/dto/login.dto.js';
export { SessionDto, SessionListItemDto, LoginResponseDto } from './session/dto/session.dto.js';
export { Public } from './session/decorators/public.decorator.js';
export { Roles } from './session/decorators/roles.decorator.js';
export { CurrentSession } from './session/decorators/current-session.decorator.js';
export { RequireFreshSession } from './session/decorators/require-fresh-session.decorator.js';
export { SessionStoreUnavailableException, SessionListOptionsException } from './session/session.errors.js';
export { SessionOptionsError } from './session/session-options.js';
export { SESSION_REQUEST_KEY } from './session/session.constants.js';
export {
  SessionEvent,
  type SessionCreatedEvent,
  type SessionDestroyedEvent,
  type SessionRevokedEvent,
  type SessionRotatedEvent,
  type SessionExpiredEvent,
} from './session/session.events.js';
export type {
  SessionModuleOptions,
  SessionModuleFactoryOptions,
  SessionModuleExtras,
  SessionModuleAllOptions,
  SessionRedisOptions,
  SessionCookieOptions,
  SessionCsrfOptions,
  SessionLoginThrottleOptions,
  SessionCredentials,
  LoginContext,
  ValidateCredentials,
} from './session/session-options.js';
export type {
  Session,
  SessionUser,
  SessionContext,
  SessionListItem,
  IssuedSession,
  RevokeAllOptions,
  SessionListOptions,
  SessionPage,
} from './session/session.types.js';
