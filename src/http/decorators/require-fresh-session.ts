import { SetMetadata } from '@nestjs/common';
import { FRESH_SESSION_KEY } from '../metadata.js';

/**
 * Sensitive actions (changing the password or e-mail, payments, deleting the account) need
 * a recent login (ASVS 3.7.1): `SessionGuard` answers 403 `Recent login required` when the
 * session's login (`createdAt`; a `rotate()` keeps it) is older than `maxAgeSeconds`. The
 * client then asks for the password again and logs in, which issues a fresh session.
 *
 * ```ts
 * @UseGuards(SessionGuard)
 * @RequireFreshSession(300)
 * @Post('account/email')
 * changeEmail() {}
 * ```
 */
export const RequireFreshSession = (maxAgeSeconds: number): MethodDecorator & ClassDecorator => {
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds <= 0) {
    throw new TypeError(`@RequireFreshSession(maxAgeSeconds): a whole number of seconds > 0 (got ${String(maxAgeSeconds)})`);
  }
  return SetMetadata(FRESH_SESSION_KEY, maxAgeSeconds * 1000);
};
