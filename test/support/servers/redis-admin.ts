import { Redis } from 'ioredis';

/** Connection name of the harness's own short-lived connections (CLIENT LIST shows it). */
export const ADMIN_CLIENT_NAME = 'nrs-test';

/**
 * Runs one command on one server over a short-lived connection, bounded in time. No
 * reconnects and no client left behind: fit for servers that the caller may have
 * just killed. Rejects with a message naming the server and the command.
 */
export async function adminCommand(
  port: number,
  args: Array<string | number>,
  options: { host?: string; timeoutMs?: number } = {},
): Promise<unknown> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 2000;
  const client = new Redis({
    host,
    port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    connectionName: ADMIN_CLIENT_NAME,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const [name, ...rest] = args.map(String);
    return await client.call(name, ...rest);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`${host}:${port} ${args.join(' ')}: ${reason}`, { cause: err });
  } finally {
    client.disconnect();
  }
}

/** `adminCommand` that answers null instead of throwing (for servers that may be down). */
export async function tryAdminCommand(
  port: number,
  args: Array<string | number>,
  options?: { host?: string; timeoutMs?: number },
): Promise<unknown> {
  try {
    return await adminCommand(port, args, options);
  } catch {
    return null;
  }
}

/** `INFO <section>` as a map of field → value. */
export async function infoFields(port: number, section: string): Promise<Record<string, string>> {
  const text = String(await adminCommand(port, ['INFO', section]));
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/**
 * Polls `check` until it returns a value other than undefined/false, or the deadline
 * passes; then throws with `what` and the last problem seen (an error or the string
 * `check` returned through `explain`).
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: (explain: (problem: string) => void) => Promise<T | undefined | false>,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not checked yet';
  for (;;) {
    try {
      const result = await check((problem) => {
        last = problem;
      });
      if (result !== undefined && result !== false) return result;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
