import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SessionRefusalCode as Code } from '../core/refusal-codes.js';
import { toSession } from '../core/session-view.js';
import { toStoredSession } from '../core/stored-user.js';
import { generateToken, sessionIdOf } from '../core/token.js';
import type { Session, SessionUser } from '../core/types.js';
import { contextAdapterOf } from '../http/contexts/index.js';
import { loadWsException } from '../http/contexts/gateway.js';
import { SESSION_REQUEST_KEY } from '../http/metadata.js';
import { refusal } from '../http/refusals.js';
import { RouteRulesCache } from '../http/route-rules.js';
import { SESSION_DEFAULTS } from '../options/defaults.js';

/**
 * A `Session` for `user` as a login with the default lifetimes would make it, without Redis:
 * for a handler called directly (`controller.me(sessionForTest(user))`) or for
 * `sessionGuardForTest`. The user is checked and its password keys dropped as at login;
 * `fields` overrides any field (an old `createdAt` for `@RequireFreshSession()`, an `ip`).
 */
export function sessionForTest(user: SessionUser, fields: Partial<Session> = {}): Session {
  const now = Date.now();
  const absoluteExpiresAt = now + SESSION_DEFAULTS.absoluteTtl * 1000;
  const stored = toStoredSession(user, undefined, now, absoluteExpiresAt, SESSION_DEFAULTS.maxDataBytes);
  const id = sessionIdOf(generateToken(absoluteExpiresAt));
  return { ...toSession(id, stored, now, now + SESSION_DEFAULTS.ttl * 1000), ...fields };
}

/**
 * A stand-in for `SessionGuard` in tests without Redis:
 * `Test.createTestingModule(...).overrideGuard(SessionGuard).useValue(sessionGuardForTest(session))`.
 * No token, no Redis, no CSRF: each call gets `session` (a function is asked anew each call,
 * so a test can switch users), kept where `@CurrentSession()` reads it (the request, a GraphQL
 * context, a socket); `null` is the 401 a client without a session gets. The route's
 * `@Public()`, `@Roles()` (the default `hasRole`: the role is one of them) and
 * `@RequireFreshSession()` apply as the guard applies them, with its 401 and 403 (the same
 * bodies and `reason` codes: `SESSION_MISSING`, `FORBIDDEN_ROLE`, `REAUTH_REQUIRED`).
 */
export function sessionGuardForTest(session: Session | null | (() => Session | null)): CanActivate {
  const rules = new RouteRulesCache(new Reflector());
  return {
    async canActivate(context: ExecutionContext): Promise<boolean> {
      const route = rules.of(context);
      if (route.isPublic) return true;
      // A gateway's refusal is a WsException (@nestjs/websockets, loaded once when installed).
      await loadWsException();
      const adapter = contextAdapterOf(context);
      const current = typeof session === 'function' ? session() : session;
      if (!current) throw adapter.shape(refusal(Code.Missing));
      const holder = adapter.holder(context) as { [SESSION_REQUEST_KEY]?: Session } | undefined;
      if (holder) holder[SESSION_REQUEST_KEY] = current;
      if (route.roles && (current.role === null || !route.roles.includes(current.role))) {
        throw adapter.shape(refusal(Code.ForbiddenRole));
      }
      if (route.freshWithinMs !== undefined && Date.now() - current.createdAt.getTime() > route.freshWithinMs) {
        throw adapter.shape(refusal(Code.ReauthRequired));
      }
      return true;
    },
  };
}
