import { isObject, show } from './values.js';

// One function per section of the options; each adds a sentence per problem, saying what to
// fix. validate.ts calls them in the order of the README's options table.

const KNOWN_COOKIE_OPTIONS = new Set(['name', 'secure', 'sameSite', 'path', 'domain', 'persistent', 'hostPrefix']);
// RFC 6265 cookie-name: an RFC 7230 token.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/;
const COOKIE_DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function validateRedis(redis: unknown, problems: string[]): void {
  if (redis === undefined || redis === null) {
    problems.push(
      "`redis` is required: pass { url: 'redis://localhost:6379' }, { client } with an ioredis " +
        'Redis or Cluster you own, { cluster: { nodes } }, or ioredis options.',
    );
    return;
  }
  if (!isObject(redis)) {
    problems.push(`\`redis\` must be an object (got ${show(redis)}).`);
    return;
  }
  if ('client' in redis) {
    const client = redis.client as Record<string, unknown> | null;
    if (!client || typeof client.defineCommand !== 'function' || typeof client.getex !== 'function') {
      problems.push('`redis.client` must be an ioredis Redis or Cluster instance (ioredis ≥ 5).');
    }
    return;
  }
  if ('url' in redis) {
    if (typeof redis.url !== 'string' || !/^rediss?:\/\/./.test(redis.url)) {
      problems.push(`\`redis.url\` must start with redis:// or rediss:// (got ${show(redis.url)}).`);
    }
    return;
  }
  if ('cluster' in redis) {
    const cluster = redis.cluster as Record<string, unknown> | null;
    if (!isObject(cluster) || !Array.isArray(cluster.nodes) || cluster.nodes.length === 0) {
      problems.push('`redis.cluster.nodes` must list at least one node, e.g. [{ host: "127.0.0.1", port: 7000 }].');
    }
  }
}

export function validateSeconds(name: string, value: unknown, problems: string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    problems.push(`\`${name}\` must be a whole number of seconds greater than 0 (got ${show(value)}).`);
  } else if (value > 31_536_000 * 10) {
    problems.push(`\`${name}\` must be at most ten years in seconds (got ${value}); is it in milliseconds?`);
  }
}

export function validateMetrics(metrics: unknown, problems: string[]): void {
  if (metrics === undefined || typeof metrics === 'boolean') return;
  if (!isObject(metrics)) {
    problems.push(`\`metrics\` must be true, false or { registry?, prefix? } (got ${show(metrics)}).`);
    return;
  }
  for (const key of Object.keys(metrics)) {
    if (key !== 'registry' && key !== 'prefix') problems.push(`unknown option \`metrics.${key}\`.`);
  }
  if (
    metrics.prefix !== undefined &&
    (typeof metrics.prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metrics.prefix))
  ) {
    problems.push(`\`metrics.prefix\` must be a Prometheus name prefix such as 'myapp_session_' (got ${show(metrics.prefix)}).`);
  }
  if (metrics.registry !== undefined && (!isObject(metrics.registry) || typeof metrics.registry.getSingleMetric !== 'function')) {
    problems.push('`metrics.registry` must be a prom-client Registry.');
  }
}

