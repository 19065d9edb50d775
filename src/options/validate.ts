import { all, bool, fields, fits, isWhole, matches, must, needs, oneOf, seconds, wholeNumber, type Check } from './checks.js';
import { SESSION_DEFAULTS as D } from './defaults.js';
import type { SessionModuleExtras, SessionModuleOptions } from './types.js';
import { cookie } from './validate-cookie.js';
import { binding, cache, csrf, loginThrottle, metrics, redis, rememberMe, replication } from './validate-sections.js';
import { isObject, show } from './values.js';

// Redis keys may hold anything, but a prefix with spaces or control characters is
// almost always a mistake and makes redis-cli inspection miserable.
const KEY_PREFIX = /^[\x21-\x7e]{1,100}$/;
const CLEAR_SITE_DATA =
  /^"(cache|cookies|storage|executionContexts|\*)"(\s*,\s*"(cache|cookies|storage|executionContexts|\*)")*$/;

/** The idle timeout cannot outlast the session; either may be left to its default. */
const atLeastTtl: Check = (value, _name, problems, options) => {
  const ttl = typeof options.ttl === 'number' ? options.ttl : D.ttl;
  const absoluteTtl = typeof value === 'number' ? value : D.absoluteTtl;
  if (ttl > 0 && absoluteTtl > 0 && absoluteTtl < ttl) {
    problems.push(
      `\`absoluteTtl\` (${absoluteTtl} s) must be at least \`ttl\` (${ttl} s): ` +
        'the idle timeout cannot outlast the session. Raise absoluteTtl or lower ttl.',
    );
  }
};

/**
 * The largest `maxDataBytes`: 64 KiB. An update rewrites the data inside Redis, which serves no
 * one else meanwhile: about 0.2 ms per KiB of JSON made of small values (objects, arrays of
 * ids), 0.03 ms per KiB of long strings (docs/options.md, measured on Redis 7); at 1 MiB one
 * update held Redis for 40-300 ms.
 */
const MAX_DATA_BYTES = 65_536;

const dataCap: Check = (value, name, problems) => {
  if (value === undefined || isWhole(2, MAX_DATA_BYTES)(value)) return;
  const why =
    typeof value === 'number' && value > MAX_DATA_BYTES
      ? ' Every update rewrites the data inside Redis, which serves no one else meanwhile (about 0.2 ms per KiB of ' +
        'JSON objects: 64 KiB costs 10-17 ms, 1 MiB up to 300 ms), and every guarded request reads it all: keep ' +
        'large data in your database and its id in the session.'
      : '';
  problems.push(`\`${name}\` must be a whole number of bytes from 2 to ${MAX_DATA_BYTES} (got ${show(value)}).${why}`);
};

const isFunction = (value: unknown) => typeof value === 'function';
const falseOr = (ok: (value: unknown) => boolean) => (value: unknown) => value === false || ok(value);

// `null` and `Infinity` both mean "no limit".
const cap = (byDefault: number) =>
  must(
    (value) => value === null || value === Number.POSITIVE_INFINITY || isWhole(1)(value),
    `be a whole number ≥ 1 (default ${byDefault}), or null (or Infinity) for no limit`,
  );

/**
 * One check per option, in the order their problems are listed; an option missing here is a
 * compile error, a key missing here is reported as unknown.
 */
const OPTION_CHECKS = {
  redis,
  keyPrefix: matches(KEY_PREFIX, `1–100 printable characters without spaces, e.g. '${D.keyPrefix}'`),
  ttl: seconds,
  absoluteTtl: all(seconds, atLeastTtl),
  transport: oneOf('cookie', 'bearer', 'both'),
  validateCredentials: needs(isFunction, 'be a function (credentials, context) => Promise<SessionUser | null>'),
  maxSessionsPerUser: cap(D.maxSessionsPerUser),
  durability: oneOf('none', 'replicated'),
  replication,
  csrf,
  loginThrottle,
  metrics,
  maxDataBytes: dataCap,
  rememberMe,
  binding,
  redisTimeoutMs: wholeNumber(100, 60_000, 'ms'),
  clearSiteData: must(falseOr(fits(CLEAR_SITE_DATA)), `be false or quoted directives such as '"cookies", "storage"'`),
  controller: bool,
  globalGuard: bool,
  isGlobal: bool,
  expiredEvents: bool,
  liveRevocation: bool,
  maxLiveConnectionsPerSession: cap(D.maxLiveConnectionsPerSession),
  cache,
  cookie,
} satisfies Record<keyof SessionModuleOptions, Check>;

/** Every problem with the options, each as a sentence that says what to fix. Empty when valid. */
export function validateSessionOptions(raw: unknown): string[] {
  if (!isObject(raw)) return [`options must be an object (got ${show(raw)}).`];
  const problems: string[] = [];
  fields(OPTION_CHECKS, raw, '', problems);
  return problems;
}

const MODULE_SHAPE_OPTIONS = ['controller', 'globalGuard', 'isGlobal'] satisfies (keyof SessionModuleExtras)[];

/** A value as code to paste: JSON where it can be, never a throw (cycles, BigInt). */
function asCode(value: unknown): string {
  // NaN, Infinity and -0 have no JSON: JSON.stringify would write `null` (or `0`).
  if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) return show(value);
  try {
    return `${JSON.stringify(value)}`;
  } catch {
    return show(value);
  }
}

/**
 * `validateSessionOptions`, plus what only the module's config provider can tell. `forRoot()`
 * takes `controller`, `globalGuard` and `isGlobal` out before the options get here, so any of
 * them present came from `forRootAsync()`'s factory, where they would be ignored without a
 * word: that fails the boot with where to put them instead.
 */
export function validateModuleOptions(raw: unknown): string[] {
  const problems = validateSessionOptions(raw);
  if (!isObject(raw)) return problems;
  const late = MODULE_SHAPE_OPTIONS.filter((key) => raw[key] !== undefined);
  if (late.length === 0) return problems;
  const names = late.map((key) => `\`${key}\``).join(', ');
  const [they, them] = late.length > 1 ? ['they shape', 'them'] : ['it shapes', 'it'];
  problems.push(
    `${names} came back from forRootAsync's useFactory, where ${they} nothing: ` +
      `the module is built before the factory runs. Pass ${them} next to useFactory, ` +
      `e.g. SessionModule.forRootAsync({ ${late.map((key) => `${key}: ${asCode(raw[key])}`).join(', ')}, useFactory }).`,
  );
  return problems;
}
