import { bool, fits, isWhole, listed, matches, must, needs, oneOf, section, seconds, wholeNumber, type Check } from './checks.js';
import { SESSION_DEFAULTS as D } from './defaults.js';
import type { BindingMode, SessionModuleFactoryOptions } from './types.js';
import { isObject, show } from './values.js';

// The nested objects of the options but `cookie` (validate-cookie.ts), one check each.

/** A check for every key of the object option `K` (its `true`/`false` forms aside). */
type Section<K extends keyof SessionModuleFactoryOptions> = Record<
  keyof Exclude<SessionModuleFactoryOptions[K], boolean | undefined>,
  Check
>;

const isFalse = (value: unknown) => value === false;

const REDIS_URL = /^rediss?:\/\/./;
// What the module calls on a client it is given that ioredis < 5 lacks.
const isIoredisClient = (client: unknown) =>
  isObject(client) && typeof client.defineCommand === 'function' && typeof client.getex === 'function';

/** `redis`: required, and whichever form it takes (`url`, `client`, `cluster`, ioredis options) usable. */
export const redis: Check = (value, _name, problems) => {
  if (value === undefined || value === null) {
    problems.push(
      "`redis` is required: pass { url: 'redis://localhost:6379' }, { client } with an ioredis " +
        'Redis or Cluster you own, { cluster: { nodes } }, or ioredis options.',
    );
  } else if (!isObject(value)) {
    problems.push(`\`redis\` must be an object (got ${show(value)}).`);
  } else if ('client' in value) {
    if (!isIoredisClient(value.client))
      problems.push('`redis.client` must be an ioredis Redis or Cluster instance (ioredis ≥ 5).');
  } else if ('url' in value) {
    if (!fits(REDIS_URL)(value.url))
      problems.push(`\`redis.url\` must start with redis:// or rediss:// (got ${show(value.url)}).`);
  } else if ('cluster' in value) {
    const { cluster } = value;
    if (!isObject(cluster) || !Array.isArray(cluster.nodes) || cluster.nodes.length === 0) {
      problems.push('`redis.cluster.nodes` must list at least one node, e.g. [{ host: "127.0.0.1", port: 7000 }].');
    }
  }
};

/** Whether `value` is written exactly as its origin: `scheme://host[:port]`, lower case, http(s). */
function isOrigin(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin !== 'null' && url.origin === value;
  } catch {
    return false;
  }
}

const origins: Check = (value, name, problems) => {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    problems.push(`\`${name}\` must be an array of origins (got ${show(value)}).`);
    return;
  }
  for (const origin of value as unknown[]) {
    if (!isOrigin(origin)) {
      problems.push(
        `\`${name}\`: ${show(origin)} is not an origin; write scheme://host[:port] with no path or trailing slash, e.g. 'https://app.example.com'.`,
      );
    }
  }
};

// An RFC 7230 token: what an HTTP header name may hold.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

export const csrf = section(
  "be false or an object like { trustedOrigins: ['https://app.example.com'] }",
  {
    trustedOrigins: origins,
    doubleSubmit: bool,
    headerName: matches(HEADER_NAME, `an HTTP header name such as '${D.csrf.headerName}'`),
  } satisfies Section<'csrf'>,
  { allows: isFalse },
);

// A login request is held that long: much longer and clients and proxies give up on it.
const MAX_DELAY_MS = 30_000;
const throttleRule = must(
  (value) => isObject(value) && isWhole(1)(value.limit) && isWhole(1)(value.windowSeconds),
  'be { limit: whole number ≥ 1, windowSeconds: whole number ≥ 1 }',
);
const { perUsername } = D.loginThrottle;

export const loginThrottle = section(
  `be false or an object like { perUsername: { limit: ${perUsername.limit}, windowSeconds: ${perUsername.windowSeconds} } }`,
  {
    perUsername: throttleRule,
    perIp: throttleRule,
    delayAfter: wholeNumber(0),
    maxDelayMs: must(isWhole(0, MAX_DELAY_MS), `be a whole number ≥ 0 and ≤ ${MAX_DELAY_MS} (ms)`),
  } satisfies Section<'loginThrottle'>,
  { allows: isFalse },
);

// Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]*, so a prefix must start them well.
const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export const metrics = section(
  'be true, false or { registry?, prefix? }',
  {
    prefix: matches(METRIC_PREFIX, "a Prometheus name prefix such as 'myapp_session_'"),
    registry: needs((value) => isObject(value) && typeof value.getSingleMetric === 'function', 'be a prom-client Registry'),
  } satisfies Section<'metrics'>,
  { allows: (value) => typeof value === 'boolean' },
);

// Each write waits up to this long for its replicas, on top of `redisTimeoutMs`.
const MAX_REPLICATION_TIMEOUT_MS = 10_000;

/** `replication` (only with `durability: 'replicated'`). */
export const replication = section(
  `be an object like { replicas: ${D.replication.replicas}, timeoutMs: ${D.replication.timeoutMs} }`,
  {
    replicas: wholeNumber(1),
    timeoutMs: wholeNumber(1, MAX_REPLICATION_TIMEOUT_MS, 'milliseconds'),
  } satisfies Section<'replication'>,
  {
    after: (_replication, problems, options) => {
      if (options.durability !== 'replicated') {
        problems.push("`replication` only applies with `durability: 'replicated'`: set it, or remove `replication`.");
      }
    },
  },
);

export const rememberMe = section(
  'be { ttl, absoluteTtl } in seconds, e.g. { ttl: 604800, absoluteTtl: 2592000 }',
  { ttl: seconds, absoluteTtl: seconds } satisfies Section<'rememberMe'>,
  { shape: (given) => given.ttl !== undefined && given.absoluteTtl !== undefined },
);

const BINDING_MODES = ['off', 'report', 'enforce'] satisfies BindingMode[];
const bindingMode = oneOf(...BINDING_MODES);

export const binding = section(`be { ip?, userAgent? }, each ${listed(BINDING_MODES)}`, {
  ip: bindingMode,
  userAgent: bindingMode,
} satisfies Section<'binding'>);

// Past ten million sessions (a few GB of heap) the likely mistake is a missing unit or a zero.
const MAX_CACHED_SESSIONS = 10_000_000;
// Slid more often than once a second, the cache would save few commands; its default is a tenth of the ttl.
const MIN_SLIDE_EVERY_MS = 1000;

/**
 * `cache.slideEveryMs`: its upper bound is half of `ttl` (a session slid less often could idle out
 * while in use), so it is checked after the keys, with `ttl` at hand. A bad `ttl` is reported on
 * its own; then only the lower bound is checked here.
 */
function slideEvery(given: Record<string, unknown>, problems: string[], options: Record<string, unknown>): void {
  const every = given.slideEveryMs;
  if (every === undefined) return;
  const ttl = options.ttl === undefined ? D.ttl : isWhole(1)(options.ttl) ? options.ttl : null;
  const most = ttl === null ? Number.POSITIVE_INFINITY : Math.floor((ttl * 1000) / 2);
  if (isWhole(MIN_SLIDE_EVERY_MS, most)(every)) return;
  if (most < MIN_SLIDE_EVERY_MS) {
    problems.push(`\`cache.slideEveryMs\` needs a \`ttl\` of at least 2 s (got a ttl of ${ttl} s): remove it, or raise ttl.`);
  } else {
    const range = ttl === null ? `≥ ${MIN_SLIDE_EVERY_MS}` : `from ${MIN_SLIDE_EVERY_MS} to ${most} (half of \`ttl\`)`;
    problems.push(`\`cache.slideEveryMs\` must be a whole number of ms ${range} (got ${show(every)}).`);
  }
}

export const cache = section(
  `be true, false or { max?, slideEveryMs? }, e.g. { max: ${D.cache.max} }`,
  {
    max: wholeNumber(1, MAX_CACHED_SESSIONS, 'sessions'),
    // Its range depends on `ttl`: checked by `slideEvery`, after the keys.
    slideEveryMs: () => undefined,
  } satisfies Section<'cache'>,
  { allows: (value) => typeof value === 'boolean', after: slideEvery },
);
