/**
 * The REST figures: the same tiny route with no session check (A), with SessionGuard (B) and
 * with express-session + connect-redis (C), in one app process (bench/server.ts, the module's
 * defaults: no session cache for HTTP), interleaved A B C per round, medians over rounds.
 */
import type { Redis } from 'ioredis';
import type { LoadResult } from './load.js';
import { median } from './measure.js';
import { handledSince, log, runLoad, sleep } from './processes.js';
import { commandStats } from './redis-stats.js';

export const ROUTES = {
  A: { path: '/a', label: 'no session check (ceiling)', cookieKey: undefined },
  B: { path: '/b', label: 'SessionGuard', cookieKey: 'b' },
  C: { path: '/c', label: 'express-session + connect-redis', cookieKey: 'c' },
} as const;
export type RouteKey = keyof typeof ROUTES;

export interface RunRecord extends LoadResult {
  route: RouteKey;
  round: number;
  /** Requests the server handled during the run (counted server-side). */
  handled: number;
  redisCalls: number;
  redisUsec: number;
  byCommand: Record<string, { calls: number; usec: number }>;
}

export interface RouteSettings {
  rounds: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
}

export async function measureRoutes(
  base: string,
  admin: Redis,
  cookieFile: string,
  settings: RouteSettings,
): Promise<RunRecord[]> {
  const load = (key: RouteKey, durationSeconds: number): Promise<LoadResult> =>
    runLoad({
      url: `${base}${ROUTES[key].path}`,
      method: 'GET',
      cookieFile,
      cookieKey: ROUTES[key].cookieKey,
      durationSeconds,
      connections: settings.connections,
    });
  for (const key of Object.keys(ROUTES) as RouteKey[]) {
    await load(key, settings.warmupSeconds);
  }
  const runs: RunRecord[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    for (const key of Object.keys(ROUTES) as RouteKey[]) {
      await handledSince(base);
      await admin.config('RESETSTAT');
      const result = await load(key, settings.durationSeconds);
      await sleep(200); // let requests in flight at the cut-off finish
      const stats = await commandStats(admin);
      const handled = await handledSince(base);
      runs.push({
        ...result,
        route: key,
        round,
        handled,
        redisCalls: stats.calls,
        redisUsec: stats.usec,
        byCommand: stats.byCommand,
      });
      log(
        `bench: round ${round} ${key}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${(stats.calls / handled).toFixed(3)} cmds/req`,
      );
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${key}: ${result.non2xx} non-2xx and ${result.errors} errors`);
    }
  }

  // The module's default leaves HTTP uncached: B costs exactly its one GETEX (1.000 as printed), A none.
  for (const [key, expected] of [
    ['A', 0],
    ['B', 1],
    ['C', 2],
  ] as const) {
    const rs = runs.filter((r) => r.route === key);
    const perRequest = rs.reduce((sum, r) => sum + r.redisCalls, 0) / rs.reduce((sum, r) => sum + r.handled, 0);
    if (!(Math.abs(perRequest - expected) < 0.0005))
      throw new Error(`${key}: ${perRequest} Redis commands per request, not ${expected}`);
  }
  return runs;
}

export function summarise(runs: RunRecord[]) {
  const byRoute = (key: RouteKey) => runs.filter((r) => r.route === key);
  const summary = Object.fromEntries(
    (Object.keys(ROUTES) as RouteKey[]).map((key) => {
      const rs = byRoute(key);
      const requests = rs.reduce((sum, r) => sum + r.handled, 0);
      const calls = rs.reduce((sum, r) => sum + r.redisCalls, 0);
      const usec = rs.reduce((sum, r) => sum + r.redisUsec, 0);
      return [
        key,
        {
          label: ROUTES[key].label,
          rps: median(rs.map((r) => r.rps)),
          p50: median(rs.map((r) => r.p50)),
          p99: median(rs.map((r) => r.p99)),
          redisCommandsPerRequest: calls / requests,
          redisUsecPerRequest: usec / requests,
        },
      ];
    }),
  ) as Record<
    RouteKey,
    { label: string; rps: number; p50: number; p99: number; redisCommandsPerRequest: number; redisUsecPerRequest: number }
  >;
  return {
    ...summary,
    ratios: {
      BoverA: summary.B.rps / summary.A.rps,
      BoverC: summary.B.rps / summary.C.rps,
      AoverC: summary.A.rps / summary.C.rps,
      p99BoverA: summary.B.p99 / summary.A.p99,
    },
  };
}
