import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/*
 * Steady mixed traffic for the fault tests (test/faults.e2e-spec.ts): workers that each
 * own one user and log in, use, list and end that user's sessions over real HTTP, plus
 * a worker sending bad input. Every answer is checked as it arrives against what may
 * be answered, given what the worker knows; the log keeps every answer with its phase
 * (set by the test as it pauses, kills or slows Redis) for the tables and the checks
 * on timing.
 */

export interface HttpAnswer {
  /** The HTTP status, or 'timeout' / the socket error code when no answer came. */
  status: number | string;
  body: unknown;
  headers: IncomingHttpHeaders;
}

/** A keep-alive HTTP/1.1 client for one server, with a per-request time limit. */
export class HttpClient {
  private readonly agent: Agent;

  constructor(
    private readonly port: number,
    private readonly timeoutMs = 5000,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 64 });
  }

  send(method: string, path: string, options: { cookie?: string; json?: unknown } = {}): Promise<HttpAnswer> {
    const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
    const headers: Record<string, string> = {};
    if (options.cookie) headers.cookie = options.cookie;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve) => {
      let settled = false;
      const done = (answer: HttpAnswer) => {
        if (!settled) {
          settled = true;
          resolve(answer);
        }
      };
      const req = httpRequest({ host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err: NodeJS.ErrnoException) => done({ status: err.code ?? 'error', body: undefined, headers: {} }));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          done({ status: res.statusCode ?? 0, body, headers: res.headers });
        });
      });
      req.setTimeout(this.timeoutMs, () => {
        done({ status: 'timeout', body: undefined, headers: {} });
        req.destroy();
      });
      req.on('error', (err: NodeJS.ErrnoException) => done({ status: err.code ?? 'error', body: undefined, headers: {} }));
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** One answer, as the log keeps it. */
export interface Outcome {
  target: string;
  op: string;
  phase: string;
  status: number | string;
  /** When the request was sent, and how long its answer took (ms, `Date.now()` clock). */
  startedAt: number;
  ms: number;
}

export class TrafficLog {
  /** The phase new requests are filed under. */
  phase = 'start';
  readonly outcomes: Outcome[] = [];
  /** Answers that were not allowed, with why (the test fails if any). */
  readonly problems: string[] = [];

  problem(text: string): void {
    if (this.problems.length < 50) this.problems.push(text);
  }

  /**
   * Counts per phase (in the order phases began) and op, one column per target:
   * `paused  me  200:3 503:40 | 200:2 503:41`.
   */
  table(filter: (outcome: Outcome) => boolean = () => true): string {
    const phases: string[] = [];
    const ops: string[] = [];
    const targets: string[] = [];
    const counts = new Map<string, Map<string, number>>();
    for (const outcome of this.outcomes) {
      if (!filter(outcome)) continue;
      if (!phases.includes(outcome.phase)) phases.push(outcome.phase);
      if (!ops.includes(outcome.op)) ops.push(outcome.op);
      if (!targets.includes(outcome.target)) targets.push(outcome.target);
      const cell = `${outcome.phase}|${outcome.op}|${outcome.target}`;
      const byStatus = counts.get(cell) ?? new Map<string, number>();
      byStatus.set(String(outcome.status), (byStatus.get(String(outcome.status)) ?? 0) + 1);
      counts.set(cell, byStatus);
    }
    phases.sort((a, b) => this.firstSent(a) - this.firstSent(b));
    const show = (cell: Map<string, number> | undefined) =>
      cell
        ? [...cell]
            .sort()
            .map(([status, n]) => `${status}:${n}`)
            .join(' ')
        : '-';
    const lines = [`${'phase'.padEnd(12)} ${'op'.padEnd(14)} ${targets.map((t) => t.padEnd(24)).join(' | ')}`];
    for (const phase of phases) {
      for (const op of ops) {
        const cells = targets.map((target) => counts.get(`${phase}|${op}|${target}`));
        if (cells.every((cell) => cell === undefined)) continue;
        lines.push(`${phase.padEnd(12)} ${op.padEnd(14)} ${cells.map((cell) => show(cell).padEnd(24)).join(' | ')}`);
      }
    }
    return lines.join('\n');
  }

  private firstSent(phase: string): number {
    return this.outcomes.find((o) => o.phase === phase)?.startedAt ?? Infinity;
  }

  /** Totals per status over every answer kept by `filter`. */
  statusCounts(filter: (outcome: Outcome) => boolean = () => true): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const outcome of this.outcomes) if (filter(outcome)) counts[outcome.status] = (counts[outcome.status] ?? 0) + 1;
    return counts;
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** `p50/p99/max` of a list of milliseconds, for the printed report. */
export function latencySummary(values: number[]): string {
  if (values.length === 0) return 'none';
  return `n=${values.length} p50 ${percentile(values, 50)} ms, p99 ${percentile(values, 99)} ms, max ${Math.max(...values)} ms`;
}

interface HeldSession {
  id: string;
  cookie: string;
}

