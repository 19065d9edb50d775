import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { CurrentSession, SessionGuard, SessionService, type Session } from '../src/index.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import { commandCalls, costOf } from './support/cache.js';
import { listeningPort } from './support/http.js';
import { uniquePrefix, usePrivateRedis } from './support/redis.js';

/*
 * With the session cache, every hit is answered from one kept copy of the session: a handler
 * that changes the `data` it was handed (instead of calling update) must change nothing that a
 * later request sees, as without the cache, where every request decodes its own copy from Redis.
 */

/** A handler that answers the data it was handed, then changes that object in place. */
@Controller('tamper')
class TamperController {
  @UseGuards(SessionGuard)
  @Get()
  tamper(@CurrentSession() session: Session): unknown {
    const given = structuredClone(session.data);
    const data = session.data as { count?: number; tags?: string[] };
    data.count = (data.count ?? 0) + 1;
    data.tags?.push('changed');
    return given;
  }
}

@Module({ controllers: [TamperController] })
class TamperModule {}

describe.each(ADAPTERS)('session cache: a hit hands out a copy of the data (%s)', (adapter) => {
  const own = usePrivateRedis();
  const open: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });

  it('a handler that changes the data it was handed changes nothing the next request is given', async () => {
    const t = await createTestApp(
      { keyPrefix: uniquePrefix('cache-copies'), redis: { url: own.server.url }, transport: 'both', cache: true, isGlobal: true },
      [TamperModule],
      { adapter, assertionClient: false },
    );
    open.push(t);
    const service = t.app.get(SessionService);
    const id = `u-${randomBytes(5).toString('hex')}`;
    const { token } = await service.create({ id, username: id, role: 'user' });
    await service.updateData(token, { tags: ['a'] });

    const url = `http://127.0.0.1:${listeningPort(t.app.getHttpServer())}/tamper`;
    const answers: unknown[] = [];
    let hits = 0;
    for (let i = 0; i < 6; i++) {
      const cost = await costOf(
        () => commandCalls(own.admin),
        async () => {
          const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
          answers.push({ status: res.status, data: await res.json() });
          return res.status;
        },
      );
      if (Object.keys(cost).length === 0) hits++;
    }
    // Answered from memory: a cache that is never used cannot pass.
    expect(hits).toBeGreaterThanOrEqual(3);
    expect(answers).toEqual(Array.from({ length: 6 }, () => ({ status: 200, data: { tags: ['a'] } })));
    // Redis holds what it held.
    expect((await service.get(token))?.data).toEqual({ tags: ['a'] });
  });
});
