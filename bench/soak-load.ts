/**
 * The soak's load generator, in its own process (forked by bench/soak.ts, talking over
 * IPC). `workers` concurrent loops, each owning its own users, so every loop knows exactly
 * which sessions its users have: it checks each answer against that (a 401 for a session
 * it holds, a list that differs from what it holds, a 200 for a session it ended are all
 * counted as unexpected) and, at the end, hands the parent every session id it believes
 * alive, to compare with Redis.
 *
 * The mix per request of a loop (for a random user of the loop; a user without a session
 * logs in first): ~80% GET /me (guarded), 3% GET /auth/sessions, 1% GET /auth/session,
 * 6% login (a 4th session: logout instead), 4% logout, 2% revoke one other session,
 * 0.5% logout everywhere, 1.5% an ended session again (must be 401), 2% a bad token (401).
 * Each loop sends from its own client IP (X-Forwarded-For), as real users would.
 *
 * IPC: the parent sends { type: 'sample' } (answered with a LoadSample) and { type: 'stop' }
 * (answered, once every loop has its last answer, with a LoadFinal).
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createHistogram } from 'node:perf_hooks';

export interface LoadSpec {
  base: string;
  workers: number;
  users: number;
  userAgent: string;
}

export interface LoadSample {
  type: 'sample';
  /** Answers since start, by operation and status ('error' for no answer). */
  counts: Record<string, Record<string, number>>;
  requests: number;
  /** Latency over the answers since the previous sample, ms. */
  latency: { p50: number; p99: number; max: number };
  unexpected: number;
  /** The first few unexpected answers, described. */
  examples: string[];
  /** Sessions the loops hold (believe alive) right now. */
  live: number;
  inFlight: number;
  usersWithSessions: number;
}

export interface LoadFinal extends Omit<LoadSample, 'type'> {
  type: 'final';
  /** Every session id believed alive, by user id. */
  sessions: Record<string, string[]>;
}

interface Held {
  id: string;
  cookie: string;
}

interface UserState {
  id: number;
  username: string;
  password: string;
  sessions: Held[];
  ended: Held[];
}

const spec = JSON.parse(process.argv[2]) as LoadSpec;
const url = new URL(spec.base);
const agent = new Agent({ keepAlive: true, maxSockets: spec.workers, maxFreeSockets: spec.workers });

const counts: Record<string, Record<string, number>> = {};
const latency = createHistogram();
let requests = 0;
let unexpected = 0;
const examples: string[] = [];
let inFlight = 0;
let running = true;

interface Answer {
  status: number | string;
  body: unknown;
  headers: IncomingHttpHeaders;
}

function send(ip: string, method: string, path: string, options: { cookie?: string; json?: unknown } = {}): Promise<Answer> {
  const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
  const headers: Record<string, string> = { 'user-agent': spec.userAgent, 'x-forwarded-for': ip };
  if (options.cookie) headers.cookie = options.cookie;
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', () => resolve({ status: 'error', body: undefined, headers: {} }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ status: err.message === 'timeout' ? 'timeout' : 'error', body: undefined, headers: {} }),
    );
    req.end(payload);
  });
}

async function call(
  op: string,
  ip: string,
  method: string,
  path: string,
  options?: { cookie?: string; json?: unknown },
): Promise<Answer> {
  inFlight++;
  const started = performance.now();
  const answer = await send(ip, method, path, options);
  latency.record(Math.max(1, Math.round((performance.now() - started) * 1000)));
  inFlight--;
  requests++;
  const byStatus = (counts[op] ??= {});
  byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
  return answer;
}

function flag(op: string, answer: Answer, why: string): void {
  unexpected++;
  if (examples.length < 20) examples.push(`${op}: ${answer.status} ${why} ${JSON.stringify(answer.body)?.slice(0, 200) ?? ''}`);
}

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];
const cookieOf = (answer: Answer) => String(answer.headers['set-cookie']?.[0] ?? '').split(';')[0];
const BAD_TOKEN = `sid=${'b'.repeat(43)}.${(Date.now() + 86_400_000).toString(36)}`;

const users: UserState[] = Array.from({ length: spec.users }, (_, id) => ({
  id,
  username: `soak${id}`,
  password: `pw-${id}`,
  sessions: [],
  ended: [],
}));

function end(user: UserState, session: Held): void {
  user.sessions.splice(user.sessions.indexOf(session), 1);
  user.ended.push(session);
  if (user.ended.length > 8) user.ended.shift();
}

