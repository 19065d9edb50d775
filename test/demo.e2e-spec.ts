import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../demo/app.module.js';
import { demoAccounts, type DemoAccount } from '../demo/users.js';
import { testRedisUrl, uniquePrefix } from './support/redis.js';

describe('demo app', () => {
  let app: INestApplication;
  let server: ReturnType<INestApplication['getHttpServer']>;
  let accounts: DemoAccount[];
  const password = (username: string) => accounts.find((account) => account.username === username)!.password;

  const login = (username: string, pass: string) => request(server).post('/auth/login').send({ username, password: pass });

  /** Logs in and returns the session cookie to send back. */
  async function cookieFor(username: string): Promise<string[]> {
    const response = await login(username, password(username));
    expect(response.status).toBe(200);
    const cookie = response.headers['set-cookie'] as unknown as string[] | undefined;
    expect(cookie).toBeDefined();
    return cookie!.map((line) => line.split(';')[0]);
  }

  beforeAll(async () => {
    accounts = demoAccounts();
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot({ redisUrl: testRedisUrl(), keyPrefix: uniquePrefix('demo'), accounts })],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    server = app.getHttpServer();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('serves the login page with a tight Content-Security-Policy', async () => {
    const page = await request(server).get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toMatch(/<form id="login-form"[^>]*>/);
    expect(page.text).toContain('name="password" type="password"');

    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    // The hashes in the policy must match the inline blocks, or the browser runs nothing.
    for (const [directive, tag] of [
      ['script-src', 'script'],
      ['style-src', 'style'],
    ] as const) {
      const block = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(page.text);
      expect(block).not.toBeNull();
      const hash = createHash('sha256').update(block![1]).digest('base64');
      expect(csp).toContain(`${directive} 'sha256-${hash}'`);
    }
  });

  it('logs alice in; GET /me returns her session', async () => {
    const response = await login('alice', password('alice'));
    expect(response.status).toBe(200);
    expect(response.body.user).toEqual({ id: 1, username: 'alice', role: 'admin' });
    // The hash never leaves the user store.
    expect(JSON.stringify(response.body)).not.toMatch(/argon2|password/i);
    const setCookie = (response.headers['set-cookie'] as unknown as string[]).join('\n');
    expect(setCookie).toMatch(/^sid=.+; HttpOnly; Secure; SameSite=Lax/m);

    const cookie = (response.headers['set-cookie'] as unknown as string[]).map((line) => line.split(';')[0]);
    const me = await request(server).get('/me').set('Cookie', cookie);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: response.body.session.id, userId: 1, username: 'alice', role: 'admin' });
    expect(me.headers['cache-control']).toBe('no-store');
  });

  it('answers 401 on /me and /admin without a session', async () => {
    expect((await request(server).get('/me')).status).toBe(401);
    expect((await request(server).get('/admin')).status).toBe(401);
  });

  it('lets alice (admin) into /admin and keeps bob (user) out', async () => {
    const alice = await request(server)
      .get('/admin')
      .set('Cookie', await cookieFor('alice'));
    expect(alice.status).toBe(200);
    expect(alice.body).toMatchObject({ username: 'alice' });

    const bob = await request(server)
      .get('/admin')
      .set('Cookie', await cookieFor('bob'));
    expect(bob.status).toBe(403);
  });

  it('lists, revokes and logs out sessions through the /auth routes the page uses', async () => {
    const first = await cookieFor('bob');
    const second = await cookieFor('bob');
    const list = await request(server).get('/auth/sessions').set('Cookie', first);
    expect(list.status).toBe(200);
    const other = (list.body as Array<{ id: string; current: boolean }>).find((item) => !item.current);
    expect(other).toBeDefined();

    expect((await request(server).delete(`/auth/sessions/${other!.id}`).set('Cookie', first)).status).toBe(204);
    expect((await request(server).get('/me').set('Cookie', second)).status).toBe(401);

    expect((await request(server).post('/auth/logout-all').set('Cookie', first)).status).toBe(204);
    expect((await request(server).get('/me').set('Cookie', first)).status).toBe(401);
  });

  it("serves Prometheus metrics at /metrics, including the module's session_* series", async () => {
    await cookieFor('alice');
    const response = await request(server).get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.text).toMatch(/^session_logins_total\{result="success"\} [1-9]/m);
    expect(response.text).toContain('# TYPE session_guard_duration_seconds histogram');
  });

  it('gives a wrong password and an unknown user the same 401', async () => {
    const wrongPassword = await login('alice', 'not-her-password');
    const unknownUser = await login('mallory', 'not-her-password');
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(401);
    expect(unknownUser.body).toEqual(wrongPassword.body);
    expect(unknownUser.headers['set-cookie']).toBeUndefined();
  });

  it('spends an argon2 verification on unknown users too (timing does not reveal who exists)', async () => {
    // One argon2id verification is ~15 ms here, the rest of a login ~1-3 ms: without the
    // dummy verification an unknown user would answer in a fraction of the time.
    // Interleaved runs and medians keep a GC pause or a busy CPU from deciding the result.
    const timed = async (username: string) => {
      const start = performance.now();
      const response = await login(username, 'wrong-password');
      expect(response.status).toBe(401);
      return performance.now() - start;
    };
    await timed('nobody-warm-up');
    const known: number[] = [];
    const unknown: number[] = [];
    // Alternating alice and bob keeps each below the login throttle's slow-down (5 failures).
    for (let i = 0; i < 7; i++) {
      known.push(await timed(i % 2 ? 'alice' : 'bob'));
      unknown.push(await timed(`nobody-${i}`));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    expect(median(unknown)).toBeGreaterThanOrEqual(0.5 * median(known));
  });
});
