/**
 * The revocation window with the session cache on: how long an instance that cached a session
 * still accepts it after another instance logged it out. Two app processes, A and B
 * (bench/revocation-server.ts, `cache: true`), on the bench's Redis; this process drives them,
 * one request at a time. Each round: log a new user in on B; a request to A (a miss: A reads the
 * session and caches it) and another (answered from A's cache); log out on B; then GET A again
 * and again until it refuses. The window is from B's logout answer arriving to A's first
 * refusal arriving (so it includes that poll's round trip, ~1 ms); `stale` counts A's 200s in
 * between. A's own metrics (GET /__cache) tell how many of the second requests were cache hits,
 * so a window measured against a cache that held nothing would show.
 *
 * Fails the bench only on real breakage: A still accepting a session 5 s after its logout, A
 * accepting it again after having refused it, a request answered with an unexpected status, or
 * a cache that answered fewer than half the second requests.
 */
import { performance } from 'node:perf_hooks';
import type { CacheCounts } from './revocation-server.js';
import { log, sleep, startServer, type StartedServer } from './processes.js';
import { REVOCATION_PASSWORD } from './seed.js';

/** Longer than this after the logout answered, A accepting the session is a failure, not a figure. */
const GIVE_UP_MS = 5000;

async function status(response: Promise<Response>): Promise<number> {
  const res = await response;
  await res.arrayBuffer(); // read to the end, so the keep-alive connection is reused
  return res.status;
}

const get = (app: StartedServer, path: string, token: string) =>
  status(fetch(`${app.base}${path}`, { headers: { authorization: `Bearer ${token}` } }));

async function login(app: StartedServer, username: string): Promise<string> {
  const res = await fetch(`${app.base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: REVOCATION_PASSWORD }),
  });
  const body = (await res.json()) as { token?: string };
  if (res.status !== 200 || !body.token) throw new Error(`revocation window: login answered ${res.status}`);
  return body.token;
}

async function counts(app: StartedServer): Promise<CacheCounts> {
  return (await (await fetch(`${app.base}/__cache`)).json()) as CacheCounts;
}

interface Round {
  windowMs: number;
  /** A's 200s after B's logout answered, before A refused. */
  stale: number;
}

async function round(a: StartedServer, b: StartedServer, user: string): Promise<Round> {
  const expect = (what: string, got: number, want: number) => {
    if (got !== want) throw new Error(`revocation window, ${user}: ${what} answered ${got}, not ${want}`);
  };
  const token = await login(b, user);
  expect('A, first request', await get(a, '/me', token), 200);
  expect('A, second request', await get(a, '/me', token), 200);
  const logout = await status(fetch(`${b.base}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }));
  const loggedOut = performance.now();
  expect('B, logout', logout, 204);
  let stale = 0;
  for (;;) {
    const answer = await get(a, '/me', token);
    if (answer === 401) break;
    expect('A, after the logout', answer, 200);
    stale++;
    if (performance.now() - loggedOut > GIVE_UP_MS)
      throw new Error(`revocation window, ${user}: A still accepts the session ${GIVE_UP_MS} ms after B's logout`);
  }
  const windowMs = performance.now() - loggedOut;
  // Refused once, refused for good: a cache that took the ended session back would answer 200 here.
  for (let i = 0; i < 2; i++) expect('A, after its refusal', await get(a, '/me', token), 401);
  return { windowMs, stale };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

export type RevocationWindow = Awaited<ReturnType<typeof measureRevocationWindow>>;

export async function measureRevocationWindow(redisUrl: string, rounds: number) {
  const [a, b] = await Promise.all([
    startServer('./revocation-server.js', { REDIS_URL: redisUrl }),
    startServer('./revocation-server.js', { REDIS_URL: redisUrl }),
  ]);
  try {
    // A's tracking connection opens with its first guarded call: wait until it is confirmed, then warm up.
    const until = performance.now() + GIVE_UP_MS;
    let warm = 0;
    while (!(await counts(a)).ready) {
      if (performance.now() > until) throw new Error(`revocation window: A's cache not ready within ${GIVE_UP_MS} ms`);
      await round(a, b, `warm${++warm}`);
      await sleep(10);
    }
    for (let i = 0; i < 20; i++) await round(a, b, `warm${++warm}`);
    const before = await counts(a);
    const results: Round[] = [];
    for (let n = 1; n <= rounds; n++) results.push(await round(a, b, `round${n}`));
    const after = await counts(a);
    const windows = results.map((r) => r.windowMs).sort((x, y) => x - y);
    const staleAccepts = results.reduce((sum, r) => sum + r.stale, 0);
    const hits = after.hit - before.hit;
    const result = {
      processes: 'A and B: two app processes (bench/revocation-server.ts), cache: true, on the bench Redis',
      rounds,
      medianMs: quantile(windows, 0.5),
      p99Ms: quantile(windows, 0.99),
      maxMs: windows[windows.length - 1],
      minMs: windows[0],
      staleRounds: results.filter((r) => r.stale > 0).length,
      staleAccepts,
      maxStale: Math.max(...results.map((r) => r.stale)),
      // Every hit is a second request or a stale 200: the rest of the hits are second requests.
      secondRequestsFromCache: hits - staleAccepts,
      lookups: { hit: hits, miss: after.miss - before.miss, bypass: after.bypass - before.bypass },
    };
    log(
      `bench: revocation window over ${rounds} rounds: median ${result.medianMs.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, max ${result.maxMs.toFixed(2)} ms; stale 200s in ${result.staleRounds} rounds; A's second request a cache hit in ${result.secondRequestsFromCache} of ${rounds}`,
    );
    if (result.secondRequestsFromCache < rounds / 2)
      throw new Error(
        `revocation window: A answered only ${result.secondRequestsFromCache} of ${rounds} second requests from its cache`,
      );
    return result;
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}
