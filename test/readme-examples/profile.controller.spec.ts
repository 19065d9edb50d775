// docs/testing.md: "Testing your app" (unit: no Redis, no SessionModule, the guard overridden). Jest runs
// this file as it is; test/testing-helper.e2e-spec.ts runs the same on Express and Fastify.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SessionGuard, type Session } from '../../src/index.js';
import { sessionForTest, sessionGuardForTest } from '../../src/testing/index.js';
import request from 'supertest';
import { ProfileController } from './profile.controller.js';

describe('ProfileController (no Redis)', () => {
  let app: INestApplication;
  let session: Session | null = null; // who is signed in: each test says

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [ProfileController] })
      .overrideGuard(SessionGuard)
      .useValue(sessionGuardForTest(() => session))
      .compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });
  afterAll(() => app.close());

  it('GET /admin/stats: 401 signed out, 403 for a user, 200 for an admin', async () => {
    session = null;
    await request(app.getHttpServer()).get('/admin/stats').expect(401);
    session = sessionForTest({ id: 42, role: 'user' });
    await request(app.getHttpServer()).get('/admin/stats').expect(403);
    session = sessionForTest({ id: 1, role: 'admin' });
    await request(app.getHttpServer()).get('/admin/stats').expect(200, { userId: 1 });
  });

  it('a handler called directly takes its session as an argument', () => {
    const controller = new ProfileController();
    expect(controller.me(sessionForTest({ id: 42, username: 'ann' }))).toEqual({ id: 42, name: 'ann' });
  });
});
