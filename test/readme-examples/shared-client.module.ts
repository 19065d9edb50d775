import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { SessionModule } from '../../src/index.js';
import { UsersModule, UsersService } from './users.js';

/** Yours: the app's own Redis client, shared with other modules. */
export const REDIS = Symbol('REDIS');

@Module({
  providers: [{ provide: REDIS, useFactory: () => new Redis(process.env.REDIS_URL ?? 'redis://localhost:6379') }],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly client: Redis) {}

  onApplicationShutdown(): void {
    this.client.disconnect();
  }
}

@Module({
  imports: [
    SessionModule.forRootAsync({
      imports: [RedisModule, UsersModule],
      inject: [REDIS, UsersService],
      useFactory: (client: Redis, users: UsersService) => ({
        // Never closed by the module. Its calls are bounded by redisTimeoutMs (503 after 1 s)
        // whatever the client's commandTimeout, so a shared client keeps its blocking commands.
        redis: { client },
        validateCredentials: (credentials) => users.verify(credentials),
      }),
    }),
  ],
})
export class SharedClientAppModule {}
