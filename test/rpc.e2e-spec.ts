import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, Logger, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { ClientProxyFactory, EventPattern, MessagePattern, Transport, type ClientProxy } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import request from 'supertest';
import { Public, RequireFreshSession, Roles, SessionGuard, SessionModule } from '../src/index.js';
import { validateCredentials } from './support/app.js';
import { testRedisUrl, uniquePrefix } from './support/redis.js';

/** The events each handler received, by pattern. */
const received: string[] = [];

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

  @RequireFreshSession(300)
  @MessagePattern('jobs.rekey')
  rekey(): string {
    return 'rekeyed';
  }

  @UseGuards(SessionGuard)
  @MessagePattern('jobs.explicit')
  explicit(): string {
    return 'explicit';
  }

  @EventPattern('jobs.seen')
  seen(_data: unknown): void {
    received.push('jobs.seen');
  }

  @Roles('admin')
  @EventPattern('jobs.wipe')
  wipe(_data: unknown): void {
    received.push('jobs.wipe');
  }
}

/** `@Roles()` on the class: every handler of it asks for a role, but the `@Public()` one. */
@Roles('admin')
@Controller()
class AdminJobsController {
  @MessagePattern('admin.stats')
  stats(): string {
    return 'stats';
  }

  @Public()
  @MessagePattern('admin.ping')
  ping(): string {
    return 'pong';
  }
}

@Module({ controllers: [JobsController, AdminJobsController] })
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

const FORBIDDEN = { message: 'Forbidden resource' };

// inheritAppConfig: false is Nest's default: the microservice gets an ApplicationConfig of its
// own and runs none of the app's global guards. The promise holds either way.
describe.each([false, true])(
  'globalGuard: true in a hybrid app (HTTP + a TCP microservice, inheritAppConfig: %s)',
  (inheritAppConfig) => {
    let app: INestApplication;
    let client: ClientProxy;
    const logs: string[] = [];
    const warnings: string[] = [];
    beforeAll(async () => {
      const port = await freePort();
      // The handlers are guarded while the module compiles, before the app has a logger of its own.
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(function (this: Logger, message: unknown) {
        warnings.push(String(message));
      });
      try {
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
      } finally {
        warn.mockRestore();
      }
      app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port } }, { inheritAppConfig });
      await app.startAllMicroservices();
      await app.listen(0, '127.0.0.1');
      client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
      await client.connect();
    });
    afterAll(async () => {
      await client?.close();
      await app?.close();
    });

    it('lets undecorated message handlers through unchanged, and a @Public() one of a @Roles() class', async () => {
      expect(await firstValueFrom(client.send('jobs.count', {}))).toBe(42);
      expect(await firstValueFrom(client.send('admin.ping', {}))).toBe('pong');
    });

    it('refuses a handler that asks for a role (no session can reach it), and one with an explicit @UseGuards(SessionGuard)', async () => {
      await expect(firstValueFrom(client.send('jobs.purge', {}))).rejects.toMatchObject(FORBIDDEN);
      await expect(firstValueFrom(client.send('jobs.explicit', {}))).rejects.toMatchObject(FORBIDDEN);
    });

    it('refuses a handler with @RequireFreshSession(), and the handlers of a class with @Roles()', async () => {
      await expect(firstValueFrom(client.send('jobs.rekey', {}))).rejects.toMatchObject(FORBIDDEN);
      await expect(firstValueFrom(client.send('admin.stats', {}))).rejects.toMatchObject(FORBIDDEN);
    });

    it('runs an undecorated event handler, never one with @Roles()', async () => {
      received.length = 0;
      client.emit('jobs.wipe', {});
      client.emit('jobs.seen', {});
      for (let i = 0; i < 100 && !received.includes('jobs.seen'); i++) await new Promise((r) => setTimeout(r, 10));
      // A round-trip after both events: the server has handled them.
      expect(await firstValueFrom(client.send('jobs.count', {}))).toBe(42);
      expect(received).toEqual(['jobs.seen']);
    });

    it('still guards every HTTP route, and says once at boot what it does with RPC handlers', async () => {
      expect((await request(app.getHttpServer()).get('/auth/session')).status).toBe(401);
      expect(logs.filter((line) => line.startsWith('globalGuard:'))).toHaveLength(1);
      expect(logs.find((line) => line.startsWith('globalGuard:'))).toMatch(
        /RPC \(microservice\) handlers .* let through unless they have @Roles\(\) or @RequireFreshSession\(\)/,
      );
    });

    it('warns once which handlers it guarded, and recommends inheritAppConfig: true', () => {
      const lines = warnings.filter((line) => line.startsWith('globalGuard:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('JobsController.purge, JobsController.rekey, JobsController.wipe, AdminJobsController.stats');
      expect(lines[0]).not.toMatch(/JobsController\.(count|explicit|seen)|AdminJobsController\.ping/);
      expect(lines[0]).toContain('{ inheritAppConfig: true }');
      // One guard per handler: a second app built from the same classes replaced the first one's.
      expect(Reflect.getMetadata('__guards__', JobsController.prototype.purge)).toHaveLength(1);
    });
  },
);
