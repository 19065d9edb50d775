/**
 * The socket.io twins in short alternating slices, in a process of its own: opens `connections`
 * sockets (each with another session's cookie) once, then runs `pairs` pairs of slices, one per
 * event of `events` (the order swapped every other pair), each `sliceMs` long with one message
 * outstanding per socket, and the app's CPU read over each slice (`GET /__handled`). Two slices
 * of a pair are a second apart at most, so a machine whose speed moves by 2× over minutes (this
 * one's did within one run) moves both alike: their ratio is what is left of the noise. Prints
 * one JSON line: every slice's event, acks, ms and the app's CPU µs.
 */
import { openSockets } from './socket-clients.js';

export interface SocketSlicesSpec {
  url: string;
  events: [string, string];
  cookieFile: string;
  pairs: number;
  /** Pairs run first and not reported: the sockets' and both handlers' first messages (JIT, buffers). */
  warmupPairs: number;
  sliceMs: number;
  connections: number;
}

export interface SocketSlice {
  event: string;
  pair: number;
  acks: number;
  ms: number;
  cpuUs: number;
}

const spec = JSON.parse(process.argv[2]) as SocketSlicesSpec;
const sockets = await openSockets(spec.url, spec.cookieFile, spec.connections);

const cpuSince = async (): Promise<number> => ((await (await fetch(`${spec.url}/__handled`)).json()) as { cpuUs: number }).cpuUs;

/** One slice: every socket sends `event` until `sliceMs` passed, and the answers in flight then are waited for. */
async function slice(event: string, pair: number): Promise<SocketSlice> {
  let acks = 0;
  await cpuSince();
  const started = performance.now();
  const until = started + spec.sliceMs;
  await Promise.all(
    sockets.map(async (socket) => {
      while (performance.now() < until) {
        const answer: unknown = await socket.timeout(5000).emitWithAck(event);
        if (answer === undefined || answer === null) throw new Error(`'${event}' answered ${String(answer)}`);
        acks++;
      }
    }),
  );
  const ms = performance.now() - started;
  return { event, pair, acks, ms, cpuUs: await cpuSince() };
}

const slices: SocketSlice[] = [];
for (let pair = -spec.warmupPairs; pair < spec.pairs; pair++) {
  const order = pair % 2 === 0 ? spec.events : [spec.events[1], spec.events[0]];
  for (const event of order) {
    const measured = await slice(event, pair);
    if (pair >= 0) slices.push(measured);
  }
}
for (const socket of sockets) socket.disconnect();
process.stdout.write(`${JSON.stringify(slices)}\n`);
process.exit(0);
