import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RedisStore } from 'connect-redis';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { SessionModule, SessionService } from '../src/index.js';
import { generateToken, sessionIdOf } from '../src/core/token.js';
import { encodeSession } from '../src/core/codec.js';
import { userIndexKey } from '../src/core/keys.js';
import { usedMemory } from './redis-stats.js';
import { seedIp, seedUser, TTL_SECONDS, USER_AGENT } from './seed.js';

/** SessionService on a Redis, without HTTP. */
export async function sessionContext(redisUrl: string): Promise<{ context: INestApplicationContext; service: SessionService }> {
  // No per-user cap: the bulk measures hold thousands of sessions for one user.
  @Module({
    imports: [SessionModule.forRoot({ redis: { url: redisUrl }, controller: false, ttl: TTL_SECONDS, maxSessionsPerUser: null })],
  })
  class MeasureModule {}
  const context = await NestFactory.createApplicationContext(MeasureModule, { logger: false });
  return { context, service: context.get(SessionService) };
}

export async function inWaves(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export interface MemoryResult {
  sessions: number;
  /** Bytes per session: the session keys alone. */
  oursSessionKey: number;
  /** Session keys plus the per-user index, one session per user. */
  oursOnePerUser: number;
  /** Session keys plus the per-user index, four sessions per user. */
  oursFourPerUser: number;
  connectRedis: number;
}

/** `used_memory` delta over `count` sessions, divided, for each layout. Flushes the (private) Redis between runs. */
export async function measureMemory(redisUrl: string, count: number): Promise<MemoryResult> {
  const admin = new Redis(redisUrl);
  const { context, service } = await sessionContext(redisUrl);
  const perSession = async (fill: () => Promise<void>) => {
    await admin.flushall();
    const before = await usedMemory(admin);
    await fill();
    return (await usedMemory(admin)) - before;
  };
  try {
    const onePerUser = await perSession(() =>
      inWaves(count, 100, (i) => service.create(seedUser(i), { ip: seedIp(i), userAgent: USER_AGENT })),
    );
    // Same data, then drop the indexes: what the session keys alone take.
    await admin.flushall();
    const before = await usedMemory(admin);
    await inWaves(count, 100, (i) => service.create(seedUser(i), { ip: seedIp(i), userAgent: USER_AGENT }));
    await inWaves(count, 100, (i) => admin.del(userIndexKey('session:', seedUser(i).id)));
    const keyOnly = (await usedMemory(admin)) - before;
    const fourPerUser = await perSession(() =>
      inWaves(count, 100, (i) => service.create(seedUser(Math.floor(i / 4)), { ip: seedIp(i), userAgent: USER_AGENT })),
    );
    const client = createClient({ url: redisUrl });
    await client.connect();
    const store = new RedisStore({ client, prefix: 'sess:' });
    const now = Date.now();
    const connectRedis = await perSession(() =>
      inWaves(count, 100, (i) => {
        const user = seedUser(i);
        return store.set(randomBytes(24).toString('base64url'), {
          cookie: {
            originalMaxAge: TTL_SECONDS * 1000,
            expires: new Date(now + TTL_SECONDS * 1000),
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
        } as never);
      }),
    );
    await client.quit();
    await admin.flushall();
    return {
      sessions: count,
      oursSessionKey: keyOnly / count,
      oursOnePerUser: onePerUser / count,
      oursFourPerUser: fourPerUser / count,
      connectRedis: connectRedis / count,
    };
  } finally {
    await context.close();
    admin.disconnect();
  }
}

export interface CreateResult {
  sessions: number;
  serviceCreatePerSecond: number;
  rawPipelinePerSecond: number;
  ratio: number;
}

/**
 * `SessionService.create` against the limit: a raw ioredis client, configured like the
 * module's own, sending the same writes (`SET ... PX NX` and the same index script by
 * EVALSHA) with values, ids and tokens computed beforehand, outside the clock. Same
 * concurrency (100 in flight) for both; rounds alternate, medians are reported.
 */
export async function measureCreate(redisUrl: string, count: number, rounds = 5): Promise<CreateResult> {
  const admin = new Redis(redisUrl);
  // The connection settings the module uses for its own client (auto-pipelining, a
  // 500 ms commandTimeout), so the comparison measures the module, not ioredis options.
  const raw = new Redis(redisUrl, { enableAutoPipelining: true, commandTimeout: 500, maxRetriesPerRequest: 1 }) as Redis & {
    nrsIndexAdd(key: string, now: number, id: string, abs: number, remove: string, max: number): Promise<unknown>;
  };
  raw.defineCommand('nrsIndexAdd', {
    numberOfKeys: 1,
    lua: readFileSync(new URL('../src/core/redis/lua/index-add-1.lua', import.meta.url), 'utf8'),
  });
  const { context, service } = await sessionContext(redisUrl);
  const now = Date.now();
  const absolute = now + 43_200_000;
  const values = Array.from({ length: count }, (_, i) => {
    const user = seedUser(i);
    return encodeSession({
      userId: user.id,
      username: user.username,
      role: user.role,
      createdAt: now,
      absoluteExpiresAt: absolute,
      ip: seedIp(i),
      userAgent: USER_AGENT,
      data: undefined,
    });
  });
  const ids = Array.from({ length: count }, () => sessionIdOf(generateToken(absolute)));
  const ours = (n: number) => inWaves(n, 100, (i) => service.create(seedUser(i), { ip: seedIp(i), userAgent: USER_AGENT }));
  const rawWrites = (n: number) =>
    inWaves(n, 100, (i) =>
      Promise.all([
        raw.set(`raw:${ids[i]}`, values[i], 'PX', TTL_SECONDS * 1000, 'NX'),
        raw.nrsIndexAdd(userIndexKey('raw:', seedUser(i).id), now, ids[i], absolute, '', 0),
      ]),
    );
  const timed = async (run: (n: number) => Promise<void>) => {
    await admin.flushall();
    const started = performance.now();
    await run(count);
    return count / ((performance.now() - started) / 1000);
  };
  try {
    // Warm both paths up (connections, scripts, JIT) before timing either.
    await ours(Math.min(2000, count));
    await rawWrites(Math.min(2000, count));
    const oursRates: number[] = [];
    const rawRates: number[] = [];
    for (let round = 0; round < rounds; round++) {
      oursRates.push(await timed(ours));
      rawRates.push(await timed(rawWrites));
    }
    await admin.flushall();
    const serviceCreatePerSecond = median(oursRates);
    const rawPipelinePerSecond = median(rawRates);
    return {
      sessions: count,
      serviceCreatePerSecond,
      rawPipelinePerSecond,
      ratio: serviceCreatePerSecond / rawPipelinePerSecond,
    };
  } finally {
    await context.close();
    raw.disconnect();
    admin.disconnect();
  }
}

export interface BulkResult {
  revokeAllSessions: number;
  revokeAllMs: number;
  listSessions: number;
  listMs: number;
}

/**
 * `revokeAll` of one user with many sessions, and `list` of one user with many (median of 5):
 * every page of 1,000 (`listPage`), so the time is that of listing them all.
 */
export async function measureBulk(redisUrl: string, revokeCount: number, listCount: number): Promise<BulkResult> {
  const admin = new Redis(redisUrl);
  const { context, service } = await sessionContext(redisUrl);
  try {
    await admin.flushall();
    const revokeTimes: number[] = [];
    const listTimes: number[] = [];
    for (let round = 0; round < 5; round++) {
      await inWaves(revokeCount, 100, () => service.create({ id: 'many' }, { ip: seedIp(round), userAgent: USER_AGENT }));
      const started = performance.now();
      const revoked = await service.revokeAll('many');
      revokeTimes.push(performance.now() - started);
      if (revoked !== revokeCount) throw new Error(`revokeAll revoked ${revoked} of ${revokeCount}`);
    }
    await inWaves(listCount, 100, () => service.create({ id: 'lister' }, { userAgent: USER_AGENT }));
    for (let round = 0; round < 5; round++) {
      const started = performance.now();
      let listed = 0;
      let cursor: string | null = null;
      do {
        const page: { sessions: unknown[]; nextCursor: string | null } = await service.listPage(
          'lister',
          cursor === null ? { limit: 1000 } : { limit: 1000, cursor },
        );
        listed += page.sessions.length;
        cursor = page.nextCursor;
      } while (cursor !== null);
      listTimes.push(performance.now() - started);
      if (listed !== listCount) throw new Error(`list returned ${listed} of ${listCount}`);
    }
    await admin.flushall();
    return {
      revokeAllSessions: revokeCount,
      revokeAllMs: median(revokeTimes),
      listSessions: listCount,
      listMs: median(listTimes),
    };
  } finally {
    await context.close();
    admin.disconnect();
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface UpdateResult {
  sessions: number;
  updatesPerSecond: number;
  redisCommandsPerUpdate: number;
  redisUsecPerUpdate: number;
}

/**
 * `SessionService.update` (a cart line added to each of `count` sessions, 100 in flight): the
 * rate, and what Redis spent per update (INFO commandstats: the one EVALSHA, whose GET, SET and
 * PTTL run inside it).
 */
export async function measureUpdate(redisUrl: string, count: number): Promise<UpdateResult> {
  const admin = new Redis(redisUrl);
  const { context, service } = await sessionContext(redisUrl);
  try {
    const tokens: string[] = new Array(count);
    await inWaves(count, 100, async (i) => {
      tokens[i] = (await service.create(seedUser(i), { ip: seedIp(i), userAgent: USER_AGENT })).token;
    });
    await inWaves(Math.min(count, 1000), 100, (i) => service.update(tokens[i], { warm: true })); // loads the script
    await admin.config('RESETSTAT');
    const started = performance.now();
    await inWaves(count, 100, (i) => service.update(tokens[i], { cart: [`sku-${i}`, 'sku-2'], theme: 'dark' }));
    const seconds = (performance.now() - started) / 1000;
    const info = await admin.info('commandstats');
    let calls = 0;
    let usec = 0;
    for (const match of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+),usec=(\d+)/gm)) {
      calls += Number(match[2]);
      usec += Number(match[3]);
    }
    await admin.flushall();
    return {
      sessions: count,
      updatesPerSecond: count / seconds,
      redisCommandsPerUpdate: calls / count,
      redisUsecPerUpdate: usec / count,
    };
  } finally {
    await context.close();
    admin.disconnect();
  }
}
