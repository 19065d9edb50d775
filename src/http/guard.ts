import {
  ForbiddenException,
  Inject,
  Logger,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SessionLive } from '../core/live.js';
import { SessionService } from '../core/service.js';
import type { Session } from '../core/types.js';
import { SessionMetrics, type GuardResult } from '../integrations/metrics/metrics.js';
import { asWsException } from '../integrations/websockets/ws-exception.js';
import { SessionBinding } from './binding.js';
import { graphqlSocketOf, httpRequestOf, httpResponseOf, sessionHolderOf } from './context.js';
import { SessionCsrf } from './csrf.js';
import { FRESH_SESSION_KEY, IS_PUBLIC_KEY, NO_SLIDE_KEY, ROLES_KEY, SESSION_REQUEST_KEY } from './metadata.js';
import { setResponseHeader, type HttpRequestLike } from './request.js';
import { socketRequestOf } from './socket-request.js';
import { endSocketWithSession } from './socket-watch.js';
import { SessionTransport, type TokenLookup } from './transport.js';

interface RouteRules {
  isPublic: boolean;
  roles: readonly string[] | undefined;
  /** `@RequireFreshSession()`: the oldest login (ms) the route accepts. */
  freshWithinMs: number | undefined;
  /** `@NoSlide()`: validate without extending the idle timeout. */
  slide: boolean;
}

/** A request the guard has seen: it carries the validated session under `SESSION_REQUEST_KEY`. */
export type GuardedRequest = HttpRequestLike & { [SESSION_REQUEST_KEY]?: Session };

