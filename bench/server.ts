/**
 * The app under load, in its own process (the load generator runs in another).
 * Env: REDIS_URL, SESSIONS (live sessions per contender), COOKIE_FILE (where the
 * Cookie headers go). Prints one JSON line `{"port": N}` when ready; stops on SIGTERM.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import signature from 'cookie-signature';
import { SessionService } from '../src/index.js';
import { DemoUsers } from '../demo/users.js';
import { createBenchApp } from './bench-app.js';
import { EXPRESS_SESSION_SECRET, LOGIN_PASSWORD, seedIp, seedUser, TTL_SECONDS, USER_AGENT } from './seed.js';
import { announce, required } from './child-process.js';

async function main(): Promise<void> {
  const redisUrl = required('REDIS_URL');
  const sessions = Number(required('SESSIONS'));
  const users = await DemoUsers.create([{ id: 1, username: 'bench', role: 'user', password: LOGIN_PASSWORD }]);
  const bench = await createBenchApp(redisUrl, users.validateCredentials);
  await bench.app.listen(0, '127.0.0.1');

  const service = bench.app.get(SessionService);
  const b: string[] = new Array(sessions);
  const c: string[] = new Array(sessions);
  await inBatches(sessions, 200, async (i) => {
    const { token } = await service.create(seedUser(i), { ip: seedIp(i), userAgent: USER_AGENT });
    b[i] = `sid=${token}`;
  });
  const now = Date.now();
  await inBatches(sessions, 200, async (i) => {
    const sid = randomBytes(24).toString('base64url');
    const user = seedUser(i);
    const data = {
      cookie: {
        originalMaxAge: TTL_SECONDS * 1000,
        expires: new Date(now + TTL_SECONDS * 1000).toISOString(),
        httpOnly: true,
        path: '/',
        sameSite: 'lax',
      },
      userId: user.id,
      username: user.username,
      role: user.role,
      loginTime: now,
      lastActivity: now,
      ip: seedIp(i),
      userAgent: USER_AGENT,
    };
    await bench.store.set(sid, data as never);
    c[i] = `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, EXPRESS_SESSION_SECRET)}`)}`;
  });
  writeFileSync(required('COOKIE_FILE'), JSON.stringify({ b, c }));

  announce(bench.app, () => bench.close());
}

async function inBatches(count: number, size: number, task: (i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < count; start += size) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + size); i++) batch.push(task(i));
    await Promise.all(batch);
  }
}

await main();
