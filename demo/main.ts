import type { AddressInfo } from 'node:net';
import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { provideRedis, type ProvidedRedis } from '../test/support/servers/redis-provider.js';
import { AppModule } from './app.module.js';
import { setupDemoDocs } from './docs.js';
import { demoAccounts } from './users.js';

const logger = new Logger('Demo');

/**
 * `npm start`: the demo on PORT (default 3000), HOST (default 127.0.0.1: the printed
 * passwords are for this machine only). Redis is REDIS_URL, or one provided for the
 * demo's lifetime (a container or a private redis-server) and stopped on exit.
 */
async function main(): Promise<void> {
  const port = parsePort(process.env.PORT ?? '3000');
  const host = process.env.HOST ?? '127.0.0.1';
  const cookieSecure = process.env.COOKIE_SECURE !== 'false';

  let redis: ProvidedRedis;
  try {
    redis = await provideRedis((line) => logger.log(line));
  } catch (err) {
    fail(err);
  }
  logger.log(`Redis: ${redis.url} (${redis.source})`);

  let app: NestExpressApplication | undefined;
  // From here on, a signal must not leave a spawned redis-server behind, even mid-boot.
  handleSignals(redis, () => app);
  const accounts = demoAccounts();
  try {
    // abortOnError false: a failed boot throws here (and stops Redis) instead of process.abort().
    app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ redisUrl: redis.url, accounts, cookieSecure }), {
      abortOnError: false,
    });
    app.disable('x-powered-by');
    app.enableShutdownHooks();
    setupDemoDocs(app); // Swagger UI at /docs, the document at /docs-json
    await app.listen(port, host);
  } catch (err) {
    await app?.close().catch(() => undefined);
    await redis.stop();
    fail(err);
  }

  const { port: actualPort } = app.getHttpServer().address() as AddressInfo;
  const shownHost = ['127.0.0.1', '::1', '0.0.0.0', '::'].includes(host) ? 'localhost' : host;
  logger.log(`Listening on http://${shownHost}:${actualPort} (bound to ${host})`);
  logger.log(`API docs: http://${shownHost}:${actualPort}/docs, health: http://${shownHost}:${actualPort}/health`);
  logger.log('Demo users (new passwords on every start):');
  for (const account of accounts) {
    logger.log(`  ${account.username} / ${account.password}  (role ${account.role})`);
  }
  if (!cookieSecure) {
    logger.warn('COOKIE_SECURE=false: the session cookie lacks Secure and would travel over plain HTTP');
  }
}

/**
 * `enableShutdownHooks()` closes the app on SIGINT/SIGTERM and then re-raises the
 * signal, which would kill the process before a spawned redis-server is stopped (it
 * would outlive us). This listener stays registered, so the re-raised signal lands
 * here and is ignored: we join the same close (Nest runs one shutdown at a time),
 * stop Redis, then exit.
 */
function handleSignals(redis: ProvidedRedis, currentApp: () => INestApplication | undefined): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: shutting down`);
    setTimeout(() => {
      logger.error('Shutdown took over 10 s; exiting anyway');
      process.exit(1);
    }, 10_000).unref();
    void (async () => {
      let code = 0;
      try {
        await currentApp()?.close(); // the shutdown Nest already started, not a second one
      } catch (err) {
        logger.error(`Closing the app failed: ${describe(err)}`);
        code = 1;
      }
      await redis.stop();
      logger.log(redis.source === 'REDIS_URL' ? 'Stopped' : `Stopped, and the ${redis.source} Redis with it`);
      process.exit(code);
    })();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, onSignal);
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) fail(`PORT must be a TCP port number (0-65535), got '${value}'`);
  return port;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function fail(err: unknown): never {
  logger.error(describe(err));
  process.exit(1);
}

await main();