export interface SessionTrafficOptions {
  client: HttpClient;
  /** Names the app in the log ('express', 'fastify'). */
  target: string;
  log: TrafficLog;
  /** Workers that each own one user: `credentials(i)` is worker i's user. */
  workers: number;
  credentials(worker: number): { username: string; password: string };
  /** Pause between two requests of one worker, in ms. */
  pauseMs?: number;
  /** Sessions a worker keeps at most (it logs in until it holds this many, now and then). */
  maxSessions?: number;
  /**
   * Open-loop guarded traffic: GET /me at this many requests per second whatever the
   * answers (so requests keep arriving while Redis is away, as from real users), with
   * one session of the user `credentials(-1)` that is never ended. Default 50.
   */
  steadyPerSecond?: number;
}

/**
 * Starts the workers; `stop()` lets each finish its request in flight and resolves when
 * all have stopped. Per worker (one user, so the worker knows exactly which sessions it
 * holds): log in, GET /me with a held session (most of the traffic), list the sessions,
 * log out, revoke another held session, log out everywhere, and re-try sessions that
 * were ended (204) to check they stay dead. Each waits for its answer before the next
 * request, so while Redis is away they slow down; a steady stream of GET /me at a
 * fixed rate does not. Plus one worker sending bad input: a malformed cookie, two
 * cookies, a well-formed unknown token, a wrong password, an invalid body.
 *
 * What may be answered: 503 anywhere (Redis is away; the worker then treats the
 * sessions concerned as unknown), otherwise exactly what a healthy app answers. Never
 * 500, never a 401 for a session the worker holds, never a 200 for one it ended, never
 * another session's data. Statuses are checked here; timing is left to the test.
 */
