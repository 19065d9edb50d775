import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';

/** An environment variable a bench child process cannot run without. */
export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

/**
 * Tells the parent where the app listens (one JSON line `{"port": N}`, what main.ts and soak.ts
 * wait for) and closes it on SIGTERM/SIGINT.
 */
export function announce(app: INestApplication, close: () => Promise<unknown> = () => app.close()): void {
  const { port } = app.getHttpServer().address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  const stop = () => void close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/**
 * Counts the HTTP requests the server handled (autocannon does not count those in flight at the
 * cut-off), so Redis commands per request are exact; `GET /__handled` answers the count and
 * resets it. The same cost on every route.
 */
export function countHandled(app: {
  use(handler: (request: { url?: string }, response: { json(body: unknown): void }, next: () => void) => void): unknown;
}): void {
  let handled = 0;
  app.use((request, response, next) => {
    if (request.url === '/__handled') {
      response.json({ handled });
      handled = 0;
      return;
    }
    handled++;
    next();
  });
}
