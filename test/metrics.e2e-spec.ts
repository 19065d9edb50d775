import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import request from 'supertest';
import { ADAPTERS, createTestApp } from './support/app.js';
import { sessionCookie } from './support/http.js';
import { spawnRedisServer } from './support/redis.js';

const value = (text: string, line: string) => {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
};

describe.each(ADAPTERS)('Prometheus metrics (metrics option, prom-client) (%s)', (adapter) => {
  it('counts guard checks, logins, revocations and Redis errors, with timings', async () => {
    const registry = new Registry();
    const redis = await spawnRedisServer();
    const t = await createTestApp({ redis: { url: redis.url }, metrics: { registry, prefix: 'test_session_' } }, [], { adapter });
    try {
      const http = t.app.getHttpServer();
      const login = await request(http).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
      await request(http).post('/auth/login').send({ username: 'alice', password: 'wrong' });
      const cookie = sessionCookie(login);
      for (let i = 0; i < 3; i++) await request(http).get('/me').set('Cookie', cookie);
      await request(http).get('/me');
      await request(http)
        .get('/admin')
        .set(
          'Cookie',
          sessionCookie(await request(http).post('/auth/login').send({ username: 'bob', password: 'bob-password' })),
        );
      await request(http).post('/auth/logout-all').set('Cookie', cookie);
      redis.signal('SIGSTOP');
      try {
        expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(503);
      } finally {
        redis.signal('SIGCONT');
      }

      const text = await registry.metrics();
      expect(value(text, 'test_session_logins_total{result="success"}')).toBe(2);
      expect(value(text, 'test_session_logins_total{result="failure"}')).toBe(1);
      // 3 ok /me + logout-all's guard; /me without a cookie; bob on /admin; the 503.
      expect(value(text, 'test_session_guard_checks_total{result="ok"}')).toBe(4);
      expect(value(text, 'test_session_guard_checks_total{result="unauthorized"}')).toBe(1);
      expect(value(text, 'test_session_guard_checks_total{result="forbidden"}')).toBe(1);
      expect(value(text, 'test_session_guard_checks_total{result="unavailable"}')).toBe(1);
      expect(value(text, 'test_session_guard_duration_seconds_count{result="ok"}')).toBe(4);
      expect(value(text, 'test_session_login_duration_seconds_count{result="success"}')).toBe(2);
      expect(value(text, 'test_session_revocations_total{reason="revoke-all"}')).toBe(1);
      expect(value(text, 'test_session_redis_errors_total')).toBeGreaterThanOrEqual(1);
    } finally {
      await t.close();
      await redis.stop();
    }
  });

  it('is off by default: nothing is registered', async () => {
    const { register } = await import('prom-client');
    const t = await createTestApp({}, [], { adapter });
    try {
      await request(t.app.getHttpServer()).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
      expect(register.getSingleMetric('session_logins_total')).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
