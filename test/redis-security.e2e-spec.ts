import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis, type RedisOptions } from 'ioredis';
import request from 'supertest';
import { findFreePort } from './support/servers/redis-server.js';
import { type SessionModuleOptions } from '../src/index.js';
import { ADAPTERS } from './support/app.js';
import { createCertificateAuthority, type TestCertificateAuthority } from './support/certificates.js';
import { sessionCookie, tokenOf } from './support/http.js';
import {
  ACL_COMMANDS,
  aclCommands,
  aclLog,
  aclRule,
  describeDenials,
  EXPIRED_EVENTS_CHANNEL,
  type AclFeature,
} from './support/redis-acl.js';
import { keysWithPrefix, sleep, spawnRedisServer, type SpawnedRedis } from './support/redis.js';
import { connectionsOf, expired, loggedIn, login, me, secureApp, type Http, type SecureApp } from './support/secure-app.js';

// Fresh secrets per run: nothing here may depend on a known password.
const ADMIN_PASSWORD = randomBytes(12).toString('hex');
const PASSWORD = randomBytes(12).toString('hex');
const REPLICATION_PASSWORD = randomBytes(12).toString('hex');
const WRONG_PASSWORD = `wrong-${randomBytes(6).toString('hex')}`;

/** Every feature on: the rule the main flows run under. */
const ALL_FEATURES: AclFeature[] = ['readyCheck', 'health', 'durability', 'expiredEvents', 'liveRevocation'];

/** Login, a guarded request, the session list, logout and the health check, each answered as when all is well. */
async function basicFlow(http: Http): Promise<void> {
  const a = await loggedIn(http);
  expect((await me(http, a.cookie)).status).toBe(200);
  expect((await request(http).get('/auth/sessions').set('Cookie', a.cookie)).status).toBe(200);
  expect((await request(http).post('/auth/logout').set('Cookie', a.cookie)).status).toBe(204);
  expect((await request(http).get('/health')).status).toBe(200);
}

/** Until a write on the master is acknowledged by a replica (what WAIT will need). */
async function waitForReplicaAck(admin: Redis): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await admin.set('security:probe', '1', 'PX', 10_000);
    if ((await admin.wait(1, 500)) >= 1) return;
    await sleep(50);
  }
  throw new Error('the replica did not acknowledge a write within 10 s');
}

/** Redis config lines: the admin is the default user (requirepass); `sessions` has the rule. */
function aclConfig(features: AclFeature[]): string {
  return [
    `requirepass ${ADMIN_PASSWORD}`,
    `user sessions ${aclRule(PASSWORD, features).join(' ')}`,
    // What a replica needs to replicate from this master.
    `user replica on >${REPLICATION_PASSWORD} resetchannels -@all +psync +replconf +ping`,
    'notify-keyspace-events Ex',
    '',
  ].join('\n');
}

