import type { Server } from 'node:http';
import request from 'supertest';
import { adminCommand } from './servers/redis-admin.js';
import { sessionCookie } from './http.js';
import { sleep } from './redis.js';

/** One HTTP answer with its latency; status 0 means no answer within the hang guard. */
export interface Timed {
  status: number;
  ms: number;
  /** When the request was sent (epoch ms). */
  at: number;
  body: unknown;
}

/** Bound on any single request: past it the request counts as a hang (status 0). */
export const HANG_GUARD_MS = 5000;

export async function timed(req: request.Test): Promise<Timed> {
  const at = Date.now();
  try {
    const res = await req.timeout(HANG_GUARD_MS);
    return { status: res.status, ms: Date.now() - at, at, body: res.body };
  } catch {
    return { status: 0, ms: Date.now() - at, at, body: null };
  }
}

export async function login(http: Server, username: string, password: string): Promise<string> {
  const res = await request(http).post('/auth/login').send({ username, password }).timeout(HANG_GUARD_MS);
  if (res.status !== 200) throw new Error(`login as ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return sessionCookie(res);
}

/** The public session id behind a cookie (GET /auth/session). */
export async function sessionIdOf(http: Server, cookie: string): Promise<string> {
  const res = await request(http).get('/auth/session').set('Cookie', cookie).timeout(HANG_GUARD_MS);
  if (res.status !== 200) throw new Error(`GET /auth/session: ${res.status}`);
  return (res.body as { id: string }).id;
}

/**
 * Sends `send()` every `intervalMs` (without waiting for earlier answers, so a hang
 * cannot slow the sampling) until `stop()`; `stop()` resolves with every answer in
 * the order sent.
 */
export function steadyTraffic(
  send: () => request.Test,
  intervalMs = 50,
): { stop(): Promise<Timed[]>; results: Promise<Timed>[] } {
  const results: Promise<Timed>[] = [];
  results.push(timed(send()));
  const timer = setInterval(() => results.push(timed(send())), intervalMs);
  return {
    results,
    async stop() {
      clearInterval(timer);
      return Promise.all(results);
    },
  };
}

/** Answers so far (settled or not), without stopping. */
export async function settledSoFar(results: Promise<Timed>[]): Promise<Timed[]> {
  const marker = Symbol('pending');
  const settled = await Promise.all(results.map((p) => Promise.race([p, Promise.resolve(marker)])));
  return settled.filter((r): r is Timed => r !== marker);
}

/** What the clients saw of an outage that began at `since` (e.g. a SIGKILL), from answer times. */
export interface Outage {
  /** Answers to requests sent from `since` on, by status. */
  statuses: Record<number, number>;
  /** ms from `since` to the first answer that was not a 200, or null if none. */
  firstFailureMs: number | null;
  /** ms from `since` to the first 200 answered after that failure (or null). */
  recoveredMs: number | null;
  /** `recoveredMs - firstFailureMs`: first failed answer to the first good one. */
  windowMs: number | null;
  /** The longest any request answered from `since` on waited for its answer (in-flight ones included). */
  slowestMs: number;
}

export function outage(results: Timed[], since: number): Outage {
  const after = results.filter((r) => r.at >= since);
  const statuses: Record<number, number> = {};
  for (const r of after) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const answered = (r: Timed) => r.at + r.ms - since;
  const failures = after.filter((r) => r.status !== 200).map(answered);
  const firstFailureMs = failures.length > 0 ? Math.min(...failures) : null;
  const successes = after
    .filter((r) => r.status === 200)
    .map(answered)
    .filter((ms) => firstFailureMs !== null && ms > firstFailureMs);
  const recoveredMs = successes.length > 0 ? Math.min(...successes) : null;
  return {
    statuses,
    firstFailureMs,
    recoveredMs,
    windowMs: firstFailureMs !== null && recoveredMs !== null ? recoveredMs - firstFailureMs : null,
    slowestMs: Math.max(0, ...results.filter((r) => r.at + r.ms >= since).map((r) => r.ms)),
  };
}

/** One line for the test log: the outage and, with NRS_TRACE=1, every request (+sent:status/ms). */
export function describeOutage(label: string, o: Outage, results: Timed[], since: number): string {
  let line =
    `${label}: first 503 at +${o.firstFailureMs} ms, first 200 after it at +${o.recoveredMs} ms ` +
    `(window ${o.windowMs} ms); statuses ${JSON.stringify(o.statuses)}; slowest answer ${o.slowestMs} ms\n`;
  if (process.env.NRS_TRACE) {
    line +=
      results
        .filter((r) => r.at >= since)
        .map((r) => `+${r.at - since}:${r.status}/${r.ms}`)
        .join(' ') + '\n';
  }
  return line;
}

/**
 * Polls until `steadyTraffic` has produced `count` 200s in a row after `since`, or
 * the deadline passes (then returns false).
 */
export async function waitForSteady200s(
  results: Promise<Timed>[],
  since: number,
  count: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const done = (await settledSoFar(results)).filter((r) => r.at >= since).sort((a, b) => a.at - b.at);
    let streak = 0;
    for (const r of done) streak = r.status === 200 ? streak + 1 : 0;
    if (streak >= count) return true;
    await sleep(100);
  }
  return false;
}

/** Calls per command since the last CONFIG RESETSTAT on one server. */
export async function commandStats(port: number): Promise<Record<string, number>> {
  const info = String(await adminCommand(port, ['INFO', 'commandstats']));
  const counts: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts[match[1]] = Number(match[2]);
  return counts;
}

/**
 * Waits until every replica has applied everything its master had written when this
 * was called (replication offsets), bounded.
 */
export async function waitForReplication(pairs: Array<{ master: number; replica: number }>, timeoutMs = 5000): Promise<void> {
  const offsetOf = async (port: number) =>
    Number(/^master_repl_offset:(\d+)/m.exec(String(await adminCommand(port, ['INFO', 'replication'])))?.[1] ?? NaN);
  const targets = await Promise.all(pairs.map(async (pair) => ({ ...pair, offset: await offsetOf(pair.master) })));
  const deadline = Date.now() + timeoutMs;
  for (const target of targets) {
    for (;;) {
      const replicaOffset = await offsetOf(target.replica);
      if (replicaOffset >= target.offset) break;
      if (Date.now() > deadline) {
        throw new Error(`replica ${target.replica} at offset ${replicaOffset}, master ${target.master} at ${target.offset}`);
      }
      await sleep(20);
    }
  }
}

/**
 * Sends a guarded request (`send`) every 50 ms, calls `kill` after 300 ms of traffic,
 * and keeps the traffic going until 20 answers in a row are 200 (or `recoverWithinMs`
 * passes). Returns every answer and when the kill happened.
 */
export async function killUnderTraffic(
  send: () => request.Test,
  kill: () => void,
  recoverWithinMs: number,
): Promise<{ results: Timed[]; killedAt: number; recovered: boolean }> {
  const traffic = steadyTraffic(send, 50);
  let killedAt: number;
  let recovered: boolean;
  try {
    await sleep(300);
    killedAt = Date.now();
    kill();
    recovered = await waitForSteady200s(traffic.results, killedAt, 20, recoverWithinMs);
  } catch (err) {
    await traffic.stop(); // never leave the timer running
    throw err;
  }
  return { results: await traffic.stop(), killedAt, recovered };
}
