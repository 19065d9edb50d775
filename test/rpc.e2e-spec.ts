import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { ClientProxyFactory, MessagePattern, Transport, type ClientProxy } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import request from 'supertest';
import { Roles, SessionGuard, SessionModule } from '../src/index.js';
import { validateCredentials } from './support/app.js';
import { testRedisUrl, uniquePrefix } from './support/redis.js';

/** Message handlers of a hybrid app: no cookie or header ever travels with them. */
@Controller()
class JobsController {
  @MessagePattern('jobs.count')
  count(): number {
    return 42;
  }

  @Roles('admin')
  @MessagePattern('jobs.purge')
  purge(): string {
    return 'purged';
  }

  @UseGuards(SessionGuard)
  @MessagePattern('jobs.explicit')
  explicit(): string {
    return 'explicit';
  }
}

@Module({ controllers: [JobsController] })
class JobsModule {}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

describe('globalGuard: true in a hybrid app (HTTP + a TCP microservice)', () => {
  let app: INestApplication;
  let client: ClientProxy;
  const logs: string[] = [];
  beforeAll(async () => {
    const port = await freePort();
    const moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRoot({
          redis: { url: testRedisUrl() },
          keyPrefix: uniquePrefix('rpc'),
          validateCredentials,
          globalGuard: true,
          isGlobal: true,
        }),
        JobsModule,
      ],
    }).compile();
    app = moduleRef.createNestApplication({
      logger: {
        log: (message: unknown) => logs.push(String(message)),
        error: () => undefined,
        warn: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      },
    });
    // inheritAppConfig: the microservice gets the app's global guards (without it Nest runs none on it).
    app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port } }, { inheritAppConfig: true });
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  it('lets an undecorated message handler through unchanged', async () => {
    expect(await firstValueFrom(client.send('jobs.count', {}))).toBe(42);
  });

  it('refuses a handler that asks for a role (no session can reach it), and one with an explicit @UseGuards(SessionGuard)', async () => {
    await expect(firstValueFrom(client.send('jobs.purge', {}))).rejects.toMatchObject({ message: 'Forbidden resource' });
    await expect(firstValueFrom(client.send('jobs.explicit', {}))).rejects.toMatchObject({ message: 'Forbidden resource' });
  });

  it('still guards every HTTP route, and says once at boot what it does with RPC handlers', async () => {
    expect((await request(app.getHttpServer()).get('/auth/session')).status).toBe(401);
    expect(logs.filter((line) => line.startsWith('globalGuard:'))).toHaveLength(1);
    expect(logs.find((line) => line.startsWith('globalGuard:'))).toMatch(
      /RPC \(microservice\) handlers .* let through unless they have @Roles\(\) or @RequireFreshSession\(\)/,
    );
  });
});
