import {
  ForbiddenException,
  HttpException,
  Inject,
  Injectable,
  Logger,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SessionCounters, type GuardResult, type Measured } from '../core/counters.js';
import { RETRY_AFTER_SECONDS, SessionStoreUnavailableException } from '../core/errors.js';
import { SessionLive } from '../core/live.js';
import { SessionRefusalCode as Code } from '../core/refusal-codes.js';
import { SessionService } from '../core/service.js';
import type { Session } from '../core/types.js';
import { authenticateMode, isRefusal, SessionAuthenticator, type Authentication } from './authenticate.js';
import { contextAdapterOf, type ContextAdapter } from './contexts/index.js';
import { SessionCsrf } from './csrf.js';
import { SESSION_REQUEST_KEY } from './metadata.js';
import { refusal, type Refusal } from './refusals.js';
import { setResponseHeader, type HttpRequestLike } from './request.js';
import { RouteRulesCache, type RouteRules } from './route-rules.js';
import { SessionTransport, type TokenLookup } from './transport.js';

/** A request the guard has seen: it carries the validated session under `SESSION_REQUEST_KEY`. */
export type GuardedRequest = HttpRequestLike & { [SESSION_REQUEST_KEY]?: Session };

/**
 * Validates the session token and slides its idle TTL in one Redis command.
 * 401 without a valid session, 403 when `@Roles()` excludes its role or a
 * state-changing request with the session cookie looks cross-site (CSRF), 503 when
 * Redis cannot answer (never a 401 that would log users out during a blip).
 *
 * REST routes, GraphQL resolvers and gateway messages each have an adapter
 * (`contexts/`) that says where the request is and how a refusal reaches the client; the
 * steps themselves (`SessionAuthenticator`) are the same for all.
 *
 * Subclass it to change behaviour through its protected hooks: `getRequest` (where the
 * request comes from), `extractToken` (where the token comes from), `onUnauthenticated`
 * (what a refusal does, e.g. a redirect instead of a 401) and `hasRole`.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  // Properties, not constructor parameters: subclasses that call super(...) keep compiling.
  @Inject(SessionLive) private readonly live!: SessionLive;
  @Inject(SessionAuthenticator) private readonly authenticator!: SessionAuthenticator;
  private readonly rules: RouteRulesCache;

  constructor(
    /** The session API (`touch`, `get`, `revoke`...), for hooks that need more than the guard read. */
    protected readonly sessions: SessionService,
    /** Where the token travels (`transport` option): `extractToken`'s default. */
    protected readonly transport: SessionTransport,
    /** Nest's metadata reader, for hooks that read decorators of their own. */
    protected readonly reflector: Reflector,
    /** The CSRF and origin checks (`csrf` option). */
    protected readonly csrf: SessionCsrf,
    /** What the guard counts (`metrics` option); every method is a no-op with the metrics off. */
    protected readonly metrics: SessionCounters,
  ) {
    this.rules = new RouteRulesCache(reflector);
  }

  /**
   * Nest's guard entry point: true to let the handler run; throws (via `onUnauthenticated`) the
   * 401/403 otherwise, or the 503 when Redis cannot answer.
   */
  // Not async itself: the common path hands back check()'s promise with no extra await.
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const rules = this.rules.of(context);
    if (rules.isPublic) return true;
    const adapter = contextAdapterOf(context);
    const request = this.getRequest(context);
    if (!request) return this.onMissingRequest(context, adapter, rules);
    if (!this.metrics.enabled) return this.check(context, adapter, rules, request);
    return this.metrics.measure(GUARD_CHECK, () => this.check(context, adapter, rules, request));
  }

  /**
   * Synchronous when the session is known without I/O (a cache hit, or a second guard of the
   * same request): Nest's guard runner then takes the boolean as it is, with no promise to await.
   */
  private check(
    context: ExecutionContext,
    adapter: ContextAdapter,
    rules: RouteRules,
    request: GuardedRequest,
  ): boolean | Promise<boolean> {
    // Already validated for this request (global guard plus @UseGuards): no second round-trip.
    const known = request[SESSION_REQUEST_KEY];
    if (known) return this.authorize(context, rules, known);
    let result: Authentication;
    try {
      result = this.authenticateOnce(context, adapter, rules.slide, request);
    } catch (err) {
      throw this.unavailable(context, adapter, err);
    }
    if (!(result instanceof Promise)) return this.accept(context, adapter, rules, request, result);
    return result.then(
      (settled) => this.accept(context, adapter, rules, request, settled),
      (err: unknown) => {
        throw this.unavailable(context, adapter, err);
      },
    );
  }

  /** The authentication's answer: the refusal, or the session kept for the handler and checked against the route's rules. */
  private accept(
    context: ExecutionContext,
    adapter: ContextAdapter,
    rules: RouteRules,
    request: GuardedRequest,
    result: Session | Refusal,
  ): boolean {
    if (isRefusal(result)) return this.onUnauthenticated(context, result);
    request[SESSION_REQUEST_KEY] = result;
    adapter.keep(context, result, this.live);
    return this.authorize(context, rules, result);
  }

  /** `@Roles()` and `@RequireFreshSession()`. */
  private authorize(context: ExecutionContext, rules: RouteRules, session: Session): boolean {
    if (rules.roles && !this.hasRole(session, rules.roles)) {
      return this.onUnauthenticated(context, refusal(Code.ForbiddenRole));
    }
    if (rules.freshWithinMs !== undefined && Date.now() - session.createdAt.getTime() > rules.freshWithinMs) {
      return this.onUnauthenticated(context, refusal(Code.ReauthRequired));
    }
    return true;
  }

  /** One authentication per operation: the guards of one GraphQL query's fields share its one command. */
  private authenticateOnce(
    context: ExecutionContext,
    adapter: ContextAdapter,
    slide: boolean,
    request: GuardedRequest,
  ): Authentication {
    const operation = adapter.operation(context) as { [IN_FLIGHT]?: Authentication } | undefined;
    const inFlight = operation?.[IN_FLIGHT];
    if (inFlight) return inFlight;
    const mode = authenticateMode(adapter.cacheKind, adapter.alwaysChecksOrigin(context), slide);
    const started = this.authenticator.authenticate(request, this.extractToken(request, context), mode);
    if (operation) operation[IN_FLIGHT] = started;
    return started;
  }

  /** Redis could not answer: the 503 (with `Retry-After`) in the context's shape; never a refusal that would log the user out. */
  private unavailable(context: ExecutionContext, adapter: ContextAdapter, err: unknown): unknown {
    if (!(err instanceof SessionStoreUnavailableException)) return err;
    const response = adapter.response(context);
    if (response) setResponseHeader(response, 'Retry-After', String(RETRY_AFTER_SECONDS));
    return adapter.shape(err);
  }

  /**
   * The request to authenticate: a REST route's, the HTTP request a GraphQL operation came in
   * (Apollo, Mercurius) or its WebSocket's upgrade request (graphql-ws), or a socket's handshake
   * for a gateway message (socket.io; a `ws` socket once `SessionSockets.authenticate` kept its
   * upgrade request). Undefined when the context carries none (RPC). Override for a context
   * whose request lives elsewhere.
   */
  protected getRequest(context: ExecutionContext): GuardedRequest | undefined {
    return contextAdapterOf(context).request(context);
  }

  /** The token the request carries, per `transport`. Override to read it from somewhere else. */
  protected extractToken(request: GuardedRequest, _context: ExecutionContext): TokenLookup {
    return this.transport.extract(request);
  }

  /**
   * What a refusal does: by default the 401/403 is thrown with `Cache-Control: no-store` (an
   * answer that depends on the request's credentials must never be cached and served to
   * someone else), shaped for the context (a `WsException` for a gateway, `extensions.code`
   * for GraphQL). Override to redirect, or return `false` for Nest's own 403; a CSRF
   * refusal and a missing role come here too (403s).
   */
  protected onUnauthenticated(context: ExecutionContext, exception: UnauthorizedException | ForbiddenException): boolean {
    const adapter = contextAdapterOf(context);
    const response = adapter.response(context);
    if (response) setResponseHeader(response, 'Cache-Control', 'no-store');
    throw adapter.shape(exception);
  }

  /**
   * A call the guard cannot authenticate: no session travels with it (an RPC/microservice
   * message). `decorated` says whether the handler asks for `@Roles()` or
   * `@RequireFreshSession()`. Refused here (`@UseGuards(SessionGuard)` on such a handler
   * asks for a session it can never have); the global guard (`globalGuard: true`) lets
   * undecorated handlers through unchanged.
   */
  protected onUnsupportedContext(_context: ExecutionContext, _decorated: boolean): boolean {
    return false;
  }

  /** Whether the session may use a route restricted to `roles`. */
  protected hasRole(session: Session, roles: readonly string[]): boolean {
    return session.role !== null && roles.includes(session.role);
  }

  /**
   * No request to read. A resolver or a gateway is user-facing: refused (a global guard must not
   * wave it through), and the log says once what to change. A context that never carries a
   * session (RPC) is `onUnsupportedContext`'s to decide.
   */
  private onMissingRequest(context: ExecutionContext, adapter: ContextAdapter, rules: RouteRules): boolean {
    const hint = adapter.missingRequestHint;
    if (hint === undefined) {
      return this.onUnsupportedContext(context, rules.roles !== undefined || rules.freshWithinMs !== undefined);
    }
    if (!hintsLogged.has(hint)) {
      hintsLogged.add(hint);
      new Logger('SessionModule').warn(hint);
    }
    return this.onUnauthenticated(context, refusal(Code.Missing));
  }
}

/** Where an operation keeps its authentication in flight (`ContextAdapter.operation`). */
const IN_FLIGHT = Symbol('nestjs-redis-session:authenticating');

/** Each hint is logged once per process: a misconfigured gateway would otherwise log at every message. */
const hintsLogged = new Set<string>();

/** The guard's series in the metrics: `result` from how the check ended. */
const GUARD_CHECK: Measured = { series: 'guard', success: 'ok', failure: guardResult };

function guardResult(err: unknown): GuardResult {
  // A gateway's refusal is a WsException (not an HttpException) that carries the status as `code`.
  const status =
    err instanceof HttpException ? err.getStatus() : (err as { getError?: () => { code?: unknown } }).getError?.().code;
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  return 'unavailable';
}
