import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './support/app.js';
import { listeningPort, sessionCookie, setCookies } from './support/http.js';

const alice = { username: 'alice', password: 'alice-password' };
const EVIL = 'https://evil.example';

async function withApp(
  adapter: AdapterName,
  options: Parameters<typeof createTestApp>[0],
  run: (t: TestApp, http: ReturnType<TestApp['app']['getHttpServer']>) => Promise<void>,
) {
  const t = await createTestApp(options, [], { adapter });
  try {
    await run(t, t.app.getHttpServer());
  } finally {
    await t.close();
  }
}

const loginCookie = async (http: ReturnType<TestApp['app']['getHttpServer']>) =>
  sessionCookie(await request(http).post('/auth/login').send(alice));

describe.each(ADAPTERS)('CSRF protection (cookie transport, on by default) (%s)', (adapter) => {
  it('refuses a cross-site state-changing request with the session cookie (403), before touching the session', async () => {
    await withApp(adapter, {}, async (_t, http) => {
      const cookie = await loginCookie(http);
      const byOrigin = await request(http).post('/auth/logout-all').set('Cookie', cookie).set('Origin', EVIL);
      expect(byOrigin.status).toBe(403);
      expect(byOrigin.body.message).toMatch(/cross-site/i);
      const bySite = await request(http)
        .post('/auth/logout-all')
        .set('Cookie', cookie)
        .set('Sec-Fetch-Site', 'cross-site')
        .set('Origin', EVIL);
      expect(bySite.status).toBe(403);
      const sameSite = await request(http)
        .delete('/auth/sessions/whatever')
        .set('Cookie', cookie)
        .set('Sec-Fetch-Site', 'same-site')
        .set('Origin', 'https://other.example.test');
      expect(sameSite.status).toBe(403);
      const nullOrigin = await request(http).post('/auth/logout-all').set('Cookie', cookie).set('Origin', 'null');
      expect(nullOrigin.status).toBe(403);
      // Still logged in: nothing was revoked.
      expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
    });
  });

  it('lets same-origin, user-initiated and non-browser requests through', async () => {
    await withApp(adapter, {}, async (_t, http) => {
      const port = listeningPort(http);
      const cases: Array<Record<string, string>> = [
        { 'Sec-Fetch-Site': 'same-origin', Origin: `http://127.0.0.1:${port}` },
        { 'Sec-Fetch-Site': 'none' },
        { Origin: `http://127.0.0.1:${port}` }, // an older browser: Origin only, our own host
        {}, // curl, a server: neither header
      ];
      for (const headers of cases) {
        const cookie = await loginCookie(http);
        const res = await request(http).post('/auth/logout-all').set('Cookie', cookie).set(headers);
        expect({ headers, status: res.status }).toEqual({ headers, status: 204 });
      }
    });
  });

  it('safe methods are never refused', async () => {
    await withApp(adapter, {}, async (_t, http) => {
      const cookie = await loginCookie(http);
      const res = await request(http).get('/me').set('Cookie', cookie).set('Origin', EVIL).set('Sec-Fetch-Site', 'cross-site');
      expect(res.status).toBe(200);
    });
  });

  it('a cross-site logout is refused, with the cookie or without it (SameSite=Lax keeps it off a cross-site POST)', async () => {
    await withApp(adapter, {}, async (_t, http) => {
      const cookie = await loginCookie(http);
      expect((await request(http).post('/auth/logout').set('Cookie', cookie).set('Origin', EVIL)).status).toBe(403);
      expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200);
      // Without the cookie the answer would still clear it and send Clear-Site-Data (issue 9).
      expect((await request(http).post('/auth/logout').set('Origin', EVIL)).status).toBe(403);
    });
  });

  it('trustedOrigins lets a listed origin through, cross-site or not', async () => {
    await withApp(adapter, { csrf: { trustedOrigins: ['https://admin.example.com'] } }, async (_t, http) => {
      const cookie = await loginCookie(http);
      const res = await request(http)
        .post('/auth/logout-all')
        .set('Cookie', cookie)
        .set('Origin', 'https://admin.example.com')
        .set('Sec-Fetch-Site', 'cross-site');
      expect(res.status).toBe(204);
      const other = await loginCookie(http);
      expect(
        (
          await request(http)
            .post('/auth/logout-all')
            .set('Cookie', other)
            .set('Origin', 'https://admin.example.com.evil.example')
        ).status,
      ).toBe(403);
    });
  });

  it('bearer requests are not affected', async () => {
    await withApp(adapter, { transport: 'both' }, async (_t, http) => {
      const res = await request(http).post('/auth/login').send(alice);
      const out = await request(http)
        .post('/auth/logout-all')
        .set('Authorization', `Bearer ${res.body.token}`)
        .set('Origin', EVIL)
        .set('Sec-Fetch-Site', 'cross-site');
      expect(out.status).toBe(204);
    });
  });

  it('csrf: false turns the check off', async () => {
    await withApp(adapter, { csrf: false }, async (_t, http) => {
      const cookie = await loginCookie(http);
      expect((await request(http).post('/auth/logout-all').set('Cookie', cookie).set('Origin', EVIL)).status).toBe(204);
    });
  });
});

describe.each(ADAPTERS)('double-submit token (csrf.doubleSubmit) (%s)', (adapter) => {
  it('login returns it and sets a readable cookie; state-changing requests must echo it', async () => {
    await withApp(adapter, { csrf: { doubleSubmit: true } }, async (_t, http) => {
      const res = await request(http).post('/auth/login').send(alice);
      const cookies = setCookies(res);
      const csrfCookie = cookies.find((c) => c.startsWith('sid_csrf='))!;
      expect(csrfCookie).toBeDefined();
      expect(csrfCookie).not.toContain('HttpOnly');
      expect(csrfCookie).toContain('SameSite=Lax');
      const token = res.body.csrfToken as string;
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(csrfCookie.split(';')[0]).toBe(`sid_csrf=${token}`);
      const cookie = sessionCookie(res);

      expect((await request(http).get('/me').set('Cookie', cookie)).status).toBe(200); // safe method: no token needed
      const missing = await request(http).post('/auth/logout-all').set('Cookie', cookie);
      expect(missing.status).toBe(403);
      expect(missing.body.message).toMatch(/csrf token/i);
      const wrong = await request(http)
        .post('/auth/logout-all')
        .set('Cookie', cookie)
        .set(
          'X-CSRF-Token',
          token.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
        );
      expect(wrong.status).toBe(403);
      // Another session's token does not fit this one.
      const other = (await request(http).post('/auth/login').send(alice)).body.csrfToken as string;
      expect(other).not.toBe(token);
      expect((await request(http).post('/auth/logout-all').set('Cookie', cookie).set('X-CSRF-Token', other)).status).toBe(403);
      const ok = await request(http).post('/auth/logout-all').set('Cookie', cookie).set('X-CSRF-Token', token);
      expect(ok.status).toBe(204);
      expect(setCookies(ok).some((c) => c.startsWith('sid_csrf=;') && c.includes('Max-Age=0'))).toBe(true);
    });
  });

  it('a custom header name', async () => {
    await withApp(adapter, { csrf: { doubleSubmit: true, headerName: 'X-XSRF-TOKEN' } }, async (_t, http) => {
      const res = await request(http).post('/auth/login').send(alice);
      const out = await request(http)
        .post('/auth/logout-all')
        .set('Cookie', sessionCookie(res))
        .set('X-XSRF-TOKEN', res.body.csrfToken);
      expect(out.status).toBe(204);
    });
  });
});
