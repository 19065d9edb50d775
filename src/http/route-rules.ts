import type { ExecutionContext, Type } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { FRESH_SESSION_KEY, IS_PUBLIC_KEY, NO_SLIDE_KEY, ROLES_KEY } from './metadata.js';

/** What a handler's decorators ask of the guard. */
export interface RouteRules {
  /** `@Public()`: no session needed. */
  isPublic: boolean;
  /** `@Roles(...)`: the roles allowed; undefined for any. */
  roles: readonly string[] | undefined;
  /** `@RequireFreshSession()`: the oldest login (ms) the route accepts. */
  freshWithinMs: number | undefined;
  /** False under `@NoSlide()`: validate without extending the idle timeout. */
  slide: boolean;
}

/**
 * The rules of each handler, read from its metadata (handler first, then its class) the first
 * time it runs: metadata does not change after boot, so later calls cost two WeakMap lookups,
 * or none for the handler of the call before (a busy socket's messages, a hot route).
 */
export class RouteRulesCache {
  private readonly byClass = new WeakMap<object, WeakMap<object, RouteRules>>();
  // The call before's handler and rules: three fields, so a miss allocates nothing.
  private lastController: unknown;
  private lastHandler: unknown;
  private lastRules: RouteRules | undefined;

  constructor(private readonly reflector: Reflector) {}

  of(context: ExecutionContext): RouteRules {
    const controller = context.getClass();
    const handler = context.getHandler();
    if (handler === this.lastHandler && controller === this.lastController) return this.lastRules!;
    const rules = this.read(controller, handler);
    this.lastController = controller;
    this.lastHandler = handler;
    this.lastRules = rules;
    return rules;
  }

  private read(controller: Type, handler: ReturnType<ExecutionContext['getHandler']>): RouteRules {
    let byHandler = this.byClass.get(controller);
    if (!byHandler) this.byClass.set(controller, (byHandler = new WeakMap()));
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
