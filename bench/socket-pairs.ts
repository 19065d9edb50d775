/**
 * The guarded socket.io message against its unguarded twin in paired slices
 * (socket-slices.ts), for each cache mode, in a fresh app of its own: the bench's steadiest
 * figure for the socket ratio, beside the twins' per-round one. Each pair's ratio is the guarded
 * slice's rate over the unguarded one's (and the same from the app's CPU per message); the
 * figures are their median and quartiles over every pair.
 */
import { median } from './measure.js';
import { log, runSocketSlices } from './processes.js';
import type { SocketSlice } from './socket-slices.js';
import { startTwinApp, warmApp, type CacheMode, type TwinRedis, type TwinSettings } from './twins.js';

/** Each slice's length: long enough for thousands of messages, short enough that the machine's speed holds over a pair. */
export const SLICE_MS = 500;

/** Pairs run before the measured ones (socket-slices.ts#warmupPairs). */
const WARMUP_PAIRS = 4;

export interface SocketPairs {
  pairs: number;
  sliceMs: number;
  /** Guarded ÷ unguarded messages per second, paired per slice pair: median, first and third quartiles. */
  rate: { median: number; q1: number; q3: number };
  /** Unguarded ÷ guarded app CPU per message, paired likewise. */
  cpu: { median: number; q1: number; q3: number };
  slices: SocketSlice[];
}

export async function measureSocketPairs(
  redis: TwinRedis,
  work: string,
  s: TwinSettings,
  pairs: number,
  sliceMs: number,
): Promise<Record<CacheMode, SocketPairs>> {
  const out = {} as Record<CacheMode, SocketPairs>;
  for (const mode of ['off', 'on'] as const) {
    await redis[mode].admin.flushall();
    const app = await startTwinApp(redis, mode, s.sessions, work);
    try {
      await warmApp(app, s);
      const slices = await runSocketSlices({
        url: app.server.base,
        events: ['open', 'me'],
        cookieFile: app.cookieFile,
        pairs,
        warmupPairs: WARMUP_PAIRS,
        sliceMs,
        connections: s.connections,
      });
      out[mode] = { pairs, sliceMs, ...ratios(slices, pairs), slices };
      log(
        `bench: socket pairs, cache ${mode}: guarded / unguarded ${out[mode].rate.median.toFixed(2)} (quartiles ${out[mode].rate.q1.toFixed(2)}–${out[mode].rate.q3.toFixed(2)}), CPU ${out[mode].cpu.median.toFixed(2)}, ${pairs} pairs of ${sliceMs} ms`,
      );
    } finally {
      await app.server.stop();
    }
  }
  return out;
}

function ratios(slices: SocketSlice[], pairs: number): Pick<SocketPairs, 'rate' | 'cpu'> {
  const rate: number[] = [];
  const cpu: number[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    const open = slices.find((x) => x.pair === pair && x.event === 'open')!;
    const me = slices.find((x) => x.pair === pair && x.event === 'me')!;
    if (open.acks === 0 || me.acks === 0) throw new Error(`socket pairs: pair ${pair} answered no message`);
    rate.push(me.acks / me.ms / (open.acks / open.ms));
    cpu.push(open.cpuUs / open.acks / (me.cpuUs / me.acks));
  }
  return { rate: spread(rate), cpu: spread(cpu) };
}

function spread(values: number[]): { median: number; q1: number; q3: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: median(values), q1: at(0.25), q3: at(0.75) };
}
