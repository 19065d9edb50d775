// docs/testing.md: "Testing your app" (a gateway: the README's ChatGateway, a socket.io handshake with the
// helper's token). Jest runs this file as it is; test/testing-helper.e2e-spec.ts runs the same on
// Express and Fastify.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testRedisUrl } from '../support/redis.js';
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SessionModule } from '../../src/index.js';
import { signInForTest } from '../../src/testing/index.js';
import { io } from 'socket.io-client';
import { ChatGateway } from './chat.gateway.js';

describe('ChatGateway (e2e)', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRoot({
          redis: { url: process.env.REDIS_URL! },
          keyPrefix: `test:${randomUUID()}:`,
          transport: 'both', // socket.io's auth.token is a bearer token
        }),
      ],
      providers: [ChatGateway],
    }).compile();
    app = moduleRef.createNestApplication();
    await app.listen(0, '127.0.0.1');
  });
  afterAll(() => app.close());

  it('a handshake with the token; a guarded message sees the user', async () => {
    const { socketAuth } = await signInForTest(app, { id: 42, username: 'ann' });
    const socket = io(await app.getUrl(), { auth: socketAuth, transports: ['websocket'] });
    try {
      expect(await socket.timeout(2000).emitWithAck('whoami')).toBe('ann');
    } finally {
      socket.disconnect();
    }
  });
});

// The harness: the suite's Redis is where a user's CI would set REDIS_URL (read in beforeAll).
process.env.REDIS_URL = testRedisUrl();
