/** Metadata key set by `@Public()`. */
export const IS_PUBLIC_KEY = 'nestjs-redis-session:public';

/** Metadata key set by `@Roles()`. */
export const ROLES_KEY = 'nestjs-redis-session:roles';

/**
 * Where the guard leaves the validated session on the request. A symbol, so it
 * never collides with express-session's or passport's `req.session` / `req.user`.
 */
export const SESSION_REQUEST_KEY = Symbol.for('nestjs-redis-session:session');

/** Metadata key set by `@RequireFreshSession()`: the maximum age of the login, in ms. */
export const FRESH_SESSION_KEY = 'nestjs-redis-session:fresh';

/** Metadata key set by `@NoSlide()`. */
export const NO_SLIDE_KEY = 'nestjs-redis-session:no-slide';
