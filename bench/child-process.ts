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
 * cut-off), so Redis commands per request are exact; `GET /__handled` answers the count and the
 * process's CPU time (user + system, µs) since the last call, and resets both. CPU per operation
 * is the steadier figure on a shared machine: a busy neighbour slows the wall clock, not the
 * work a message costs. The same cost on every route.
 */
export function countHandled(app: {
  use(handler: (request: { url?: string }, response: { json(body: unknown): void }, next: () => void) => void): unknown;
}): void {
  let handled = 0;
  let cpu = process.cpuUsage();
  app.use((request, response, next) => {
    if (request.url === '/__handled') {
      const used = process.cpuUsage(cpu);
      cpu = process.cpuUsage();
      response.json({ handled, cpuUs: used.user + used.system });
      handled = 0;
      return;
    }
    handled++;
    next();
  });
}
