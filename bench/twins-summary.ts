/**
 * The twins' runs summed up per cache mode (medians over rounds for rates, latencies and each
 * guarded twin's ratio to its unguarded one, paired within a round; Redis
 * commands summed over every round, divided by every operation), the checks that fail the bench
 * on real breakage (never on a ratio: rates swing by tens of percent between rounds on a shared
 * 2-core machine), and the printed table.
 */
import { median } from './measure.js';
import { sentCalls } from './redis-stats.js';

export const TWINS = {
  restOpen: { label: 'REST route, unguarded', kind: 'rest', query: '', event: '' },
  restMe: { label: 'REST route, SessionGuard with binding enforced', kind: 'rest', query: '', event: '' },
  gqlOpen: { label: 'GraphQL query `{ open }`, unguarded', kind: 'graphql', query: '{ open }', event: '' },
  gqlMe: { label: 'GraphQL query `{ me }`, SessionGuard', kind: 'graphql', query: '{ me }', event: '' },
  sockOpen: { label: "socket.io message 'open', unguarded", kind: 'socket', query: '', event: 'open' },
  sockMe: { label: "socket.io message 'me', SessionGuard", kind: 'socket', query: '', event: 'me' },
  // What any guard costs on a message, before the guard's own work: Nest's guard runner and a parameter decorator.
  sockFloor: {
    label: "socket.io message 'floor', a guard that returns true",
    kind: 'socket',
    query: '',
    event: 'floor',
  },
} as const;
export type TwinKey = keyof typeof TWINS;
export const TWIN_KEYS = Object.keys(TWINS) as TwinKey[];
export type CacheMode = 'off' | 'on';

export interface TwinRun {
  key: TwinKey;
  mode: CacheMode;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  ops: number;
  /** The app process's CPU time (user + system) over the measured run, µs. */
  cpuUs: number;
  redisCalls: number;
  redisUsec: number;
  byCommand: Record<string, { calls: number; usec: number }>;
}

/** Commands that keep a connection up and touch no key: the cache's tracking connection sends them (its heartbeat PINGs once a second). */
export const UPKEEP = new Set(['ping', 'client', 'subscribe', 'hello']);

export interface TwinFigures {
  rps: number;
  p50: number;
  p99: number;
  ops: number;
  /** The app's CPU time per operation, µs: every round's CPU over every round's operations. */
  cpuUsPerOp: number;
  /** Every command the app sent (redis-stats.ts#sentCalls; INFO and CONFIG aside), per operation. */
  cmdsPerOp: number;
  /** The same without the tracking connection's upkeep (PING, CLIENT, SUBSCRIBE). */
  dataCmdsPerOp: number;
  usecPerOp: number;
  /**
   * Calls per operation, by command, as Redis counts them (`evalsha`: a cache miss's read, whose
   * GET and PTTL Redis counts too; `getex`: a slide, or a call without the cache).
   */
  perOp: Record<string, number>;
}

export type TwinRatios = Record<'rest' | 'graphql' | 'socket' | 'socketFloor', number>;

