import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthController } from './auth/controller.js';
import { SessionGuard } from './http/guard.js';
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
        // useExisting: the global guard is the same instance the module exports.
        if (extras.globalGuard) providers.push({ provide: APP_GUARD, useExisting: SessionGuard });
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
