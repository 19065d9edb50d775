import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import request from 'supertest';
import { SessionEvent, type BindingMode, type SessionBindingMismatchEvent, type SessionRevokedEvent } from '../src/index.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { sessionCookie } from './support/http.js';

const bob = { username: 'bob', password: 'bob-password' };
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

interface Bound {
  t: TestApp;
  mismatches: SessionBindingMismatchEvent[];
  revoked: SessionRevokedEvent[];
}

/** An app behind a proxy it trusts (X-Forwarded-For sets the client IP), recording the events. */
async function boundApp(
  adapter: (typeof ADAPTERS)[number],
  binding: { ip?: BindingMode; userAgent?: BindingMode },
): Promise<Bound> {
  const t = await createTestApp({ binding }, [EventEmitterModule.forRoot()], { adapter, trustProxy: true });
  const emitter = t.app.get(EventEmitter2);
  const bound: Bound = { t, mismatches: [], revoked: [] };
  emitter.on(SessionEvent.BindingMismatch, (event: SessionBindingMismatchEvent) => bound.mismatches.push(event));
  emitter.on(SessionEvent.Revoked, (event: SessionRevokedEvent) => bound.revoked.push(event));
  return bound;
}

describe.each(ADAPTERS)('binding (%s)', (adapter) => {
  let off: Bound;
  let report: Bound;
  let enforce: Bound;
  beforeAll(async () => {
    off = await boundApp(adapter, {});
    report = await boundApp(adapter, { ip: 'report', userAgent: 'report' });
    enforce = await boundApp(adapter, { ip: 'enforce', userAgent: 'enforce' });
  });
  afterAll(async () => {
    for (const app of [off, report, enforce]) await app?.t.close();
  });

  const login = async (app: Bound) =>
    sessionCookie(
      await request(app.t.app.getHttpServer())
        .post('/auth/login')
        .set('X-Forwarded-For', '198.51.100.7')
        .set('User-Agent', FIREFOX)
        .send(bob),
    );
  const me = (app: Bound, cookie: string, ip: string, userAgent: string) =>
    request(app.t.app.getHttpServer()).get('/me').set('Cookie', cookie).set('X-Forwarded-For', ip).set('User-Agent', userAgent);

  it('off (the default): a new network and a new browser go unremarked', async () => {
    const cookie = await login(off);
    expect((await me(off, cookie, '203.0.113.9', CHROME)).status).toBe(200);
    expect(off.mismatches).toEqual([]);
  });

  it('the same /24 and the same user agent pass in every mode', async () => {
    for (const app of [report, enforce]) {
      const cookie = await login(app);
      expect((await me(app, cookie, '198.51.100.200', FIREFOX)).status).toBe(200);
    }
    expect([...report.mismatches, ...enforce.mismatches]).toEqual([]);
  });

  it('report: the request goes on, an event per differing field', async () => {
    const cookie = await login(report);
    expect((await me(report, cookie, '203.0.113.9', CHROME)).status).toBe(200);
    expect(report.mismatches).toEqual([
      expect.objectContaining({ field: 'ip', mode: 'report', expected: '198.51.100.7', actual: '203.0.113.9' }),
      expect.objectContaining({ field: 'userAgent', mode: 'report', expected: FIREFOX, actual: CHROME }),
    ]);
    expect(report.revoked).toEqual([]);
    expect((await me(report, cookie, '198.51.100.7', FIREFOX)).status).toBe(200);
  });

  it('enforce: another network ends the session (401, session.revoked with reason binding), for good', async () => {
    const cookie = await login(enforce);
    const refused = await me(enforce, cookie, '203.0.113.9', FIREFOX);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toBe('Session binding mismatch');
    expect(enforce.revoked).toEqual([expect.objectContaining({ reason: 'binding' })]);
    // Gone: even from the original network and browser.
    expect((await me(enforce, cookie, '198.51.100.7', FIREFOX)).status).toBe(401);
  });

  it('enforce: another user agent ends the session too', async () => {
    enforce.revoked.length = 0;
    const cookie = await login(enforce);
    expect((await me(enforce, cookie, '198.51.100.7', CHROME)).status).toBe(401);
    expect(enforce.mismatches.at(-1)).toMatchObject({ field: 'userAgent', mode: 'enforce' });
    expect(enforce.revoked).toEqual([expect.objectContaining({ reason: 'binding' })]);
  });
});
