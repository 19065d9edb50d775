import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { SessionModule, SessionService, type SessionModuleOptions } from '../../src/index.js';
import { assertionClient, testRedisUrl, uniquePrefix } from './redis.js';

export interface ServiceHarness {
  app: INestApplication;
  service: SessionService;
  redis: Redis;
  /** The key prefix in use ('session:' when the test asked for the default). */
  prefix: string;
  close(): Promise<void>;
}

/** SessionService on a real Redis, without HTTP: for integration tests of the store and scripts. */
export async function createServiceHarness(options: Partial<SessionModuleOptions> = {}): Promise<ServiceHarness> {
  // `keyPrefix: undefined` asks for the module's default prefix.
  const prefix = 'keyPrefix' in options ? options.keyPrefix : uniquePrefix('int');
  const moduleRef = await Test.createTestingModule({
    imports: [
      SessionModule.forRoot({
        redis: { url: testRedisUrl() },
        controller: false,
        // The shared test Redis serves every suite at once: on a busy CI machine a burst of 100
        // concurrent updates once waited past the default 1 s. Tests of the deadline itself set
        // their own, on a Redis of their own.
        redisTimeoutMs: 5000,
        ...options,
        ...(prefix !== undefined && { keyPrefix: prefix }),
      }),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  const redis = assertionClient();
  await redis.ping();
  return {
    app,
    service: app.get(SessionService),
    redis,
    prefix: prefix ?? 'session:',
    async close() {
      await app.close();
      redis.disconnect();
    },
  };
}
