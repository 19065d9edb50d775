import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import type { LoggerService } from '@nestjs/common';
import request from 'supertest';
import { SessionModule } from '../src/index.js';
import { ADAPTERS, createTestApp } from './support/app.js';
import { sessionCookie, setCookies } from './support/http.js';
import { testRedisUrl, uniquePrefix } from './support/redis.js';

describe('cookie.hostPrefix (__Host- preset)', () => {
  it.each(ADAPTERS)('names the cookie __Host-sid, Secure, Path=/ and no Domain; the guard reads it (%s)', async (adapter) => {
    const t = await createTestApp({ cookie: { hostPrefix: true } }, [], { adapter });
    try {
      const http = t.app.getHttpServer();
      const res = await request(http).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
      const [cookie] = setCookies(res);
      expect(cookie).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43}\.[0-9a-z]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
      const pair = sessionCookie(res, '__Host-sid');
      expect((await request(http).get('/me').set('Cookie', pair)).status).toBe(200);
      expect((await request(http).get('/me').set('Cookie', pair.replace('__Host-sid', 'sid'))).status).toBe(401);
      const out = await request(http).post('/auth/logout').set('Cookie', pair);
      expect(setCookies(out)[0]).toMatch(/^__Host-sid=; Path=\/; HttpOnly; Secure; SameSite=Lax; Max-Age=0/);
    } finally {
      await t.close();
    }
  });

  // Checked when the module boots, before any HTTP platform is involved: one platform is enough.
  it.each([
    [{ hostPrefix: true, domain: 'example.com' }, /cannot have a Domain/],
    [{ hostPrefix: true, secure: false }, /must be Secure/],
    [{ hostPrefix: true, path: '/app' }, /must have Path=\//],
    [{ name: '__Host-sid', domain: 'example.com' }, /cannot have a Domain/],
    [{ name: '__Secure-sid', secure: false }, /`__Secure-` cookie must be Secure/],
  ])('refuses a prefix the browser would reject: %j', async (cookie, message) => {
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ redis: { url: testRedisUrl() }, keyPrefix: uniquePrefix('preset'), cookie })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await expect(app.init()).rejects.toThrow(message);
    await app.close().catch(() => undefined);
  });
});

describe('startup lint', () => {
  it("warns through Nest's Logger about weak settings, once at boot", async () => {
    const warnings: string[] = [];
    const capture: LoggerService = {
      log: () => undefined,
      error: () => undefined,
      warn: (message: unknown) => void warnings.push(String(message)),
    };
    const moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRoot({
          redis: { url: testRedisUrl() },
          keyPrefix: uniquePrefix('lint'),
          csrf: false,
          loginThrottle: false,
          cookie: { sameSite: 'none', domain: 'example.com' },
        }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication();
    app.useLogger(capture);
    await app.init();
    try {
      expect(warnings.join('\n')).toMatch(/csrf is off/);
      expect(warnings.join('\n')).toMatch(/loginThrottle is off/);
      expect(warnings.join('\n')).toMatch(/sameSite is "none"/);
      expect(warnings.join('\n')).toMatch(/every subdomain/);
    } finally {
      await app.close();
    }
  });
});
