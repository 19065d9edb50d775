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
