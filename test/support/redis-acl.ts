import type { Redis } from 'ioredis';

/**
 * The least Redis ACL the module needs, per feature (docs/operations.md, "Redis security"), as the
 * tests prove it: with exactly these permissions every flow works and `ACL LOG` stays
 * empty; without any one of the required commands the route that needs it answers 503
 * (the cache's: the cache stays bypassed, test/redis-security-cache.e2e-spec.ts).
 */
export const ACL_COMMANDS = {
  /**
   * Every app. Top level: GETEX (guard); SET, EVAL/EVALSHA (login, rotate, list; ioredis sends
   * a script as EVAL once per connection, then EVALSHA); GETDEL + ZREM (logout, rotate);
   * GET, PTTL (list, SessionService.get); ZRANGE (revoke-all, in chunks); ZSCORE (revoke's
   * ownership check); ZREM + DEL (revoke, revoke-all, throttle reset); EXISTS (eviction
   * past maxSessionsPerUser).
   * Called from the Lua scripts, which ACL checks like any other command: ZREMRANGEBYSCORE
   * and ZRANGE (index add, index page), ZADD, PEXPIREAT, ZCARD (index add), INCRBY,
   * DECRBY, PEXPIRE (login throttling).
   */
  base: [
    'getex',
    'set',
    'get',
    'pttl',
    'getdel',
    'del',
    'exists',
    'zadd',
    'zrem',
    'zscore',
    'zrange',
    'zremrangebyscore',
    'zcard',
    'pexpireat',
    'incrby',
    'decrby',
    'pexpire',
    'eval',
    'evalsha',
  ],
  /** ioredis's ready check on every connection (drop it with `enableReadyCheck: false`). */
  readyCheck: ['info'],
  /** `SessionHealthIndicator`. */
  health: ['ping'],
  /** `durability: 'replicated'`. */
  durability: ['wait'],
  /** `expiredEvents: true`, with the channel pattern below. */
  expiredEvents: ['subscribe'],
  /** `liveRevocation` (on by default): every session end is PUBLISHed on `<prefix>ended`. */
  liveRevocation: ['publish'],
  /**
   * The session cache (`cache`), with the channel below: its invalidation connection asks for its
   * own id, turns on tracking redirected to itself, subscribes to the invalidations and PINGs
   * every second (cache/tracking-connection.ts).
   */
  cache: ['client|setname', 'client|id', 'role', 'client|tracking', 'subscribe', 'ping'],
} as const;

/**
 * The channel permission of `expiredEvents`: the module SUBSCRIBEs to `__keyevent@<db>__:expired`
 * of its own database, which this glob matches whatever the database.
 */
export const EXPIRED_EVENTS_CHANNEL = '__keyevent@*__:expired';

/** The channel permission of `cache`: Redis sends a RESP2 client's invalidations there. */
export const INVALIDATION_CHANNEL = '__redis__:invalidate';

export type AclFeature = Exclude<keyof typeof ACL_COMMANDS, 'base'>;

/** The commands (lower case, `command|subcommand` for a subcommand) for the base plus the given features, each once. */
export function aclCommands(features: readonly AclFeature[]): string[] {
  return [...new Set<string>([...ACL_COMMANDS.base, ...features.flatMap((feature) => ACL_COMMANDS[feature])])];
}

/**
 * The rule as `ACL SETUSER <name> ...` arguments (also a `user <name> ...` line of an
 * ACL file or redis.conf when joined with spaces). `except` leaves commands or channels out
 * (for tests that prove each one is needed).
 */
export function aclRule(
  password: string,
  features: readonly AclFeature[],
  options: { prefix?: string; except?: readonly string[] } = {},
): string[] {
  const prefix = (options.prefix ?? 'session:').replace(/[*?[\]\\]/g, '\\$&');
  const except = new Set(options.except ?? []);
  return [
    'on',
    `>${password}`,
    `~${prefix}*`,
    'resetchannels',
    ...(features.includes('expiredEvents') && !except.has(EXPIRED_EVENTS_CHANNEL) ? [`&${EXPIRED_EVENTS_CHANNEL}`] : []),
    ...(features.includes('liveRevocation') ? [`&${prefix}ended`] : []),
    ...(features.includes('cache') && !except.has(INVALIDATION_CHANNEL) ? [`&${INVALIDATION_CHANNEL}`] : []),
    '-@all',
    ...aclCommands(features)
      .filter((command) => !except.has(command))
      .map((command) => `+${command}`),
  ];
}

/** One `ACL LOG` entry (a denial). */
export interface AclDenial {
  reason: string;
  context: string;
  object: string;
  username: string;
  [field: string]: unknown;
}

/** `ACL LOG` as objects, whatever the protocol (RESP2 flat arrays or RESP3 maps). */
export async function aclLog(admin: Redis): Promise<AclDenial[]> {
  const entries = (await admin.call('ACL', 'LOG', '128')) as unknown[];
  return entries.map((entry) => {
    if (!Array.isArray(entry)) return entry as AclDenial;
    const object: Record<string, unknown> = {};
    for (let i = 0; i + 1 < entry.length; i += 2) object[String(entry[i])] = entry[i + 1];
    return object as AclDenial;
  });
}

/** A short line per denial, for assertion messages: `sessions: command zadd (lua)`. */
export function describeDenials(denials: AclDenial[]): string[] {
  return denials.map((d) => `${d.username}: ${d.reason} ${d.object} (${d.context})`);
}