export function summariseTwins(runs: TwinRun[]) {
  const figures = (mode: CacheMode) =>
    Object.fromEntries(
      TWIN_KEYS.map((key) => {
        const rs = runs.filter((r) => r.key === key && r.mode === mode);
        const ops = rs.reduce((sum, r) => sum + r.ops, 0);
        const byCommand: Record<string, { calls: number }> = {};
        for (const r of rs)
          for (const [name, c] of Object.entries(r.byCommand))
            byCommand[name] = { calls: (byCommand[name]?.calls ?? 0) + c.calls };
        const calls = sentCalls(byCommand);
        const upkeep = Object.entries(byCommand).reduce((sum, [name, c]) => sum + (UPKEEP.has(name) ? c.calls : 0), 0);
        const figure: TwinFigures = {
          rps: median(rs.map((r) => r.rps)),
          p50: median(rs.map((r) => r.p50)),
          p99: median(rs.map((r) => r.p99)),
          ops,
          cpuUsPerOp: rs.reduce((sum, r) => sum + r.cpuUs, 0) / ops,
          cmdsPerOp: calls / ops,
          dataCmdsPerOp: (calls - upkeep) / ops,
          usecPerOp: rs.reduce((sum, r) => sum + r.redisUsec, 0) / ops,
          perOp: Object.fromEntries(Object.entries(byCommand).map(([name, c]) => [name, c.calls / ops])),
        };
        return [key, figure];
      }),
    ) as Record<TwinKey, TwinFigures>;
  // Each ratio is the median over rounds of the two twins' rates in the same round (same app
  // process, minutes apart at most): rates swing by tens of percent between rounds.
  const rounds = [...new Set(runs.map((r) => r.round))];
  const rate = (mode: CacheMode, key: TwinKey, round: number) =>
    runs.find((r) => r.mode === mode && r.key === key && r.round === round)?.rps ?? NaN;
  const paired = (mode: CacheMode, guarded: TwinKey, open: TwinKey) =>
    median(rounds.map((round) => rate(mode, guarded, round) / rate(mode, open, round)));
  // The same ratio from the app's CPU per operation (unguarded ÷ guarded): what the rate ratio
  // would be if the app process were the only limit, and far less moved by the machine's noise.
  const cpu = (mode: CacheMode, key: TwinKey, round: number) => {
    const r = runs.find((run) => run.mode === mode && run.key === key && run.round === round);
    return r ? r.cpuUs / r.ops : NaN;
  };
  const pairedCpu = (mode: CacheMode, guarded: TwinKey, open: TwinKey) =>
    median(rounds.map((round) => cpu(mode, open, round) / cpu(mode, guarded, round)));
  const cpuRatios = (mode: CacheMode): TwinRatios => ({
    rest: pairedCpu(mode, 'restMe', 'restOpen'),
    graphql: pairedCpu(mode, 'gqlMe', 'gqlOpen'),
    socket: pairedCpu(mode, 'sockMe', 'sockOpen'),
    socketFloor: pairedCpu(mode, 'sockFloor', 'sockOpen'),
  });
  const ratios = (mode: CacheMode): TwinRatios => ({
    rest: paired(mode, 'restMe', 'restOpen'),
    graphql: paired(mode, 'gqlMe', 'gqlOpen'),
    socket: paired(mode, 'sockMe', 'sockOpen'),
    socketFloor: paired(mode, 'sockFloor', 'sockOpen'),
  });
  const summary = { off: figures('off'), on: figures('on') };
  return {
    summary,
    ratios: { off: ratios('off'), on: ratios('on') },
    cpuRatios: { off: cpuRatios('off'), on: cpuRatios('on') },
  };
}

/** Above this many data commands per guarded call with the cache on, it answers fewer than half the calls: broken, not noisy (its target is 0.05). */
const CACHED_MOST = 0.5;

/**
 * CI runs the quick bench: it fails here when a cache-off guarded twin sends more or fewer than
 * its one command (exactly 1.000 as printed), when an unguarded twin sends a data command, when
 * the cache-on guarded twins send more than CACHED_MOST, or when a mode ran no operation.
 */
export function checkTwins({ summary }: ReturnType<typeof summariseTwins>): void {
  for (const mode of ['off', 'on'] as const) {
    for (const key of TWIN_KEYS) {
      const f = summary[mode][key];
      const guarded = key.endsWith('Me');
      const fail = (what: string) => {
        throw new Error(`twins, cache ${mode}, ${key}: ${what}`);
      };
      if (!(f.ops > 0)) fail('no operation ran');
      if (!guarded && f.dataCmdsPerOp !== 0) fail(`${f.dataCmdsPerOp} Redis data commands per operation, not 0`);
      if (mode === 'off' && Math.abs(f.cmdsPerOp - (guarded ? 1 : 0)) >= 0.0005)
        fail(`${f.cmdsPerOp} Redis commands per operation, not ${guarded ? 1 : 0}`);
      if (mode === 'on' && guarded && f.dataCmdsPerOp > CACHED_MOST)
        fail(
          `${f.dataCmdsPerOp} Redis data commands per operation with the cache (more than ${CACHED_MOST}: it is not answering)`,
        );
    }
  }
}

/** The twins' table (markdown), both modes. */
export function twinLines(t: ReturnType<typeof summariseTwins>): string[] {
  const ratioOf = (key: TwinKey, r: TwinRatios) =>
    (({ restMe: r.rest, gqlMe: r.graphql, sockMe: r.socket, sockFloor: r.socketFloor }) as Partial<Record<TwinKey, number>>)[key];
  return [
    '| operation | cache | per s | p50 ms | p99 ms | Redis cmds/op | Redis µs/op | app CPU µs/op | guarded / unguarded: rate (CPU) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...TWIN_KEYS.flatMap((key) =>
      (['off', 'on'] as const).map((mode) => {
        const f = t.summary[mode][key];
        const ratio = ratioOf(key, t.ratios[mode]);
        const cpuRatio = ratioOf(key, t.cpuRatios[mode]);
        const ratios = ratio === undefined ? '' : `${ratio.toFixed(2)} (${cpuRatio!.toFixed(2)})`;
        return `| ${TWINS[key].label} | ${mode} | ${f.rps.toFixed(0)} | ${f.p50} | ${f.p99} | ${f.cmdsPerOp.toFixed(3)} | ${f.usecPerOp.toFixed(2)} | ${f.cpuUsPerOp.toFixed(1)} | ${ratios} |`;
      }),
    ),
  ];
}
