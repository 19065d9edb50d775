/**
 * The load generator, in its own process: autocannon against one route, rotating the
 * Cookie header across every live session so each request hits a different key.
 * Argument: a JSON object (see LoadSpec). Prints one JSON line with the result.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  body?: string;
  cookieFile?: string;
  cookieKey?: 'b' | 'c';
  durationSeconds: number;
  /** A number of requests to send instead of a duration (a warm-up pass over the sessions). */
  amount?: number;
  connections: number;
  /** A User-Agent header on every request (the twins' sessions are bound to it). */
  userAgent?: string;
  /**
   * GraphQL answers a rejected query (a guard's 401 included) with 200 and `errors`: count every
   * answer with `errors` as a mismatch, so the caller fails on them as on non-2xx.
   */
  graphql?: boolean;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Answers whose body failed the check (GraphQL `errors`); 0 without one. */
  mismatches: number;
}

const spec = JSON.parse(process.argv[2]) as LoadSpec;
const cookies: string[] =
  spec.cookieFile && spec.cookieKey ? JSON.parse(readFileSync(spec.cookieFile, 'utf8'))[spec.cookieKey] : [];
let next = 0;

const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.durationSeconds,
  ...(spec.amount ? { amount: spec.amount } : {}),
  method: spec.method,
  body: spec.body,
  ...(spec.graphql ? { verifyBody: (body: unknown) => !String(body).includes('"errors"') } : {}),
  headers: {
    ...(spec.body ? { 'content-type': 'application/json' } : {}),
    ...(spec.userAgent ? { 'user-agent': spec.userAgent } : {}),
  },
  requests: [
    {
      setupRequest: (request) => {
        if (cookies.length > 0) {
          request.headers = { ...request.headers, cookie: cookies[next] };
          next = next + 1 === cookies.length ? 0 : next + 1;
        }
        return request;
      },
    },
  ],
});

const output: LoadResult = {
  requests: result.requests.total,
  seconds: result.duration,
  rps: result.requests.total / result.duration,
  p50: result.latency.p50,
  p99: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  mismatches: result.mismatches,
};
process.stdout.write(`${JSON.stringify(output)}\n`);
