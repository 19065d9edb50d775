/**
 * What sliding adds with the cache on, at steady state. The twins measure a freshly warmed cache,
 * whose sessions all fall due for a slide at once three minutes after they were created; here the
 * sessions look last active at times spread over one slide interval (twins-server.ts SPREAD_MS),
 * as in an app running for a while, so slides fall due at a steady rate (sessions / interval per
 * second), each costing a GETEX and, once Redis reported that write, one read. After a warm-up
 * pass, the guarded REST route runs without a break for `seconds`: its commands per request are
 * the steady state at that request rate. `modelCmdsPerOp` is what the slides alone should cost
 * (2 × sessions / interval / rate), next to it to read the measured figure by.
 */
import { sentCalls } from './redis-stats.js';
import { TTL_SECONDS } from './seed.js';
import { UPKEEP } from './twins-summary.js';
import { runTwin, startTwinApp, warmApp, type TwinRedis, type TwinSettings } from './twins.js';

/** The cache's default slide interval for the bench's sessions: a tenth of their idle timeout. */
const SLIDE_EVERY_MS = (TTL_SECONDS * 1000) / 10;

export type CacheSteady = Awaited<ReturnType<typeof measureCacheSteady>>;

export async function measureCacheSteady(redis: TwinRedis, work: string, s: TwinSettings, seconds: number) {
  await redis.on.admin.flushall();
  const app = await startTwinApp(redis, 'on', s.sessions, work, { SPREAD_MS: String(SLIDE_EVERY_MS) });
  try {
    await warmApp(app, { ...s, quick: true }); // one pass over every session; no other twin runs here
    const run = (await runTwin(app, 'restMe', seconds, 1, s.connections))!;
    const perOp = Object.fromEntries(Object.entries(run.byCommand).map(([name, c]) => [name, c.calls / run.ops]));
    const sent = sentCalls(run.byCommand);
    const upkeep = Object.entries(run.byCommand).reduce((sum, [name, c]) => sum + (UPKEEP.has(name) ? c.calls : 0), 0);
    const result = {
      sessions: s.sessions,
      seconds,
      slideEveryMs: SLIDE_EVERY_MS,
      rps: run.rps,
      p50: run.p50,
      p99: run.p99,
      ops: run.ops,
      cmdsPerOp: sent / run.ops,
      dataCmdsPerOp: (sent - upkeep) / run.ops,
      perOp,
      slidesPerOp: perOp.getex ?? 0,
      modelCmdsPerOp: (2 * s.sessions) / (SLIDE_EVERY_MS / 1000) / run.rps,
    };
    if (result.dataCmdsPerOp > 0.5)
      throw new Error(`cache steady state: ${result.dataCmdsPerOp} Redis data commands per request (the cache is not answering)`);
    return result;
  } finally {
    await app.server.stop();
  }
}
