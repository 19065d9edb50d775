import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { SessionModule } from '../../src/index.js';
import { UsersModule, UsersService } from './users.js';

@Module({
  imports: [
    ConfigModule.forRoot(),
    SessionModule.forRootAsync({
      imports: [ConfigModule, UsersModule],
      inject: [ConfigService, UsersService],
      useFactory: (config: ConfigService, users: UsersService) => ({
        redis: { url: config.getOrThrow<string>('REDIS_URL') },
        // Environment values are strings: convert them (a string fails the boot with a message).
        ttl: Number(config.get('SESSION_TTL', 1800)),
        validateCredentials: (credentials) => users.verify(credentials),
      }),
      isGlobal: true,
      globalGuard: false,
    }),
  ],
})
export class ConfigAppModule {}