export function validateThrottle(throttle: unknown, problems: string[]): void {
  if (throttle === undefined || throttle === false) return;
  if (!isObject(throttle)) {
    problems.push(
      `\`loginThrottle\` must be false or an object like { perUsername: { limit: 10, windowSeconds: 900 } } (got ${show(throttle)}).`,
    );
    return;
  }
  for (const key of Object.keys(throttle)) {
    if (!['perUsername', 'perIp', 'delayAfter', 'maxDelayMs'].includes(key))
      problems.push(`unknown option \`loginThrottle.${key}\`.`);
  }
  for (const name of ['perUsername', 'perIp'] as const) {
    const rule = throttle[name];
    if (rule === undefined) continue;
    const ok =
      isObject(rule) &&
      typeof rule.limit === 'number' &&
      Number.isInteger(rule.limit) &&
      rule.limit >= 1 &&
      typeof rule.windowSeconds === 'number' &&
      Number.isInteger(rule.windowSeconds) &&
      rule.windowSeconds >= 1;
    if (!ok) {
      problems.push(
        `\`loginThrottle.${name}\` must be { limit: whole number ≥ 1, windowSeconds: whole number ≥ 1 } (got ${show(rule)}).`,
      );
    }
  }
  for (const name of ['delayAfter', 'maxDelayMs'] as const) {
    const value = throttle[name];
    if (
      value !== undefined &&
      (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (name === 'maxDelayMs' && value > 30_000))
    ) {
      problems.push(
        `\`loginThrottle.${name}\` must be a whole number ≥ 0${name === 'maxDelayMs' ? ' and ≤ 30000 (ms)' : ''} (got ${show(value)}).`,
      );
    }
  }
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

export function validateCsrf(csrf: unknown, problems: string[]): void {
  if (csrf === undefined || csrf === false) return;
  if (!isObject(csrf)) {
    problems.push(
      `\`csrf\` must be false or an object like { trustedOrigins: ['https://app.example.com'] } (got ${show(csrf)}).`,
    );
    return;
  }
  for (const key of Object.keys(csrf)) {
    if (!['trustedOrigins', 'doubleSubmit', 'headerName'].includes(key)) problems.push(`unknown option \`csrf.${key}\`.`);
  }
  const origins = csrf.trustedOrigins;
  if (origins !== undefined) {
    if (!Array.isArray(origins)) {
      problems.push(`\`csrf.trustedOrigins\` must be an array of origins (got ${show(origins)}).`);
    } else {
      for (const origin of origins) {
        if (typeof origin !== 'string' || normalizeOrigin(origin) !== origin) {
          problems.push(
            `\`csrf.trustedOrigins\`: ${show(origin)} is not an origin; write scheme://host[:port] with no path or trailing slash, e.g. 'https://app.example.com'.`,
          );
        }
      }
    }
  }
  if (csrf.doubleSubmit !== undefined && typeof csrf.doubleSubmit !== 'boolean') {
    problems.push(`\`csrf.doubleSubmit\` must be true or false (got ${show(csrf.doubleSubmit)}).`);
  }
  if (csrf.headerName !== undefined && (typeof csrf.headerName !== 'string' || !HEADER_NAME.test(csrf.headerName))) {
    problems.push(`\`csrf.headerName\` must be an HTTP header name such as 'x-csrf-token' (got ${show(csrf.headerName)}).`);
  }
}

/** `scheme://host[:port]` in lower case, or null for anything that is not an http(s) origin. */
function normalizeOrigin(value: string): string | null {
  try {
    const url = new URL(value);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin === 'null') return null;
    return url.origin;
  } catch {
    return null;
  }
}

/** `replication` (only with `durability: 'replicated'`). */
export function validateReplication(raw: Record<string, unknown>, problems: string[]): void {
  if (raw.replication !== undefined) {
    const replication = raw.replication;
    if (!isObject(replication)) {
      problems.push(`\`replication\` must be an object like { replicas: 1, timeoutMs: 250 } (got ${show(replication)}).`);
    } else {
      for (const key of Object.keys(replication)) {
        if (key !== 'replicas' && key !== 'timeoutMs') problems.push(`unknown option \`replication.${key}\`.`);
      }
      const { replicas, timeoutMs } = replication;
      if (replicas !== undefined && (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1)) {
        problems.push(`\`replication.replicas\` must be a whole number ≥ 1 (got ${show(replicas)}).`);
      }
      if (
        timeoutMs !== undefined &&
        (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 10_000)
      ) {
        problems.push(
          `\`replication.timeoutMs\` must be a whole number of milliseconds from 1 to 10000 (got ${show(timeoutMs)}).`,
        );
      }
      if (raw.durability !== 'replicated') {
        problems.push("`replication` only applies with `durability: 'replicated'`: set it, or remove `replication`.");
      }
    }
  }
}

