import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { createTestApp, USERS, type TestApp } from '../support/app.js';
import { assertionClient, keysWithPrefix, sleep, spawnRedisServer, type SpawnedRedis } from '../support/redis.js';
import { login, sessionIdOf } from '../support/topology.js';

describe('AOF persistence (appendfsync everysec): a SIGKILLed Redis comes back with every session', () => {
  let server: SpawnedRedis;
  let t: TestApp;
  let admin: Redis;
  beforeAll(async () => {
    server = await spawnRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'everysec'] });
    t = await createTestApp({ redis: { url: server.url } });
    admin = assertionClient(server.url);
    await admin.ping();
  }, 30_000);
  afterAll(async () => {
    admin?.disconnect();
    await t?.close();
    await server?.stop();
  });

  it('200 sessions of 3 users survive a SIGKILL and restart: usable, with their TTLs and index keys', async () => {
    const http = t.app.getHttpServer();
    const names = Object.keys(USERS);
    // 200 logins, 10 at a time.
    const sessions: Array<{ user: string; cookie: string }> = [];
    for (let batch = 0; batch < 20; batch++) {
      const logins = Array.from({ length: 10 }, async (_, i) => {
        const user = names[(batch * 10 + i) % names.length];
        return { user, cookie: await login(http, user, USERS[user].password) };
      });
      sessions.push(...(await Promise.all(logins)));
    }
    const ids = await Promise.all(sessions.map((s) => sessionIdOf(http, s.cookie)));
    const indexKeys = names.map((name) => `${t.prefix}user:${USERS[name].user.id}`);
    const before = (await keysWithPrefix(admin, t.prefix)).sort();
    expect(before).toHaveLength(200 + indexKeys.length);

    // everysec: whatever was written more than a second ago is on disk.
    await sleep(1500);
    server.signal('SIGKILL');
    await sleep(100);
    expect((await request(http).get('/me').set('Cookie', sessions[0].cookie)).status).toBe(503);
    await server.restart(); // same port, same dir: loads the AOF

    // The app reconnects by itself (bounded poll).
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await request(http).get('/auth/session').set('Cookie', sessions[0].cookie)).status;
      if (status === 200) break;
      expect(status).toBe(503);
      await sleep(100);
    }
    expect(status).toBe(200);

    // Every session answers, as the same session.
    for (let i = 0; i < sessions.length; i += 20) {
      const answers = await Promise.all(
        sessions.slice(i, i + 20).map((s) => request(http).get('/auth/session').set('Cookie', s.cookie)),
      );
      answers.forEach((res, j) => {
        expect(res.status).toBe(200);
        expect((res.body as { id: string }).id).toBe(ids[i + j]);
      });
    }

    // Same keys as before, each still with a TTL; the index keys list every session.
    expect((await keysWithPrefix(admin, t.prefix)).sort()).toEqual(before);
    for (const id of ids) expect(await admin.pttl(t.prefix + id)).toBeGreaterThan(0);
    for (const indexKey of indexKeys) expect(await admin.pttl(indexKey)).toBeGreaterThan(0);
    const indexed = (await Promise.all(indexKeys.map((key) => admin.zrange(key, 0, '-1')))).flat();
    expect(indexed.sort()).toEqual([...ids].sort());
    expect((await request(http).get('/auth/sessions').set('Cookie', sessions[0].cookie)).body).toHaveLength(
      sessions.filter((s) => s.user === sessions[0].user).length,
    );
  });
});
