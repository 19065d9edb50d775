/**
 * The socket.io load generator, in its own process: opens `connections` sockets (each with
 * another session's cookie), prints `ready`, waits for `go` on stdin (the caller resets Redis's
 * counters in between, so connecting costs nothing in the figures), then each socket sends
 * `event` with one message outstanding for `durationSeconds`. Prints one JSON line: acks,
 * msgs/s, p50/p99 ms, errors.
 */
import { openSockets } from './socket-clients.js';

export interface SocketLoadSpec {
  url: string;
  event: string;
  cookieFile: string;
  durationSeconds: number;
  connections: number;
}

export interface SocketLoadResult {
  acks: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const spec = JSON.parse(process.argv[2]) as SocketLoadSpec;
const sockets = await openSockets(spec.url, spec.cookieFile, spec.connections);
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));

const latencies: number[] = [];
let errors = 0;
const started = performance.now();
const until = started + spec.durationSeconds * 1000;
await Promise.all(
  sockets.map(async (socket) => {
    while (performance.now() < until) {
      const sent = performance.now();
      try {
        const answer: unknown = await socket.timeout(5000).emitWithAck(spec.event);
        if (answer === undefined || answer === null) errors++;
        latencies.push(performance.now() - sent);
      } catch {
        errors++;
      }
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
for (const socket of sockets) socket.disconnect();
latencies.sort((a, b) => a - b);
const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
const output: SocketLoadResult = {
  acks: latencies.length,
  seconds,
  rps: latencies.length / seconds,
  p50: at(0.5),
  p99: at(0.99),
  errors,
};
process.stdout.write(`${JSON.stringify(output)}\n`);
process.exit(0);