/** `cookie`, including the rules browsers enforce on `__Host-` and `__Secure-` cookies. */
export function validateCookie(raw: Record<string, unknown>, problems: string[]): void {
  const cookie = raw.cookie;
  if (cookie !== undefined) {
    if (!isObject(cookie)) {
      problems.push(`\`cookie\` must be an object (got ${show(cookie)}).`);
    } else {
      for (const key of Object.keys(cookie)) {
        if (!KNOWN_COOKIE_OPTIONS.has(key)) problems.push(`unknown option \`cookie.${key}\`.`);
      }
      if (cookie.name !== undefined && (typeof cookie.name !== 'string' || !COOKIE_NAME.test(cookie.name))) {
        problems.push(`\`cookie.name\` must be a cookie token such as 'sid' (got ${show(cookie.name)}).`);
      }
      if (cookie.secure !== undefined && typeof cookie.secure !== 'boolean') {
        problems.push(`\`cookie.secure\` must be true or false (got ${show(cookie.secure)}).`);
      }
      if (cookie.persistent !== undefined && typeof cookie.persistent !== 'boolean') {
        problems.push(`\`cookie.persistent\` must be true or false (got ${show(cookie.persistent)}).`);
      }
      if (cookie.sameSite !== undefined && !['lax', 'strict', 'none'].includes(cookie.sameSite as string)) {
        problems.push(`\`cookie.sameSite\` must be 'lax', 'strict' or 'none' (got ${show(cookie.sameSite)}).`);
      }
      if (cookie.sameSite === 'none' && cookie.secure === false) {
        problems.push(
          "`cookie.sameSite: 'none'` requires `cookie.secure: true`: browsers reject SameSite=None cookies without Secure.",
        );
      }
      if (cookie.path !== undefined && (typeof cookie.path !== 'string' || !COOKIE_PATH.test(cookie.path))) {
        problems.push(`\`cookie.path\` must start with '/' and hold no ';' or spaces (got ${show(cookie.path)}).`);
      }
      if (cookie.domain !== undefined && (typeof cookie.domain !== 'string' || !COOKIE_DOMAIN.test(cookie.domain))) {
        problems.push(`\`cookie.domain\` must be a host name such as 'example.com' (got ${show(cookie.domain)}).`);
      }
      if (cookie.hostPrefix !== undefined && typeof cookie.hostPrefix !== 'boolean') {
        problems.push(`\`cookie.hostPrefix\` must be true or false (got ${show(cookie.hostPrefix)}).`);
      }
      // Browsers drop prefixed cookies that break the prefix's rules: refuse them at boot.
      const hostPrefixed = cookie.hostPrefix === true || (typeof cookie.name === 'string' && cookie.name.startsWith('__Host-'));
      if (hostPrefixed) {
        if (cookie.secure === false) problems.push('a `__Host-` cookie must be Secure: remove `cookie.secure: false`.');
        if (cookie.domain !== undefined) problems.push('a `__Host-` cookie cannot have a Domain: remove `cookie.domain`.');
        if (cookie.path !== undefined && cookie.path !== '/')
          problems.push('a `__Host-` cookie must have Path=/: remove `cookie.path`.');
      }
      if (typeof cookie.name === 'string' && cookie.name.startsWith('__Secure-') && cookie.secure === false) {
        problems.push('a `__Secure-` cookie must be Secure: remove `cookie.secure: false`.');
      }
      if (cookie.hostPrefix === true && typeof cookie.name === 'string' && cookie.name.startsWith('__')) {
        problems.push(
          "with `cookie.hostPrefix: true`, give `cookie.name` without a prefix (e.g. 'sid'): it becomes '__Host-sid'.",
        );
      }
    }
  }
}

export function validateRememberMe(rememberMe: unknown, problems: string[]): void {
  if (rememberMe === undefined) return;
  if (!isObject(rememberMe) || rememberMe.ttl === undefined || rememberMe.absoluteTtl === undefined) {
    problems.push(
      `\`rememberMe\` must be { ttl, absoluteTtl } in seconds, e.g. { ttl: 604800, absoluteTtl: 2592000 } (got ${show(rememberMe)}).`,
    );
    return;
  }
  for (const key of Object.keys(rememberMe)) {
    if (key !== 'ttl' && key !== 'absoluteTtl') problems.push(`unknown option \`rememberMe.${key}\`.`);
  }
  validateSeconds('rememberMe.ttl', rememberMe.ttl, problems);
  validateSeconds('rememberMe.absoluteTtl', rememberMe.absoluteTtl, problems);
}

const BINDING_MODES = ['off', 'report', 'enforce'];

export function validateBinding(binding: unknown, problems: string[]): void {
  if (binding === undefined) return;
  if (!isObject(binding)) {
    problems.push(`\`binding\` must be { ip?, userAgent? }, each 'off', 'report' or 'enforce' (got ${show(binding)}).`);
    return;
  }
  for (const [key, value] of Object.entries(binding)) {
    if (key !== 'ip' && key !== 'userAgent') problems.push(`unknown option \`binding.${key}\`.`);
    else if (value !== undefined && !BINDING_MODES.includes(value as string)) {
      problems.push(`\`binding.${key}\` must be 'off', 'report' or 'enforce' (got ${show(value)}).`);
    }
  }
}