describe('Redis with a password and a minimal ACL user', () => {
  let master: SpawnedRedis;
  let replica: SpawnedRedis;
  let admin: Redis;
  let replicaAdmin: Redis;
  let url: string;
  /** What the module's connections sent (MONITOR), lower-cased command names, with where they came from. */
  const monitored: Array<{ source: string; command: string }> = [];
  const moduleConnections = new Set<string>();
  let monitor: Redis | undefined;

  beforeAll(async () => {
    master = await spawnRedisServer({ config: aclConfig(ALL_FEATURES), args: ['--repl-diskless-sync-delay', '0'] });
    replica = await spawnRedisServer({
      config: [
        `requirepass ${ADMIN_PASSWORD}`,
        `replicaof ${master.host} ${master.port}`,
        'masteruser replica',
        `masterauth ${REPLICATION_PASSWORD}`,
        '',
      ].join('\n'),
    });
    admin = new Redis({ host: '127.0.0.1', port: master.port, password: ADMIN_PASSWORD, maxRetriesPerRequest: 1 });
    replicaAdmin = new Redis({ host: '127.0.0.1', port: replica.port, password: ADMIN_PASSWORD, maxRetriesPerRequest: 1 });
    await waitForReplicaAck(admin);
    url = `redis://sessions:${PASSWORD}@127.0.0.1:${master.port}`;
    monitor = await admin.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      monitored.push({ source, command: String(args[0]).toLowerCase() });
    });
    await admin.call('ACL', 'LOG', 'RESET');
  });
  afterAll(async () => {
    monitor?.disconnect();
    admin?.disconnect();
    replicaAdmin?.disconnect();
    await replica?.stop();
    await master?.stop();
  });

  const noDenials = async () => expect(describeDenials(await aclLog(admin))).toEqual([]);

  describe.each(ADAPTERS)('every flow under exactly that user (%s)', (adapter) => {
    let t: SecureApp;
    beforeAll(async () => {
      t = await secureApp(
        { redis: { url }, maxSessionsPerUser: 2, durability: 'replicated', replication: { replicas: 1, timeoutMs: 500 } },
        adapter,
      );
    });
    afterAll(async () => {
      for (const address of await connectionsOf(admin, 'sessions')) moduleConnections.add(address);
      await t.close();
    });

    it('login, guarded requests, fixation, max sessions, list, revoke, rotate, revoke-all, logout, throttling, health; ACL LOG stays empty', async () => {
      const http = t.http;
      // Login throttling: counted per username, then 429.
      const guesser = `mallory-${adapter}`;
      for (let i = 0; i < 3; i++) expect((await login(http, guesser, 'guess')).status).toBe(401);
      expect((await login(http, guesser, 'guess')).status).toBe(429);

      const a = await loggedIn(http);
      expect((await me(http, a.cookie)).status).toBe(200);
      expect((await request(http).get('/auth/session').set('Cookie', a.cookie)).body).toMatchObject({ id: a.id, userId: 1 });

      // A login that carries a session ends it (GETDEL + ZREM).
      const b = await login(http, 'alice', 'alice-password', a.cookie);
      expect(b.status).toBe(200);
      const bCookie = sessionCookie(b);
      expect((await me(http, a.cookie)).status).toBe(401);

      // maxSessionsPerUser 2: the third live session evicts the oldest (EXISTS, ZREM, DEL).
      const c = await loggedIn(http);
      const d = await loggedIn(http);
      expect((await me(http, bCookie)).status).toBe(401);
      expect((await me(http, c.cookie)).status).toBe(200);

      const list = await request(http).get('/auth/sessions').set('Cookie', d.cookie);
      expect(list.status).toBe(200);
      expect((list.body as Array<{ id: string; current: boolean }>).map((s) => [s.id, s.current]).sort()).toEqual(
        [
          [c.id, false],
          [d.id, true],
        ].sort(),
      );
      // An indexed id whose key is gone is pruned from the index by the next list (ZREM).
      await admin.del(`session:${c.id}`);
      expect((await request(http).get('/auth/sessions').set('Cookie', d.cookie)).body).toHaveLength(1);

      // Revoke one device.
      const e = await loggedIn(http);
      expect((await request(http).delete(`/auth/sessions/${e.id}`).set('Cookie', d.cookie)).status).toBe(204);
      expect((await me(http, e.cookie)).status).toBe(401);

      // SessionService: get (GET + PTTL) and rotate (GETDEL, SET, index script).
      expect(await t.service.get(tokenOf(d.cookie))).toMatchObject({ id: d.id });
      const rotated = await t.service.rotate(tokenOf(d.cookie));
      expect(rotated).not.toBeNull();
      expect((await me(http, d.cookie)).status).toBe(401);
      const rotatedCookie = `sid=${rotated!.token}`;
      expect((await me(http, rotatedCookie)).status).toBe(200);

      // Log out everywhere (index script, DEL), then a plain logout.
      const f = await loggedIn(http);
      expect((await request(http).post('/auth/logout-all').set('Cookie', rotatedCookie)).status).toBe(204);
      expect((await me(http, f.cookie)).status).toBe(401);
      expect((await me(http, rotatedCookie)).status).toBe(401);
      const g = await loggedIn(http);
      expect((await request(http).post('/auth/logout').set('Cookie', g.cookie)).status).toBe(204);
      expect((await me(http, g.cookie)).status).toBe(401);
      expect(await t.service.list(1)).toEqual([]);

      // Health check (PING).
      const health = await request(http).get('/health');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ info: { redis: { status: 'up' } } });

      // durability 'replicated' waited for the replica: the logout is there too.
      expect(await replicaAdmin.exists(`session:${g.id}`, `session:${f.id}`)).toBe(0);
      expect(await replicaAdmin.exists(`session:${c.id}`)).toBe(0);

      await noDenials();
    });
  });

  it("expiredEvents: session.expired arrives through SUBSCRIBE to its database's channel, permitted by one channel glob", async () => {
    const t = await secureApp({ redis: { url }, ttl: 1, absoluteTtl: 60, expiredEvents: true });
    try {
      const { session } = await t.service.create({ id: 'expiry' });
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !expired.includes(session.id)) await sleep(50);
      expect(expired).toContain(session.id);
      for (const address of await connectionsOf(admin, 'sessions')) moduleConnections.add(address);
    } finally {
      await t.close();
    }
    // The boot check of notify-keyspace-events (CONFIG GET) is refused, on purpose: the rule
    // leaves CONFIG out, since CONFIG GET would hand out requirepass and masterauth. The
    // module goes on and the events arrive (above).
    const denials = await aclLog(admin);
    expect(describeDenials(denials)).toEqual(['sessions: command config|get (toplevel)']);
    await admin.call('ACL', 'LOG', 'RESET');
  });

  it('MONITOR: the module sent every command of the rule and nothing else (but HELLO and QUIT, which ACL always allows)', async () => {
    await sleep(200); // the last QUITs reach MONITOR
    const sent = new Set(monitored.filter((m) => m.source === 'lua' || moduleConnections.has(m.source)).map((m) => m.command));
    // CONFIG GET never shows in MONITOR (Redis hides admin commands), and it is refused anyway (above).
    expect([...sent].sort()).toEqual([...aclCommands(ALL_FEATURES), 'hello', 'quit'].sort());
    monitor?.disconnect();
    monitor = undefined;
  });

  /**
   * Each command of the rule, taken away on its own: the route that needs it answers 503
   * (never a 500, never a 401), and ACL LOG names exactly that command. Setup (with the full
   * rule): a fresh app, alice logged in twice; then the command is removed and the probe runs.
   */
  describe('every command of the rule is needed: without it, the route that needs it answers 503', () => {
    const probes: Array<{
      command: string;
      route: string;
      options?: Partial<SessionModuleOptions>;
      /** Remove the command before the app connects (EVAL is only sent on a connection's first script). */
      beforeConnect?: boolean;
      run(ctx: { http: Http; cookie: string; otherId: string }): request.Test;
    }> = [
      { command: 'getex', route: 'GET /me (the guard)', run: ({ http, cookie }) => me(http, cookie) },
      { command: 'set', route: 'POST /auth/login', run: ({ http }) => login(http) },
      { command: 'eval', route: 'POST /auth/login on a new connection', beforeConnect: true, run: ({ http }) => login(http) },
      { command: 'evalsha', route: 'POST /auth/login', run: ({ http }) => login(http) },
      { command: 'zadd', route: 'POST /auth/login (index script)', run: ({ http }) => login(http) },
      { command: 'pexpireat', route: 'POST /auth/login (index script)', run: ({ http }) => login(http) },
      {
        command: 'zcard',
        route: 'POST /auth/login with maxSessionsPerUser (index script)',
        options: { maxSessionsPerUser: 5 },
        run: ({ http }) => login(http),
      },
      {
        command: 'exists',
        route: 'POST /auth/login past maxSessionsPerUser',
        options: { maxSessionsPerUser: 2 },
        run: ({ http }) => login(http),
      },
      { command: 'incrby', route: 'POST /auth/login (throttle script)', run: ({ http }) => login(http) },
      { command: 'pexpire', route: 'POST /auth/login (throttle script, new counter)', run: ({ http }) => login(http) },
      { command: 'decrby', route: 'POST /auth/login (throttle refund on success)', run: ({ http }) => login(http) },
      {
        command: 'getdel',
        route: 'POST /auth/logout',
        run: ({ http, cookie }) => request(http).post('/auth/logout').set('Cookie', cookie),
      },
      {
        command: 'zrem',
        route: 'POST /auth/logout',
        run: ({ http, cookie }) => request(http).post('/auth/logout').set('Cookie', cookie),
      },
      {
        command: 'zscore',
        route: 'DELETE /auth/sessions/:id',
        run: ({ http, cookie, otherId }) => request(http).delete(`/auth/sessions/${otherId}`).set('Cookie', cookie),
      },
      {
        command: 'del',
        route: 'DELETE /auth/sessions/:id',
        run: ({ http, cookie, otherId }) => request(http).delete(`/auth/sessions/${otherId}`).set('Cookie', cookie),
      },
      {
        command: 'zremrangebyscore',
        route: 'GET /auth/sessions',
        run: ({ http, cookie }) => request(http).get('/auth/sessions').set('Cookie', cookie),
      },
      {
        command: 'zrange',
        route: 'GET /auth/sessions',
        run: ({ http, cookie }) => request(http).get('/auth/sessions').set('Cookie', cookie),
      },
      {
        command: 'get',
        route: 'GET /auth/sessions',
        run: ({ http, cookie }) => request(http).get('/auth/sessions').set('Cookie', cookie),
      },
      {
        command: 'pttl',
        route: 'GET /auth/sessions',
        run: ({ http, cookie }) => request(http).get('/auth/sessions').set('Cookie', cookie),
      },
      { command: 'ping', route: 'GET /health', run: ({ http }) => request(http).get('/health') },
      {
        command: 'wait',
        route: "POST /auth/login with durability 'replicated'",
        options: { durability: 'replicated', replication: { replicas: 1, timeoutMs: 200 } },
        run: ({ http }) => login(http),
      },
    ];

    it('the probes cover every required command of the rule', () => {
      const required = aclCommands(['health', 'durability']);
      expect(probes.map((p) => p.command).sort()).toEqual(required.sort());
    });

    const setUser = (except: string[] = []) =>
      admin.call('ACL', 'SETUSER', 'sessions', 'reset', ...aclRule(PASSWORD, ALL_FEATURES, { except }));

    it.each(probes.map((p) => [p.command, p.route, p] as const))('-%s: %s answers 503', async (command, _route, probe) => {
      await setUser(probe.beforeConnect ? [command] : []);
      const t = await secureApp({ redis: { url }, ...probe.options });
      try {
        let cookie = '';
        let otherId = '';
        if (!probe.beforeConnect) {
          cookie = (await loggedIn(t.http)).cookie;
          otherId = (await loggedIn(t.http)).id;
          await admin.call('ACL', 'LOG', 'RESET');
          await setUser([command]);
        }
        const res = await probe.run({ http: t.http, cookie, otherId }).timeout(5000);
        expect({ status: res.status, body: res.body }).toMatchObject({
          status: 503,
          body:
            command === 'ping'
              ? { error: { redis: { status: 'down' } } }
              : { message: 'Session store unavailable, try again shortly' },
        });
        const denied = (await aclLog(admin)).map((d) => d.object);
        expect(new Set(denied)).toEqual(new Set([command]));
      } finally {
        await setUser();
        await admin.call('ACL', 'LOG', 'RESET');
        await t.service.revokeAll(1).catch(() => undefined);
        await t.close();
      }
    });
  });

  it("INFO is only ioredis's ready check: the rule without it works with enableReadyCheck: false", async () => {
    await admin.call('ACL', 'SETUSER', 'sessions', 'reset', ...aclRule(PASSWORD, ['health', 'liveRevocation']));
    const t = await secureApp({ redis: { url, options: { enableReadyCheck: false } } });
    try {
      await basicFlow(t.http);
      await noDenials();
    } finally {
      await admin.call('ACL', 'SETUSER', 'sessions', 'reset', ...aclRule(PASSWORD, ALL_FEATURES));
      await t.close();
    }
  });

  it('expiredEvents without the channel permission: the subscription is refused (NOPERM)', async () => {
    await admin.call(
      'ACL',
      'SETUSER',
      'sessions',
      'reset',
      ...aclRule(PASSWORD, ALL_FEATURES, { except: [EXPIRED_EVENTS_CHANNEL] }),
    );
    let t: SecureApp | undefined;
    try {
      const outcome = await secureApp({ redis: { url }, expiredEvents: true }).then(
        (app) => {
          t = app;
          return 'started';
        },
        (err: Error) => err.message,
      );
      const denials = describeDenials(await aclLog(admin));
      expect({ outcome, denials }).toEqual({
        outcome: expect.stringContaining('NOPERM'),
        denials: expect.arrayContaining(['sessions: channel __keyevent@0__:expired (toplevel)']),
      });
    } finally {
      await admin.call('ACL', 'SETUSER', 'sessions', 'reset', ...aclRule(PASSWORD, ALL_FEATURES));
      await admin.call('ACL', 'LOG', 'RESET');
      await t?.close();
    }
  });

  it('a wrong password: 503 on every route (never 401), and a log that says WRONGPASS without the password', async () => {
    const good = await secureApp({ redis: { url } });
    const { cookie } = await loggedIn(good.http);
    await good.close();
    const t = await secureApp({ redis: { url: `redis://sessions:${WRONG_PASSWORD}@127.0.0.1:${master.port}` } });
    try {
      const started = Date.now();
      const answers = [
        await login(t.http),
        await me(t.http, cookie),
        await request(t.http).get('/auth/sessions').set('Cookie', cookie),
        await request(t.http).post('/auth/logout').set('Cookie', cookie),
        await request(t.http).get('/health'),
      ].map((res) => res.status);
      expect(answers).toEqual([503, 503, 503, 503, 503]);
      expect(Date.now() - started).toBeLessThan(5 * 1500);
      const log = t.logger.lines.join('\n');
      expect(log).toMatch(/WRONGPASS/);
      expect(log).not.toContain(WRONG_PASSWORD);
    } finally {
      await t.close();
      await admin.call('ACL', 'LOG', 'RESET');
    }
    // The session is untouched by all that.
    const after = await secureApp({ redis: { url } });
    try {
      expect((await me(after.http, cookie)).status).toBe(200);
    } finally {
      await after.close();
    }
  });

  it('a user switched off (ACL SETUSER sessions off) gets 503s, not 401s, and works again once back on', async () => {
    const t = await secureApp({ redis: { url } });
    try {
      const { cookie } = await loggedIn(t.http);
      await admin.call('ACL', 'SETUSER', 'sessions', 'off');
      await admin.client('KILL', 'USER', 'sessions'); // switching a user off keeps its open connections
      await sleep(100);
      expect((await me(t.http, cookie)).status).toBe(503);
      expect((await login(t.http)).status).toBe(503);
      await admin.call('ACL', 'SETUSER', 'sessions', 'on');
      const deadline = Date.now() + 5000;
      let status = 0;
      while (Date.now() < deadline && (status = (await me(t.http, cookie)).status) !== 200) await sleep(100);
      expect(status).toBe(200);
    } finally {
      await admin.call('ACL', 'SETUSER', 'sessions', 'on');
      await admin.call('ACL', 'LOG', 'RESET');
      await t.close();
    }
  });

  it('requirepass alone (the default user, redis://:password@host) works as well', async () => {
    const t = await secureApp({ redis: { url: `redis://:${ADMIN_PASSWORD}@127.0.0.1:${master.port}` } });
    try {
      const a = await loggedIn(t.http);
      expect((await me(t.http, a.cookie)).status).toBe(200);
      expect((await request(t.http).post('/auth/logout').set('Cookie', a.cookie)).status).toBe(204);
    } finally {
      await t.close();
    }
    // Every key the module wrote has a TTL.
    for (const key of await keysWithPrefix(admin, 'session:'))
      expect([key, await admin.pttl(key)]).toEqual([key, expect.any(Number)]);
  });
});

