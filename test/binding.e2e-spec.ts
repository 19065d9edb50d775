import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import request from 'supertest';
import { SessionBinding } from '../src/http/binding.js';
import {
  SessionEvent,
  SessionService,
  type BindingMode,
  type SessionBindingMismatchEvent,
  type SessionRevokedEvent,
} from '../src/index.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { sessionCookie, tokenOf } from './support/http.js';

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

  it('enforce: a request without a User-Agent is a mismatch and ends the session (a replay loses nothing by dropping it)', async () => {
    enforce.revoked.length = 0;
    const cookie = await login(enforce);
    const bare = await request(enforce.t.app.getHttpServer())
      .get('/me')
      .set('Cookie', cookie)
      .set('X-Forwarded-For', '198.51.100.7');
    expect([bare.status, bare.body.message]).toEqual([401, 'Session binding mismatch']);
    expect(enforce.mismatches.at(-1)).toMatchObject({ field: 'userAgent', mode: 'enforce', expected: FIREFOX, actual: null });
    expect(enforce.revoked).toEqual([expect.objectContaining({ reason: 'binding' })]);
    expect((await me(enforce, cookie, '198.51.100.7', FIREFOX)).status).toBe(401);
  });

  it('report: a request without a User-Agent is reported (actual null) and goes on; with a listener, nothing is logged', async () => {
    report.mismatches.length = 0;
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const cookie = await login(report);
    const bare = await request(report.t.app.getHttpServer())
      .get('/me')
      .set('Cookie', cookie)
      .set('X-Forwarded-For', '198.51.100.7');
    expect(bare.status).toBe(200);
    expect(report.mismatches).toEqual([expect.objectContaining({ field: 'userAgent', mode: 'report', actual: null })]);
    expect(warn.mock.calls.filter(([message]) => String(message).startsWith('binding:'))).toEqual([]);
    warn.mockRestore();
  });

  it('enforce: an IP the request does not have (no socket address) is not compared; the user agent still is', async () => {
    const token = tokenOf(await login(enforce));
    const session = await enforce.t.app.get(SessionService).get(token);
    expect(session?.ip).toBe('198.51.100.7');
    const binding = enforce.t.app.get(SessionBinding);
    expect(binding.allows(session!, { headers: { 'user-agent': FIREFOX } }, token)).toBe(true);
    expect(binding.allows(session!, { headers: { 'user-agent': FIREFOX }, socket: {} }, token)).toBe(true);
    expect(await binding.allows(session!, { headers: {}, socket: {} }, token)).toBe(false);
  });
});

describe.each(ADAPTERS)('binding: report with no event listener and the metrics off (%s)', (adapter) => {
  let t: TestApp;
  const warnings: string[] = [];
  beforeAll(async () => {
    // No EventEmitterModule, no metrics: nothing else would tell anyone.
    t = await createTestApp({ binding: { ip: 'report', userAgent: 'report' } }, [], { adapter, trustProxy: true });
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });
  afterAll(() => t?.close());

  it('logs a mismatch, at most one line a minute, then with the count of those left out', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      if (String(message).startsWith('binding:')) warnings.push(String(message));
    });
    const server = t.app.getHttpServer();
    const cookie = sessionCookie(
      await request(server).post('/auth/login').set('X-Forwarded-For', '198.51.100.7').set('User-Agent', FIREFOX).send(bob),
    );
    const elsewhere = () =>
      request(server).get('/me').set('Cookie', cookie).set('X-Forwarded-For', '203.0.113.9').set('User-Agent', CHROME);
    for (let i = 0; i < 3; i++) expect((await elsewhere()).status).toBe(200);
    // Six mismatches (two fields, three requests): one line, naming neither address nor browser.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^binding: the IP network of a request differs from its login's \(session [\w-]+, reported, the request went on\)\./,
    );
    expect(warnings[0]).toContain('no EventEmitterModule');
    expect(warnings[0]).not.toMatch(/203\.0\.113|198\.51\.100|Chrome|Firefox/);
    // A minute later: the next mismatch is logged, with the five left out.
    const now = performance.now();
    jest.spyOn(performance, 'now').mockReturnValue(now + 61_000);
    expect((await elsewhere()).status).toBe(200);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toContain(' 5 more since the last such line.');
  });
});
