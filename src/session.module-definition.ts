import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthController } from './auth/controller.js';
import { SessionGlobalGuard } from './http/global-guard.js';
import { SessionRpcGuards } from './http/rpc-guards.js';
import { SESSION_DEFAULTS } from './options/defaults.js';
import type { SessionModuleExtras, SessionModuleFactoryOptions } from './options/types.js';

/** Whether `AuthController` is registered (the module's middleware only applies to its routes). */
export const SESSION_CONTROLLER_ENABLED = Symbol('nestjs-redis-session:controller-enabled');

/**
 * `forRoot(options)` / `forRootAsync({ imports, inject, useFactory, ... })`.
 * `controller`, `globalGuard` and `isGlobal` shape the module itself, so they sit
 * next to `useFactory` in `forRootAsync` rather than in what the factory returns.
 */
export const { ConfigurableModuleClass: SessionConfigurableModule, MODULE_OPTIONS_TOKEN: SESSION_MODULE_OPTIONS } =
  new ConfigurableModuleBuilder<SessionModuleFactoryOptions>({ moduleName: 'Session' })
    .setClassMethodName('forRoot')
    .setExtras<SessionModuleExtras>(
      { controller: SESSION_DEFAULTS.controller, globalGuard: SESSION_DEFAULTS.globalGuard, isGlobal: SESSION_DEFAULTS.isGlobal },
      (definition, extras) => {
        const providers: Provider[] = [...(definition.providers ?? [])];
        // A class of its own: it lets through the handlers no session can reach (RPC), which
        // an explicit @UseGuards(SessionGuard) refuses. SessionRpcGuards gives it to the RPC
        // handlers that need a session, since a microservice may run no global guard.
        if (extras.globalGuard)
          providers.push(SessionGlobalGuard, { provide: APP_GUARD, useExisting: SessionGlobalGuard }, SessionRpcGuards);
        providers.push({ provide: SESSION_CONTROLLER_ENABLED, useValue: extras.controller !== false });
        return {
          ...definition,
          global: extras.isGlobal,
          controllers: extras.controller === false ? [] : [AuthController],
          providers,
        };
      },
    )
    .build();