export function startSessionTraffic(options: SessionTrafficOptions): { stop(): Promise<void> } {
  const { client, target, log } = options;
  const pauseMs = options.pauseMs ?? 10;
  const maxSessions = options.maxSessions ?? 3;
  let running = true;

  const call = async (op: string, method: string, path: string, extra: { cookie?: string; json?: unknown } = {}) => {
    const phase = log.phase;
    const startedAt = Date.now();
    const answer = await client.send(method, path, extra);
    log.outcomes.push({ target, op, phase, status: answer.status, startedAt, ms: Date.now() - startedAt });
    return answer;
  };
  const unexpected = (op: string, answer: HttpAnswer, why: string) =>
    log.problem(`${target} ${op}: ${answer.status} ${why} (${JSON.stringify(answer.body)?.slice(0, 160)})`);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];

  const sessionWorker = async (worker: number) => {
    const credentials = options.credentials(worker);
    const held: HeldSession[] = [];
    /** Ended with a 204: must never work again. */
    const ended: HeldSession[] = [];
    /** Sent to an operation that answered 503: alive or not, unknown. */
    const unknown: HeldSession[] = [];
    const forget = (session: HeldSession, into: HeldSession[]) => {
      const at = held.indexOf(session);
      if (at >= 0) held.splice(at, 1);
      if (into.length < 200) into.push(session);
    };

    while (running) {
      const roll = Math.random();
      if (held.length === 0 || (roll < 0.08 && held.length < maxSessions)) {
        const answer = await call('login', 'POST', '/auth/login', { json: credentials });
        if (answer.status === 200) {
          const body = answer.body as { session?: { id?: string } };
          const cookie = String(answer.headers['set-cookie']?.[0] ?? '').split(';')[0];
          if (!body.session?.id || !cookie.startsWith('sid=')) unexpected('login', answer, 'without a session or a cookie');
          else held.push({ id: body.session.id, cookie });
        } else if (answer.status !== 503) {
          unexpected('login', answer, 'for good credentials');
        }
      } else if (roll < 0.7) {
        const session = pick(held);
        const answer = await call('me', 'GET', '/me', { cookie: session.cookie });
        if (answer.status === 200) {
          const body = answer.body as { sessionId?: string };
          if (body.sessionId !== session.id) unexpected('me', answer, `: another session's answer (expected ${session.id})`);
        } else if (answer.status === 401) {
          unexpected('me', answer, `for a session the worker holds (${session.id})`);
        } else if (answer.status !== 503) {
          unexpected('me', answer, '');
        }
      } else if (roll < 0.78) {
        const session = pick(held);
        const answer = await call('sessions', 'GET', '/auth/sessions', { cookie: session.cookie });
        if (answer.status === 200) {
          const listed = new Set((answer.body as Array<{ id: string }>).map((item) => item.id));
          // Every session the worker holds is listed. (A login that answered 503 may still
          // have made a session the worker never saw, so extra ids are allowed.)
          const missing = held.filter((h) => !listed.has(h.id)).map((h) => h.id);
          if (missing.length > 0) unexpected('sessions', answer, `without held sessions ${missing.join(', ')}`);
          const back = ended.filter((e) => listed.has(e.id)).map((e) => e.id);
          if (back.length > 0) unexpected('sessions', answer, `listing ended sessions ${back.join(', ')}`);
        } else if (answer.status === 401) {
          unexpected('sessions', answer, `for a session the worker holds (${session.id})`);
        } else if (answer.status !== 503) {
          unexpected('sessions', answer, '');
        }
      } else if (roll < 0.86) {
        const session = pick(held);
        const answer = await call('logout', 'POST', '/auth/logout', { cookie: session.cookie });
        if (answer.status === 204) forget(session, ended);
        else if (answer.status === 503) forget(session, unknown);
        else unexpected('logout', answer, '');
      } else if (roll < 0.9) {
        if (held.length >= 2) {
          const [current, other] = [held[0], held[held.length - 1]];
          const answer = await call('revoke', 'DELETE', `/auth/sessions/${other.id}`, { cookie: current.cookie });
          if (answer.status === 204) forget(other, ended);
          else if (answer.status === 503) forget(other, unknown);
          else unexpected('revoke', answer, `of a held session (${other.id})`);
        }
      } else if (roll < 0.91) {
        const session = pick(held);
        const answer = await call('logout-all', 'POST', '/auth/logout-all', { cookie: session.cookie });
        if (answer.status === 204) {
          for (const h of [...held]) forget(h, ended);
          // Whatever an earlier 503 left behind is ended too now.
          ended.push(...unknown.splice(0));
        } else if (answer.status === 503) {
          for (const h of [...held]) forget(h, unknown);
        } else {
          unexpected('logout-all', answer, '');
        }
      } else if (ended.length > 0) {
        const session = pick(ended);
        const answer = await call('ended', 'GET', '/me', { cookie: session.cookie });
        if (answer.status === 200) unexpected('ended', answer, `: an ended session came back (${session.id})`);
        else if (answer.status !== 401 && answer.status !== 503) unexpected('ended', answer, '');
      }
      await sleep(pauseMs);
    }
  };

  const badInputWorker = async () => {
    const unknownToken = `${'k'.repeat(43)}.${(Date.now() + 3_600_000).toString(36)}`;
    const expired = `${'e'.repeat(43)}.${(Date.now() - 1000).toString(36)}`;
    let i = 0;
    while (running) {
      const kind = i++ % 4;
      if (kind === 0) {
        // Refused before Redis is asked: 401 whatever state Redis is in.
        const cookie = pick(['sid=garbage', `sid=${expired}`, `sid=${unknownToken}; sid=${unknownToken}`]);
        const answer = await call('bad-cookie', 'GET', '/me', { cookie });
        if (answer.status !== 401) unexpected('bad-cookie', answer, `for ${cookie}`);
      } else if (kind === 1) {
        // Well-formed, so Redis is asked: 401, or 503 while it cannot answer.
        const answer = await call('unknown-token', 'GET', '/me', { cookie: `sid=${unknownToken}` });
        if (answer.status !== 401 && answer.status !== 503) unexpected('unknown-token', answer, '');
      } else if (kind === 2) {
        const answer = await call('bad-login', 'POST', '/auth/login', {
          json: { username: `nobody-${Math.floor(Math.random() * 1e9)}`, password: 'wrong' },
        });
        if (answer.status !== 401 && answer.status !== 503) unexpected('bad-login', answer, '');
      } else {
        const answer = await call('bad-body', 'POST', '/auth/login', { json: { username: '' } });
        if (answer.status !== 400) unexpected('bad-body', answer, '');
      }
      await sleep(pauseMs * 2);
    }
  };

  const steadyWorker = async () => {
    const rate = options.steadyPerSecond ?? 50;
    if (rate <= 0) return;
    let session: HeldSession | undefined;
    while (running && !session) {
      const answer = await call('login', 'POST', '/auth/login', { json: options.credentials(-1) });
      const id = (answer.body as { session?: { id?: string } } | undefined)?.session?.id;
      if (answer.status === 200 && id) session = { id, cookie: String(answer.headers['set-cookie']?.[0] ?? '').split(';')[0] };
      else await sleep(100);
    }
    const inFlight: Array<Promise<void>> = [];
    for (let next = Date.now(); running && session; next += 1000 / rate) {
      const held = session;
      inFlight.push(
        call('steady-me', 'GET', '/me', { cookie: held.cookie }).then((answer) => {
          if (answer.status === 200 && (answer.body as { sessionId?: string }).sessionId !== held.id) {
            unexpected('steady-me', answer, `: another session's answer (expected ${held.id})`);
          } else if (answer.status !== 200 && answer.status !== 503) {
            unexpected('steady-me', answer, `for a live session (${held.id})`);
          }
        }),
      );
      await sleep(Math.max(0, next + 1000 / rate - Date.now()));
    }
    await Promise.all(inFlight);
  };

  const workers = [...Array.from({ length: options.workers }, (_, i) => sessionWorker(i)), badInputWorker(), steadyWorker()];
  const all = Promise.all(workers);
  return {
    async stop() {
      running = false;
      await all;
    },
  };
}