async function login(user: UserState, ip: string): Promise<void> {
  const answer = await call('login', ip, 'POST', '/auth/login', { json: { username: user.username, password: user.password } });
  const id = (answer.body as { session?: { id?: string } } | undefined)?.session?.id;
  const cookie = cookieOf(answer);
  if (answer.status === 200 && id && cookie.startsWith('sid=')) user.sessions.push({ id, cookie });
  else flag('login', answer, 'for good credentials');
}

async function step(user: UserState, ip: string): Promise<void> {
  if (user.sessions.length === 0) return login(user, ip);
  const roll = Math.random();
  const session = pick(user.sessions);
  if (roll < 0.8) {
    const answer = await call('me', ip, 'GET', '/me', { cookie: session.cookie });
    if (answer.status !== 200) flag('me', answer, `for a live session ${session.id}`);
    else if ((answer.body as { sessionId?: string }).sessionId !== session.id) flag('me', answer, `: not session ${session.id}`);
  } else if (roll < 0.83) {
    const answer = await call('list', ip, 'GET', '/auth/sessions', { cookie: session.cookie });
    if (answer.status !== 200) return flag('list', answer, `for a live session ${session.id}`);
    const listed = (answer.body as Array<{ id: string }>).map((s) => s.id).sort();
    const held = user.sessions.map((s) => s.id).sort();
    if (listed.join() !== held.join()) flag('list', answer, `: listed ${listed.join()} but the user holds ${held.join()}`);
  } else if (roll < 0.84) {
    const answer = await call('session', ip, 'GET', '/auth/session', { cookie: session.cookie });
    if (answer.status !== 200 || (answer.body as { id?: string }).id !== session.id) flag('session', answer, `for ${session.id}`);
  } else if (roll < 0.9 && user.sessions.length < 4) {
    await login(user, ip);
  } else if (roll < 0.94) {
    const answer = await call('logout', ip, 'POST', '/auth/logout', { cookie: session.cookie });
    if (answer.status === 204) end(user, session);
    else flag('logout', answer, `of ${session.id}`);
  } else if (roll < 0.96) {
    const other = user.sessions.find((s) => s !== session);
    if (!other) return;
    const answer = await call('revoke', ip, 'DELETE', `/auth/sessions/${other.id}`, { cookie: session.cookie });
    if (answer.status === 204) end(user, other);
    else flag('revoke', answer, `of ${other.id}`);
  } else if (roll < 0.965) {
    const answer = await call('logout-all', ip, 'POST', '/auth/logout-all', { cookie: session.cookie });
    if (answer.status === 204) for (const s of [...user.sessions]) end(user, s);
    else flag('logout-all', answer, '');
  } else if (roll < 0.98) {
    if (user.ended.length === 0) return;
    const dead = pick(user.ended);
    const answer = await call('ended', ip, 'GET', '/me', { cookie: dead.cookie });
    if (answer.status !== 401) flag('ended', answer, `: ended session ${dead.id} answered`);
  } else {
    const answer = await call('bad-token', ip, 'GET', '/me', { cookie: BAD_TOKEN });
    if (answer.status !== 401) flag('bad-token', answer, '');
  }
}

async function worker(index: number): Promise<void> {
  const ip = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
  const own = users.filter((user) => user.id % spec.workers === index);
  if (own.length === 0) return;
  while (running) await step(pick(own), ip);
}

function snapshot(): Omit<LoadSample, 'type'> {
  const ms = (us: number) => Math.round(us / 10) / 100;
  const sample = {
    counts,
    requests,
    latency: { p50: ms(latency.percentile(50)), p99: ms(latency.percentile(99)), max: ms(latency.max) },
    unexpected,
    examples,
    live: users.reduce((sum, user) => sum + user.sessions.length, 0),
    inFlight,
    usersWithSessions: users.filter((user) => user.sessions.length > 0).length,
  };
  latency.reset();
  return sample;
}

const loops = Promise.all(Array.from({ length: spec.workers }, (_, i) => worker(i)));

process.on('message', (message: { type: string }) => {
  if (message.type === 'sample') {
    process.send!({ type: 'sample', ...snapshot() } satisfies LoadSample);
  } else if (message.type === 'stop') {
    running = false;
    void loops.then(() => {
      const sessions: Record<string, string[]> = {};
      for (const user of users) if (user.sessions.length > 0) sessions[user.id] = user.sessions.map((s) => s.id);
      process.send!({ type: 'final', ...snapshot(), sessions } satisfies LoadFinal, () => {
        agent.destroy();
        process.disconnect();
      });
    });
  }
});
