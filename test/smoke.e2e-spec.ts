import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createTestApp, type TestApp } from './support/app.js';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ cookie: { secure: true } });
  });
  afterAll(() => t.close());

  it('logs in and reaches a guarded route', async () => {
    const server = t.app.getHttpServer();
    const login = await request(server).post('/auth/login').send({ username: 'alice', password: 'alice-password' });
    expect(login.status).toBe(200);
    const cookie = login.headers['set-cookie'];
    console.log(login.body, cookie);
    const me = await request(server).get('/me').set('Cookie', cookie);
    expect(me.status).toBe(200);
  });
});
