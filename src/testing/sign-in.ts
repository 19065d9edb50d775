import { SessionRedis } from '../core/redis/connection.js';
import { SessionService } from '../core/service.js';
import type { Session, SessionContext, SessionUser } from '../core/types.js';
import { SessionCsrf } from '../http/csrf.js';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';

/**
 * What the helpers take the module from: an `INestApplication`, a `TestingModule` or a
 * `ModuleRef` (anything with Nest's `get(token, { strict: false })`), once it is initialised
 * (`await app.init()`, `app.listen()`, `await moduleRef.init()`): the Redis connection opens then.
 */
export interface SessionTestApp {
  /** Nest's `get`: a provider from anywhere in the app (`SessionModule` exports what the helpers read). */
  get(typeOrToken: (abstract new (...args: never[]) => unknown) | symbol, options: { strict: false }): unknown;
}

/** Options of `signInForTest`. */
export interface TestSignInOptions {
  /**
   * Where the login came from, as a login records it (`binding` compares later requests with
   * it). Left out, the session records none, and `binding` compares nothing for it.
   */
  context?: SessionContext;
  /** This session's own idle timeout, seconds (as `SessionService.create`'s `options.ttl`). */
  ttl?: number;
  /** This session's own lifetime from login, seconds (as `SessionService.create`'s `options.absoluteTtl`). */
  absoluteTtl?: number;
}

/** A signed-in test client: the session and every way a client presents it. */
export interface TestSignIn {
  /** The session token (what a login hands the client; Redis only holds its hash). */
  token: string;
  /** The session as `@CurrentSession()` will see it. */
  session: Session;
  /**
   * The session cookie as a `Cookie` header value, `<name>=<token>` with the module's cookie
   * name (`__Host-sid` under `cookie.hostPrefix`): supertest's `.set('Cookie', cookie)`. Read
   * with `transport: 'cookie'` (the default) or `'both'`.
   */
  cookie: string;
  /** `Bearer <token>`, for the `Authorization` header. Read with `transport: 'bearer'` or `'both'`. */
  authorization: string;
  /**
   * The headers a client of the module's `transport` sends: `{ cookie }` (plus the
   * double-submit header with `csrf.doubleSubmit`, for state-changing requests) unless
   * `transport` is `'bearer'`, then `{ authorization }`: supertest's `.set(headers)`, or
   * socket.io's `extraHeaders` for a cookie handshake.
   */
  headers: Record<string, string>;
  /** The double-submit CSRF token (`headers` carries it), or null when `csrf.doubleSubmit` is off. */
  csrfToken: string | null;
  /** socket.io's `auth` option (`io(url, { auth: socketAuth })`): read with `transport: 'bearer'` or `'both'`. */
  socketAuth: { token: string };
  /** graphql-ws's `connectionParams` (`createClient({ url, connectionParams })`): read with `transport: 'bearer'` or `'both'`. */
  connectionParams: { authorization: string };
}

/**
 * Signs `user` in without a login round-trip, for e2e tests of guarded routes, resolvers and
 * gateways (an app whose only sign-in is OAuth too): a real session in the app's Redis, made
 * by `SessionService.create` as a login makes it (the user checked and its password keys
 * dropped, `session.created` emitted, `maxSessionsPerUser` applied), and what a client needs
 * to present it on every transport.
 *
 * ```ts
 * const { cookie } = await signInForTest(app, { id: 42, username: 'ann', role: 'admin' });
 * await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
 * ```
 */
export async function signInForTest(
  app: SessionTestApp,
  user: SessionUser,
  options: TestSignInOptions = {},
): Promise<TestSignIn> {
  const { sessions, config, csrf } = moduleOf(app, 'signInForTest');
  const { context, ttl, absoluteTtl } = options;
  const { token, session } = await sessions.create(user, context, { ttl, absoluteTtl });
  const cookie = `${config.cookie.name}=${token}`;
  const authorization = `Bearer ${token}`;
  const csrfToken = csrf.doubleSubmit ? csrf.tokenFor(token) : null;
  const headers: Record<string, string> =
    config.transport === 'bearer'
      ? { authorization }
      : csrfToken === null
        ? { cookie }
        : { cookie, [csrf.headerName]: csrfToken };
  return {
    token,
    session,
    cookie,
    authorization,
    headers,
    csrfToken,
    socketAuth: { token },
    connectionParams: { authorization },
  };
}

/**
 * Ends a session as a logout does (`SessionService.destroy`: `session.destroyed` emitted, its
 * sockets and streams closed). True if it was live.
 */
export async function signOutForTest(app: SessionTestApp, signedIn: TestSignIn | string): Promise<boolean> {
  const { sessions } = moduleOf(app, 'signOutForTest');
  return sessions.destroy(typeof signedIn === 'string' ? signedIn : signedIn.token);
}

/** The module's providers the helpers use, or an error that says what is missing. */
function moduleOf(app: SessionTestApp, caller: string) {
  let config: ResolvedSessionOptions;
  let sessions: SessionService;
  let csrf: SessionCsrf;
  let redis: SessionRedis;
  try {
    config = app.get(RESOLVED_SESSION_OPTIONS, { strict: false }) as ResolvedSessionOptions;
    sessions = app.get(SessionService, { strict: false }) as SessionService;
    csrf = app.get(SessionCsrf, { strict: false }) as SessionCsrf;
    redis = app.get(SessionRedis, { strict: false }) as SessionRedis;
  } catch (err) {
    throw new Error(
      `${caller}: no SessionModule in this app (import SessionModule.forRoot(...) into the module under test): ` +
        (err instanceof Error ? err.message : String(err)),
      { cause: err },
    );
  }
  if (config.problems.length > 0) {
    throw new Error(`${caller}: SessionModule has invalid options:\n  - ${config.problems.join('\n  - ')}`);
  }
  // The connection opens in onModuleInit.
  if (redis.client === undefined) {
    throw new Error(`${caller}: the app is not initialised yet: await app.init() (or app.listen(), moduleRef.init()) first`);
  }
  return { config, sessions, csrf };
}
