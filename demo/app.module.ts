import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SessionHealthIndicator } from '../src/health/index.js';
import { SessionModule, type SessionModuleFactoryOptions } from '../src/index.js';
import { DemoController, LiveGateway } from './demo.controller.js';
import { HealthController } from './health.controller.js';
import { LoginPageController } from './login-page.controller.js';
import { MetricsController } from './metrics.controller.js';
import { DemoUsers, type DemoAccount } from './users.js';

export interface DemoAppOptions {
  /** Where sessions live, e.g. `redis://127.0.0.1:6380`. */
  redisUrl: string;
  /** The accounts that can log in; their passwords are hashed (argon2id) during boot. */
  accounts: readonly DemoAccount[];
  /** Prefix of the session keys; the module's default (`session:`) when unset. */
  keyPrefix?: string;
  /** The cookie's `Secure` attribute; default `true` (browsers honour it on http://localhost too). */
  cookieSecure?: boolean;
}

/**
 * The demo app: the login page, `/live` (a socket.io connection that ends with its session),
 * `/me`, `/admin`, `/health`, `/metrics`, and the module's `/auth` routes.
 */
@Module({})
export class AppModule {
  static forRoot(options: DemoAppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SessionModule.forRootAsync({
          // Async so the hashing happens inside Nest's boot, and a failure fails app.init().
          useFactory: async (): Promise<SessionModuleFactoryOptions> => {
            const users = await DemoUsers.create(options.accounts);
            return {
              redis: { url: options.redisUrl },
              ...(options.keyPrefix !== undefined && { keyPrefix: options.keyPrefix }),
              cookie: { secure: options.cookieSecure ?? true },
              validateCredentials: users.validateCredentials,
              metrics: true,
            };
          },
        }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [LoginPageController, DemoController, HealthController, MetricsController],
      providers: [SessionHealthIndicator, LiveGateway],
    };
  }
}
