// docs/testing.md: "Testing your app" (e2e: the real guard on a real Redis). Jest runs this file as it
// is; test/testing-helper.e2e-spec.ts runs the same on Express and Fastify.
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { testRedisUrl } from '../support/redis.js';
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SessionModule } from '../../src/index.js';
import { signInForTest, signOutForTest } from '../../src/testing/index.js';
import request from 'supertest';
import { ProfileController } from './profile.controller.js';

describe('ProfileController (e2e)', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRoot({
          redis: { url: process.env.REDIS_URL! }, // CI's Redis, a container, a local redis-server
          keyPrefix: `test:${randomUUID()}:`, // this run's keys, whoever else uses that Redis
        }),
      ],
      controllers: [ProfileController], // or imports: [AppModule]
    }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });
  afterAll(() => app.close());

  it('GET /me answers the signed-in user', async () => {
    const { cookie } = await signInForTest(app, { id: 42, username: 'ann', role: 'user' });
    await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200, { id: 42, name: 'ann' });
  });

  it('GET /admin/stats: 403 for a user, 200 for an admin, 401 once signed out', async () => {
    const user = await signInForTest(app, { id: 42, role: 'user' });
    await request(app.getHttpServer()).get('/admin/stats').set('Cookie', user.cookie).expect(403);
    const admin = await signInForTest(app, { id: 1, role: 'admin' });
    await request(app.getHttpServer()).get('/admin/stats').set('Cookie', admin.cookie).expect(200, { userId: 1 });
    await signOutForTest(app, admin);
    await request(app.getHttpServer()).get('/admin/stats').set('Cookie', admin.cookie).expect(401);
  });
});

// The harness: the suite's Redis is where a user's CI would set REDIS_URL (read in beforeAll).
process.env.REDIS_URL = testRedisUrl();
