import { SESSION_DEFAULTS } from './defaults.js';
import {
  validateCookie,
  validateCsrf,
  validateMetrics,
  validateRedis,
  validateRememberMe,
  validateBinding,
  validateReplication,
  validateSeconds,
  validateThrottle,
} from './validate-sections.js';
import { isObject, show } from './values.js';

const KNOWN_OPTIONS = new Set([
  'redis',
  'keyPrefix',
  'ttl',
  'absoluteTtl',
  'cookie',
  'transport',
  'validateCredentials',
  'maxSessionsPerUser',
  'durability',
  'replication',
  'expiredEvents',
  'liveRevocation',
  'csrf',
  'loginThrottle',
  'metrics',
  'clearSiteData',
  'maxDataBytes',
  'redisTimeoutMs',
  'rememberMe',
  'binding',
  'controller',
  'globalGuard',
  'isGlobal',
]);
// Redis keys may hold anything, but a prefix with spaces or control characters is
// almost always a mistake and makes redis-cli inspection miserable.
const CLEAR_SITE_DATA =
  /^"(cache|cookies|storage|executionContexts|\*)"(\s*,\s*"(cache|cookies|storage|executionContexts|\*)")*$/;
const KEY_PREFIX = /^[\x21-\x7e]{1,100}$/;

/** Every problem with the options, each as a sentence that says what to fix. Empty when valid. */
export function validateSessionOptions(raw: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(raw)) {
    return [`options must be an object (got ${show(raw)}).`];
  }
  for (const key of Object.keys(raw)) {
    if (!KNOWN_OPTIONS.has(key)) problems.push(`unknown option \`${key}\`.`);
  }
  validateRedis(raw.redis, problems);

  if (raw.keyPrefix !== undefined && (typeof raw.keyPrefix !== 'string' || !KEY_PREFIX.test(raw.keyPrefix))) {
    problems.push(
      `\`keyPrefix\` must be 1–100 printable characters without spaces, e.g. 'session:' (got ${show(raw.keyPrefix)}).`,
    );
  }
  validateSeconds('ttl', raw.ttl, problems);
  validateSeconds('absoluteTtl', raw.absoluteTtl, problems);
  const ttl = typeof raw.ttl === 'number' ? raw.ttl : SESSION_DEFAULTS.ttl;
  const absoluteTtl = typeof raw.absoluteTtl === 'number' ? raw.absoluteTtl : SESSION_DEFAULTS.absoluteTtl;
  if (ttl > 0 && absoluteTtl > 0 && absoluteTtl < ttl) {
    problems.push(
      `\`absoluteTtl\` (${absoluteTtl} s) must be at least \`ttl\` (${ttl} s): ` +
        'the idle timeout cannot outlast the session. Raise absoluteTtl or lower ttl.',
    );
  }

  if (raw.transport !== undefined && !['cookie', 'bearer', 'both'].includes(raw.transport as string)) {
    problems.push(`\`transport\` must be 'cookie', 'bearer' or 'both' (got ${show(raw.transport)}).`);
  }
  if (raw.validateCredentials !== undefined && typeof raw.validateCredentials !== 'function') {
    problems.push('`validateCredentials` must be a function (credentials, context) => Promise<SessionUser | null>.');
  }
  if (
    raw.maxSessionsPerUser !== undefined &&
    raw.maxSessionsPerUser !== null &&
    raw.maxSessionsPerUser !== Number.POSITIVE_INFINITY &&
    (typeof raw.maxSessionsPerUser !== 'number' || !Number.isInteger(raw.maxSessionsPerUser) || raw.maxSessionsPerUser < 1)
  ) {
    problems.push(
      `\`maxSessionsPerUser\` must be a whole number ≥ 1 (default ${SESSION_DEFAULTS.maxSessionsPerUser}), ` +
        `or null (or Infinity) for no limit (got ${show(raw.maxSessionsPerUser)}).`,
    );
  }
  if (raw.durability !== undefined && raw.durability !== 'none' && raw.durability !== 'replicated') {
    problems.push(`\`durability\` must be 'none' or 'replicated' (got ${show(raw.durability)}).`);
  }
  validateReplication(raw, problems);
  validateCsrf(raw.csrf, problems);
  validateThrottle(raw.loginThrottle, problems);
  validateMetrics(raw.metrics, problems);
  if (
    raw.maxDataBytes !== undefined &&
    (typeof raw.maxDataBytes !== 'number' ||
      !Number.isInteger(raw.maxDataBytes) ||
      raw.maxDataBytes < 2 ||
      raw.maxDataBytes > 1_048_576)
  ) {
    problems.push(`\`maxDataBytes\` must be a whole number of bytes from 2 to 1048576 (got ${show(raw.maxDataBytes)}).`);
  }
  validateRememberMe(raw.rememberMe, problems);
  validateBinding(raw.binding, problems);
  if (
    raw.redisTimeoutMs !== undefined &&
    (typeof raw.redisTimeoutMs !== 'number' ||
      !Number.isInteger(raw.redisTimeoutMs) ||
      raw.redisTimeoutMs < 100 ||
      raw.redisTimeoutMs > 60_000)
  ) {
    problems.push(`\`redisTimeoutMs\` must be a whole number of ms from 100 to 60000 (got ${show(raw.redisTimeoutMs)}).`);
  }
  if (
    raw.clearSiteData !== undefined &&
    raw.clearSiteData !== false &&
    (typeof raw.clearSiteData !== 'string' || !CLEAR_SITE_DATA.test(raw.clearSiteData))
  ) {
    problems.push(
      `\`clearSiteData\` must be false or quoted directives such as '"cookies", "storage"' (got ${show(raw.clearSiteData)}).`,
    );
  }
  for (const flag of ['controller', 'globalGuard', 'isGlobal', 'expiredEvents', 'liveRevocation'] as const) {
    if (raw[flag] !== undefined && typeof raw[flag] !== 'boolean') {
      problems.push(`\`${flag}\` must be true or false (got ${show(raw[flag])}).`);
    }
  }

  validateCookie(raw, problems);
  return problems;
}
