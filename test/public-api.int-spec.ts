import { describe, expect, it } from '@jest/globals';
import * as api from '../src/index.js';
import { createServiceHarness } from './support/service.js';
import { uniquePrefix } from './support/redis.js';

describe('public API', () => {
  it('exports every runtime name of the contract from the package entry', () => {
    for (const name of [
      'SessionModule',
      'SessionService',
      'SessionGuard',
      'AuthController',
      'Public',
      'Roles',
      'CurrentSession',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name]).toBe('function');
    }
    expect(typeof api.SessionModule.forRoot).toBe('function');
    expect(typeof api.SessionModule.forRootAsync).toBe('function');
  });

  it("writes under the contract's default prefix 'session:' with the default TTLs", async () => {
    // The default prefix, but a user id no other test uses: this test still owns its keys.
    const h = await createServiceHarness({ keyPrefix: undefined });
    const userId = uniquePrefix('default-user');
    try {
      const { token, session } = await h.service.create({ id: userId });
      const pttl = await h.redis.pttl(`session:${session.id}`);
      expect(pttl).toBeGreaterThan(1799_000);
      expect(pttl).toBeLessThanOrEqual(1800_000);
      expect(await h.redis.zscore(`session:user:${userId}`, session.id)).not.toBeNull();
      expect(session.absoluteExpiresAt.getTime() - session.createdAt.getTime()).toBe(43200_000);
      expect(await h.service.destroy(token)).toBe(true);
      expect(await h.redis.exists(`session:${session.id}`, `session:user:${userId}`)).toBe(0);
    } finally {
      await h.close();
    }
  });
});
