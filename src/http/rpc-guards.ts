import { Injectable, Logger, type CanActivate, type Type } from '@nestjs/common';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { SessionGlobalGuard } from './global-guard.js';
import { SessionGuard } from './guard.js';
import { FRESH_SESSION_KEY, IS_PUBLIC_KEY, ROLES_KEY } from './metadata.js';

/** What `@MessagePattern()` and `@EventPattern()` set (`@nestjs/microservices`, not a dependency of the module). */
const PATTERN_METADATA = 'microservices:pattern';
/** What `@UseGuards()` sets (`@nestjs/common`'s `GUARDS_METADATA`). */
const GUARDS_METADATA = '__guards__';

/**
 * The guard instances attached here, process-wide: a second app built from the same controller
 * classes (tests, a second `NestFactory.create`) replaces the first one's instead of stacking.
 */
const attached = new WeakSet<object>();

type GuardEntry = CanActivate | Type<CanActivate>;

/**
 * With `globalGuard: true`, puts the global guard itself in the `@UseGuards()` of every
 * microservice handler (`@MessagePattern`/`@EventPattern`) that asks for `@Roles()` or
 * `@RequireFreshSession()` and has no `SessionGuard` of its own or its class's, so such a
 * handler is refused whatever the app does. A hybrid app's `connectMicroservice()` without
 * `{ inheritAppConfig: true }` runs no global guard at all (Nest gives the microservice an empty
 * config), and it reads each handler's guards when it is called, before `app.init()`: so this
 * runs when the provider is built (`NestFactory.create`, `Test...compile()`). The instance goes
 * in, not the class: Nest uses an object with `canActivate` as it is, while a class would be
 * looked up among the controller's module's providers and dropped when it is not one.
 */
@Injectable()
export class SessionRpcGuards {
  /** `Controller.method` of each handler given the guard, for the boot log and tests. */
  readonly guarded: readonly string[];

  constructor(guard: SessionGlobalGuard, modules: ModulesContainer, reflector: Reflector) {
    const guarded: string[] = [];
    const scanner = new MetadataScanner();
    for (const module of modules.values()) {
      for (const { metatype } of module.controllers.values()) {
        const prototype = (metatype as { prototype?: Record<string, unknown> } | null)?.prototype;
        if (!metatype || !prototype) continue;
        for (const name of scanner.getAllMethodNames(prototype)) {
          const handler = prototype[name];
          if (typeof handler !== 'function' || reflector.get(PATTERN_METADATA, handler) === undefined) continue;
          if (!asksForSession(reflector, handler, metatype)) continue;
          const own = (reflector.get<GuardEntry[] | undefined>(GUARDS_METADATA, handler) ?? []).filter(
            (entry) => !attached.has(entry),
          );
          const ofClass = reflector.get<GuardEntry[] | undefined>(GUARDS_METADATA, metatype) ?? [];
          if ([...own, ...ofClass].some(isSessionGuard)) continue;
          Reflect.defineMetadata(GUARDS_METADATA, [...own, guard], handler);
          guarded.push(`${metatype.name}.${name}`);
        }
      }
    }
    attached.add(guard);
    this.guarded = guarded;
    if (guarded.length === 0) return;
    new Logger('SessionModule').warn(
      `globalGuard: ${guarded.join(', ')} (microservice handlers with @Roles() or @RequireFreshSession(); no ` +
        'session travels with a message) carry the session guard themselves, so they are refused even where Nest ' +
        'runs no global guard. Connect microservices with app.connectMicroservice(options, { inheritAppConfig: true }): ' +
        'without it no global guard, pipe, interceptor or filter runs on their handlers.',
    );
  }
}

/** `@Roles()` or `@RequireFreshSession()` on the handler or its class, and no `@Public()`. */
function asksForSession(reflector: Reflector, handler: object, controller: object): boolean {
  const targets = [handler, controller] as Array<() => unknown>;
  if (reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, targets) === true) return false;
  const roles = reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, targets);
  return (roles !== undefined && roles.length > 0) || reflector.getAllAndOverride(FRESH_SESSION_KEY, targets) !== undefined;
}

/** `SessionGuard`, a subclass, or an instance of either: the handler already asks for a session. */
function isSessionGuard(entry: GuardEntry): boolean {
  if (typeof entry === 'function') return entry === SessionGuard || entry.prototype instanceof SessionGuard;
  return entry instanceof SessionGuard;
}