/**
 * Validates the session token and slides its idle TTL in one Redis command.
 * 401 without a valid session, 403 when `@Roles()` excludes its role or a
 * state-changing request with the session cookie looks cross-site (CSRF), 503 when
 * Redis cannot answer (never a 401 that would log users out during a blip).
 *
 * Subclass it to change behaviour through its protected hooks: `getRequest` (where the
 * request comes from), `extractToken` (where the token comes from), `onUnauthenticated`
 * (what a refusal does, e.g. a redirect instead of a 401) and `hasRole`.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  /** Route metadata does not change after boot: read it once per handler. */
  private readonly rules = new WeakMap<object, WeakMap<object, RouteRules>>();
  // A property, not a constructor parameter: subclasses that call super(...) keep compiling.
  @Inject(SessionLive) private readonly live!: SessionLive;
  @Inject(SessionBinding) private readonly binding!: SessionBinding;

  constructor(
    protected readonly sessions: SessionService,
    protected readonly transport: SessionTransport,
    protected readonly reflector: Reflector,
    protected readonly csrf: SessionCsrf,
    protected readonly metrics: SessionMetrics,
  ) {}

  // Not async itself: the common path hands back check()'s promise with no extra await.
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const rules = this.routeRules(context);
    if (rules.isPublic) return true;
    const type = context.getType<string>();
    if (type !== 'http' && !this.canAuthenticate(context, type)) {
      // A resolver or a gateway is user-facing: without a request to read it is refused (a
      // global guard must not wave it through), and the boot log says what to change.
      if (type === 'graphql' || type === 'ws') return this.refuseUnreadable(context, type);
      return this.onUnsupportedContext(context, rules.roles !== undefined || rules.freshWithinMs !== undefined);
    }
    if (!this.metrics.enabled) return this.check(context, rules, type);
    return this.checkMeasured(context, rules, type);
  }

  private async checkMeasured(context: ExecutionContext, rules: RouteRules, type: string): Promise<boolean> {
    const startedAt = performance.now();
    try {
      const allowed = await this.check(context, rules, type);
      this.metrics.guard('ok', startedAt);
      return allowed;
    } catch (err) {
      this.metrics.guard(guardResult(err), startedAt);
      throw err;
    }
  }

  /** `type` is the context's, read once by `canActivate`. */
  private async check(context: ExecutionContext, rules: RouteRules, type: string): Promise<boolean> {
    const request = this.getRequest(context);
    // Already validated for this request (global guard plus @UseGuards): no second round-trip.
    let session = request[SESSION_REQUEST_KEY];
    if (!session) {
      const lookup = this.extractToken(request, context);
      if (lookup.token === null) {
        return this.onUnauthenticated(
          context,
          new UnauthorizedException(lookup.ambiguous ? 'Ambiguous session cookies' : 'Authentication required'),
        );
      }
      // Refused before Redis is asked: a forged request costs no round-trip.
      if (lookup.fromCookie) {
        const refusal = this.csrf.refusal(request, lookup.token);
        if (refusal) return this.onUnauthenticated(context, refusal);
        // A WebSocket's handshake is a GET, yet a cross-site page opening it with the cookie is
        // cross-site WebSocket hijacking: its origin is checked at every message and operation.
        if (overWebSocket(context) && !this.csrf.allowsOrigin(request)) {
          return this.onUnauthenticated(context, new ForbiddenException('Cross-site request refused'));
        }
      }
      const found = rules.slide ? await this.sessions.touch(lookup.token) : await this.sessions.get(lookup.token);
      if (!found) return this.onUnauthenticated(context, new UnauthorizedException('Invalid or expired session'));
      session = found;
      // Compared with what was just read: no Redis command unless an enforced field differs.
      if (this.binding.enabled) {
        const allowed = this.binding.allows(session, request, lookup.token);
        if (allowed !== true && !(await allowed)) {
          return this.onUnauthenticated(context, new UnauthorizedException('Session binding mismatch'));
        }
      }
      request[SESSION_REQUEST_KEY] = session;
      if (type !== 'http') this.keepOnSocket(context, session);
    }
    if (rules.roles && !this.hasRole(session, rules.roles)) {
      return this.onUnauthenticated(context, new ForbiddenException('Insufficient role'));
    }
    if (rules.freshWithinMs !== undefined && Date.now() - session.createdAt.getTime() > rules.freshWithinMs) {
      return this.onUnauthenticated(context, new ForbiddenException('Recent login required'));
    }
    return true;
  }

  /**
   * The request to authenticate: a REST route's, the HTTP request a GraphQL operation came in
   * (Apollo, Mercurius), or a socket's handshake for a gateway message (socket.io; a `ws`
   * socket once `SessionSockets.authenticate` kept its upgrade request). Override for a
   * context whose request lives elsewhere.
   */
  protected getRequest(context: ExecutionContext): GuardedRequest {
    const type = context.getType<string>();
    if (type === 'ws') return socketRequestOf(context.switchToWs().getClient()) as GuardedRequest;
    if (type === 'graphql') return (graphqlSocketOf(context)?.request ?? httpRequestOf(context)) as GuardedRequest;
    return httpRequestOf(context) as GuardedRequest;
  }

  /**
   * A gateway message: `@CurrentSession` reads the session from the socket (each message
   * replaces it). An operation over graphql-ws: from its GraphQL context; and since a
   * subscription goes on pushing without asking again, the connection is closed (4401) when the
   * session ends, on any instance.
   */
  private keepOnSocket(context: ExecutionContext, session: Session): void {
    const holder = sessionHolderOf(context) as GuardedRequest | undefined;
    if (holder) holder[SESSION_REQUEST_KEY] = session;
    if (context.getType<string>() !== 'graphql') return;
    const socket = graphqlSocketOf(context)?.socket;
    if (socket) endSocketWithSession(this.live, socket, session);
  }

  /** Whether a GraphQL or gateway context carries what the guard needs (an HTTP request, a handshake). */
  private canAuthenticate(context: ExecutionContext, type: string): boolean {
    if (type === 'graphql') return httpRequestOf(context) !== undefined;
    if (type === 'ws') return socketRequestOf(context.switchToWs().getClient()) !== undefined;
    return false;
  }

  private refuseUnreadable(context: ExecutionContext, type: 'graphql' | 'ws'): boolean {
    if (!unreadableWarned.has(type)) {
      unreadableWarned.add(type);
      new Logger('SessionModule').warn(
        type === 'ws'
          ? 'SessionGuard refused a gateway message: its socket kept no handshake. With @nestjs/platform-ws, call ' +
              'SessionSockets.authenticate(client, request) in handleConnection (request is its second argument).'
          : 'SessionGuard refused a GraphQL operation: its context holds no request. A custom `context` function must ' +
              'hand it on: context: ({ req, res, extra, connectionParams }) => ({ req, res, extra, connectionParams }).',
      );
    }
    return this.onUnauthenticated(context, new UnauthorizedException('Authentication required'));
  }

  /** The token the request carries, per `transport`. Override to read it from somewhere else. */
  protected extractToken(request: GuardedRequest, _context: ExecutionContext): TokenLookup {
    return this.transport.extract(request);
  }

  /**
   * What a refusal does: by default the 401/403 is thrown with `Cache-Control: no-store` (an
   * answer that depends on the request's credentials must never be cached and served to
   * someone else). Override to redirect, or return `false` for Nest's own 403; a CSRF
   * refusal and a missing role come here too (403s).
   */
  protected onUnauthenticated(context: ExecutionContext, exception: UnauthorizedException | ForbiddenException): boolean {
    const response = httpResponseOf(context);
    if (response) setResponseHeader(response, 'Cache-Control', 'no-store');
    if (context.getType<string>() === 'ws') {
      // Nest's gateway exception filter answers anything but a WsException with "Internal server error".
      throw asWsException(exception.getStatus(), exception.message);
    }
    if (context.getType<string>() === 'graphql') {
      // GraphQL's own error codes: graphql-js copies an error's `extensions` into the response
      // (Mercurius adds none of its own; Apollo maps 401/403 to the same codes).
      Object.assign(exception, {
        extensions: { code: exception instanceof UnauthorizedException ? 'UNAUTHENTICATED' : 'FORBIDDEN' },
      });
    }
    throw exception;
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

  private routeRules(context: ExecutionContext): RouteRules {
    const controller = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.rules.get(controller);
    if (!byHandler) this.rules.set(controller, (byHandler = new WeakMap()));
    let rules = byHandler.get(handler);
    if (!rules) {
      const targets = [handler, controller];
      const roles = this.reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, targets);
      rules = {
        isPublic: this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, targets) === true,
        roles: roles && roles.length > 0 ? roles : undefined,
        freshWithinMs: this.reflector.getAllAndOverride<number | undefined>(FRESH_SESSION_KEY, targets),
        slide: this.reflector.getAllAndOverride<boolean | undefined>(NO_SLIDE_KEY, targets) !== true,
      };
      byHandler.set(handler, rules);
    }
    return rules;
  }
}

/** Each hint is logged once per process: a misconfigured gateway would otherwise log at every message. */
const unreadableWarned = new Set<string>();

function overWebSocket(context: ExecutionContext): boolean {
  const type = context.getType<string>();
  return type === 'ws' || (type === 'graphql' && graphqlSocketOf(context) !== undefined);
}

function guardResult(err: unknown): GuardResult {
  if (err instanceof UnauthorizedException) return 'unauthorized';
  if (err instanceof ForbiddenException) return 'forbidden';
  return 'unavailable';
}
