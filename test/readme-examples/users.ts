import { Injectable, Module } from '@nestjs/common';
import type { SessionCredentials, SessionUser } from '../../src/index.js';

/** Yours: the examples of the README and the guides call it. This one knows one user, for the tests. */
@Injectable()
export class UsersService {
  /** The user without the password hash, or null; the same answer for "no such user" and "wrong password". */
  async verify({ username, password }: SessionCredentials): Promise<SessionUser | null> {
    return username === 'ann' && password === 'ann-password' ? { id: 1, username, role: 'user' } : null;
  }
}

@Module({ providers: [UsersService], exports: [UsersService] })
export class UsersModule {}
