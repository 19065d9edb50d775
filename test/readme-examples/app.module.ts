// app.module.ts
import { Module } from '@nestjs/common';
import { SessionModule } from '../../src/index.js';

@Module({
  imports: [
    SessionModule.forRoot({
      redis: { url: process.env.REDIS_URL ?? 'redis://localhost:6379' },
      ttl: 1800, // idle timeout, seconds
      absoluteTtl: 43200, // lifetime from login, seconds
      // Look credentials.username up and verify credentials.password against its hash (argon2id,
      // bcrypt...). Return the user WITHOUT the hash, e.g. { id: 42, username, role: 'admin' }, or
      // null: the same answer for "no such user" and "wrong password", in the same time.
      validateCredentials: () => Promise.resolve(null), // yours: until then, every login is a 401
    }),
  ],
})
export class AppModule {}
