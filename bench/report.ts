/** The bench's printed report (markdown tables), from what main.ts writes to bench/results/latest.json. */
import type { CacheSteady } from './cache-steady.js';
import type { measureBulk, measureCreate, measureMemory, measureUpdate } from './measure.js';
import type { RevocationWindow } from './revocation-window.js';
import type { CacheMode } from './twins-summary.js';
import type { SocketPairs } from './socket-pairs.js';
import { twinLines } from './twins-summary.js';
import type { Twins } from './twins.js';

interface RouteFigures {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  redisCommandsPerRequest: number;
  redisUsecPerRequest: number;
}

export interface Results {
  date: string;
  mode: string;
  durationSeconds: number;
  machine: { cpus: number; node: string; redis: string; loadAverage: { before: number[]; after: number[] } };
  throughput: Record<'A' | 'B' | 'C', RouteFigures> & { ratios: Record<'BoverA' | 'BoverC' | 'AoverC' | 'p99BoverA', number> };
  twins: Twins;
  socketPairs: Record<CacheMode, SocketPairs>;
  cacheSteady: CacheSteady | null;
  revocationWindow: RevocationWindow;
  login: { rps: number; p50: number; p99: number };
  memory: Awaited<ReturnType<typeof measureMemory>>;
  create: Awaited<ReturnType<typeof measureCreate>>;
  bulk: Awaited<ReturnType<typeof measureBulk>>;
  update: Awaited<ReturnType<typeof measureUpdate>>;
}

export function report(r: Results): string {
  const t = r.throughput;
  const f0 = (n: number) => n.toFixed(0);
  const f2 = (n: number) => n.toFixed(2);
  const s = r.cacheSteady;
  const w = r.revocationWindow;
  const lines = [
    '',
    `nestjs-redis-session benchmark (${r.mode}) ${r.date}, ${r.durationSeconds} s`,
    `${r.machine.cpus} CPUs shared by the load generator, Node and Redis; Node ${r.machine.node}; Redis ${r.machine.redis}; load average before ${r.machine.loadAverage.before.map(f2).join(' ')}, after ${r.machine.loadAverage.after.map(f2).join(' ')}`,
    '',
    '| route | req/s | p50 ms | p99 ms | Redis cmds/req | Redis µs/req |',
    '|---|---:|---:|---:|---:|---:|',
    ...(['A', 'B', 'C'] as const).map(
      (k) =>
        `| ${k}: ${t[k].label} | ${f0(t[k].rps)} | ${t[k].p50} | ${t[k].p99} | ${t[k].redisCommandsPerRequest.toFixed(3)} | ${f2(t[k].redisUsecPerRequest)} |`,
    ),
    '',
    `B/A ${f2(t.ratios.BoverA)} (target ≥ 0.92)   B/C ${f2(t.ratios.BoverC)} (target ≥ 1.35; ceiling A/C ${f2(t.ratios.AoverC)})   p99 B/A ${f2(t.ratios.p99BoverA)} (target ≤ 1.2)`,
    '',
    `Twins (app processes of their own, Express, binding: { ip: 'enforce', userAgent: 'enforce' } with matching requests; Apollo and a socket.io gateway; cache: false and cache: true, each on a redis-server of its own; ${r.twins.sessions} sessions, rotated per request over HTTP, one per socket; ${r.twins.durationSeconds} s per run; fresh apps every round, the cache-on one's cache filled with one request per session, ${r.twins.warmupSeconds > 0 ? `then ${r.twins.warmupSeconds} s of each twin` : 'no other warm-up'}; medians over ${r.twins.rounds} rounds, every other one in reverse order, each ratio paired within a round; ${r.twins.connections} connections, one operation outstanding on each):`,
    '',
    ...twinLines(r.twins),
    '',
    `socket.io message, guarded / unguarded in paired slices (${r.socketPairs.on.pairs} pairs of ${r.socketPairs.on.sliceMs} ms, 'open' and 'me' alternating over the same sockets, a fresh app per mode): ${(['off', 'on'] as const).map((m) => `cache ${m} ${f2(r.socketPairs[m].rate.median)} (quartiles ${f2(r.socketPairs[m].rate.q1)}–${f2(r.socketPairs[m].rate.q3)}; CPU ${f2(r.socketPairs[m].cpu.median)})`).join(', ')}`,
    '',
    s
      ? `cache on, guarded REST without a break for ${s.seconds} s, sessions last active over one slide interval (${s.slideEveryMs / 1000} s): ${f0(s.rps)} req/s, p99 ${s.p99} ms, ${s.cmdsPerOp.toFixed(4)} Redis cmds/req (${s.slidesPerOp.toFixed(4)} GETEX slides/req; the slides alone should cost ${s.modelCmdsPerOp.toFixed(4)})`
      : 'cache on, steady state with sliding: full run only',
    `revocation window (${w.processes}; ${w.rounds} rounds): B's logout answer to A's first refusal median ${f2(w.medianMs)} ms, p99 ${f2(w.p99Ms)} ms (target ≤ 50), max ${f2(w.maxMs)} ms; A answered 200 after the logout in ${w.staleRounds} rounds; A's second request was a cache hit in ${w.secondRequestsFromCache} of ${w.rounds}`,
    '',
    `| memory per session (${r.memory.sessions} sessions, used_memory delta) | bytes |`,
    '|---|---:|',
    `| ours: session key only | ${f0(r.memory.oursSessionKey)} |`,
    `| ours: with the per-user index, 1 session per user | ${f0(r.memory.oursOnePerUser)} |`,
    `| ours: with the per-user index, 4 sessions per user | ${f0(r.memory.oursFourPerUser)} |`,
    `| express-session + connect-redis | ${f0(r.memory.connectRedis)} |`,
    '',
    `create: SessionService.create ${f0(r.create.serviceCreatePerSecond)}/s vs raw pipeline ${f0(r.create.rawPipelinePerSecond)}/s = ${f2(r.create.ratio)} (target ≥ 0.8; ${r.create.sessions} sessions)`,
    `login over HTTP (argon2id): ${f0(r.login.rps)} req/s, p50 ${r.login.p50} ms, p99 ${r.login.p99} ms`,
    `update: ${f0(r.update.updatesPerSecond)}/s over ${r.update.sessions} sessions, ${r.update.redisCommandsPerUpdate.toFixed(3)} Redis command and ${f2(r.update.redisUsecPerUpdate)} Redis µs per update`,
    `revokeAll of ${r.bulk.revokeAllSessions} sessions: ${f2(r.bulk.revokeAllMs)} ms (target < 100)   list of ${r.bulk.listSessions}: ${f2(r.bulk.listMs)} ms`,
    '',
  ];
  return lines.join('\n');
}