describe("TLS (rediss://) with a CA of the test's own", () => {
  let ca: TestCertificateAuthority;
  let rogue: TestCertificateAuthority;
  let server: SpawnedRedis;
  let port: number;
  let admin: Redis;
  let tlsUrl: string;

  beforeAll(async () => {
    ca = createCertificateAuthority('nestjs-redis-session test CA');
    rogue = createCertificateAuthority('untrusted test CA');
    const cert = ca.issueServer('redis.test', ['IP:127.0.0.1', 'DNS:redis.test']);
    port = await findFreePort();
    server = await spawnRedisServer({
      port,
      config: aclConfig(['readyCheck', 'health', 'liveRevocation']),
      // TLS only: no plain-text port at all.
      args: [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        cert.certFile,
        '--tls-key-file',
        cert.keyFile,
        '--tls-ca-cert-file',
        ca.certFile,
        '--tls-auth-clients',
        'no',
      ],
    });
    admin = new Redis({ host: '127.0.0.1', port, password: ADMIN_PASSWORD, tls: { ca: ca.cert }, maxRetriesPerRequest: 1 });
    await admin.ping();
    tlsUrl = `rediss://sessions:${PASSWORD}@127.0.0.1:${port}`;
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
    ca?.remove();
    rogue?.remove();
  });

  it.each(ADAPTERS)('login, guarded request, list, logout and health over TLS, verified against the CA (%s)', async (adapter) => {
    const t = await secureApp({ redis: { url: tlsUrl, options: { tls: { ca: ca.cert } } } }, adapter);
    try {
      await basicFlow(t.http);
      expect(describeDenials(await aclLog(admin))).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('by host name: servername picks the name the certificate is checked against', async () => {
    const t = await secureApp({ redis: { url: tlsUrl, options: { tls: { ca: ca.cert, servername: 'redis.test' } } } });
    try {
      const a = await loggedIn(t.http);
      expect((await me(t.http, a.cookie)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  const refused: Array<[string, RedisOptions['tls'] | undefined, RegExp]> = [
    ['a certificate from a CA the client does not trust', { ca: '' }, /self[- ]signed|unable to (get|verify)/i],
    ['no CA given (the system trust store)', undefined, /self[- ]signed|unable to (get|verify)/i],
    ['a name the certificate does not carry', { servername: 'other.test' }, /does not match|altnames/i],
  ];
  it.each(refused)('%s: 503s within about a second, never a connection', async (_what, tls, error) => {
    const options = tls === undefined ? undefined : { tls: { ...tls, ca: tls.ca === '' ? rogue.cert : ca.cert } };
    const t = await secureApp({ redis: { url: tlsUrl, ...(options && { options }) } });
    try {
      for (const send of [() => login(t.http), () => request(t.http).get('/health')]) {
        const started = Date.now();
        const res = await send();
        expect(res.status).toBe(503);
        expect(Date.now() - started).toBeLessThan(2500);
      }
      expect(t.logger.lines.join('\n')).toMatch(error);
      expect(await connectionsOf(admin, 'sessions')).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('plain redis:// against the TLS port: 503s', async () => {
    const t = await secureApp({ redis: { url: `redis://sessions:${PASSWORD}@127.0.0.1:${port}` } });
    try {
      expect((await login(t.http)).status).toBe(503);
    } finally {
      await t.close();
    }
  });

  it('client certificates (tls-auth-clients yes): the app presents one; without it, 503s', async () => {
    const client = ca.issueClient('sessions-app');
    await admin.config('SET', 'tls-auth-clients', 'yes');
    const withCert = await secureApp({
      redis: { url: tlsUrl, options: { tls: { ca: ca.cert, cert: client.cert, key: client.key } } },
    });
    const without = await secureApp({ redis: { url: tlsUrl, options: { tls: { ca: ca.cert } } } });
    try {
      const a = await loggedIn(withCert.http);
      expect((await me(withCert.http, a.cookie)).status).toBe(200);
      expect((await login(without.http)).status).toBe(503);
      expect((await me(without.http, a.cookie)).status).toBe(503);
    } finally {
      await withCert.close();
      await without.close();
      await admin.config('SET', 'tls-auth-clients', 'no');
    }
  });
});

// Keep the docs honest: the rule docs/operations.md ("Redis security") documents is the one these tests run under.
it('docs/operations.md documents exactly the tested rule', () => {
  const doc = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
  const rule = aclRule('long-random-password', ['readyCheck', 'health', 'liveRevocation']).join(' ');
  expect(rule).toBe(
    `on >long-random-password ~session:* resetchannels &session:ended -@all ${[...ACL_COMMANDS.base, 'info', 'ping', 'publish'].map((c) => `+${c}`).join(' ')}`,
  );
  expect(doc).toContain(`user sessions ${rule}\n`);
  for (const command of aclCommands(['readyCheck', 'health', 'durability', 'expiredEvents', 'liveRevocation']))
    expect(doc).toContain(`+${command}`);
});
