import { parseArgs } from 'node:util';

export const BIN = 'nestjs-redis-session';

/** Exit codes of the CLI. */
export const Exit = {
  Ok: 0,
  /** `sessions revoke` of an id that is not one of the user's live sessions. */
  NotFound: 1,
  Usage: 2,
  /** Redis unreachable, too slow, or refusing the command. */
  RedisUnavailable: 3,
  /** A bug in the CLI (the stack trace is on stderr). */
  Internal: 4,
} as const;

/**
 * A public session id is 22 base64url characters and may start with '-', which parseArgs
 * would read as an option cluster: such arguments are moved behind a '--', where
 * everything is positional, so operators can paste ids as they are.
 */
function protectSessionIds(argv: readonly string[]): string[] {
  const separator = argv.indexOf('--');
  const head = separator === -1 ? [...argv] : argv.slice(0, separator);
  const tail = separator === -1 ? [] : argv.slice(separator + 1);
  const ids = head.filter((arg) => /^-[A-Za-z0-9_-]{21}$/.test(arg));
  if (ids.length === 0) return [...argv];
  // Positionals keep their order: everything positional goes behind the separator.
  const options: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const arg = head[i];
    if ((arg === '--prefix' || arg === '--ttl') && i + 1 < head.length) {
      options.push(arg, head[++i]);
    } else if (arg.startsWith('-') && !ids.includes(arg)) {
      options.push(arg);
    } else {
      positionals.push(arg);
    }
  }
  return [...options, '--', ...positionals, ...tail];
}

const DEFAULT_PREFIX = 'session:';
const DEFAULT_TTL_SECONDS = 1800;
/** Ten years, the module's own bound. */
const MAX_TTL_SECONDS = 315_360_000;

export const USAGE = `Usage: ${BIN} <command> [options]

Commands:
  sessions list <userId>                the user's live sessions, newest first
  sessions revoke <userId> <sessionId>  revoke one session (exit 1 if it is not one of the user's)
  sessions revoke-all <userId>          revoke every session of the user
  stats                                 count sessions, users, keys without a TTL; memory

Options:
  --prefix <keyPrefix>  the app's keyPrefix (default "${DEFAULT_PREFIX}")
  --ttl <seconds>       the app's idle timeout, to derive lastActivityAt in
                        \`sessions list\` (default ${DEFAULT_TTL_SECONDS})
  --string-id           take a <userId> like 42 as the string "42", not the number
  --json                machine-readable output on stdout
  -h, --help            this text

Environment:
  REDIS_URL             redis://[user:password@]host:port[/db], or rediss:// for TLS
                        (required; the password never goes on the command line)
  REDIS_TIMEOUT_MS      how long to wait for the connection and for each command,
                        in ms (default 2000)

Exit codes: 0 ok, 1 not found, 2 usage error, 3 Redis unreachable (within
REDIS_TIMEOUT_MS) or failing, 4 internal error.

A <userId> written the way a number prints (42, -7, 0) is a number id: 42 means the
sessions created with { id: 42 }, indexed under <prefix>user:42. The string id "42"
is another user (indexed under <prefix>user:"42"): add --string-id to mean it. Any
other <userId> (u-bob, 007) is the string id as typed. Put -- before an id that
starts with "-".
\`stats\` walks the keys under the prefix with SCAN (incremental, COUNT 1000) and
a PTTL per key: an operator's tool for a quiet moment. The module itself never
sends KEYS or SCAN.
`;

/** A user id as `SessionUser.id` had it: a number or a string (see `userIdOf`). */
export type CliUserId = string | number;

export type Command =
  | { name: 'list'; userId: CliUserId }
  | { name: 'revoke'; userId: CliUserId; sessionId: string }
  | { name: 'revoke-all'; userId: CliUserId }
  | { name: 'stats' };

export interface Invocation {
  command: Command;
  json: boolean;
  prefix: string;
  ttlSeconds: number;
}

type Parsed = { kind: 'help' } | { kind: 'run'; invocation: Invocation } | { kind: 'usage-error'; message: string };

const usageError = (message: string): Parsed => ({ kind: 'usage-error', message });

/**
 * The user id an operator typed. The number 42 and the string "42" are different users with
 * different indexes, so the CLI must pick one: an argument written exactly as a safe integer
 * prints (42, -7, 0; not 007, -0 or 1e3) is the number, unless `--string-id`; any other
 * argument can only be a string id, and is taken as typed.
 */
export function userIdOf(arg: string, stringId: boolean): CliUserId {
  if (stringId || !/^-?\d{1,16}$/.test(arg)) return arg;
  const n = Number(arg);
  return Number.isSafeInteger(n) && String(n) === arg ? n : arg;
}

/** Reads the command line (without `node` and the script). Never throws. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  let values: { json?: boolean; prefix?: string; ttl?: string; 'string-id'?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: protectSessionIds(argv),
      options: {
        json: { type: 'boolean' },
        prefix: { type: 'string' },
        ttl: { type: 'string' },
        'string-id': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    // parseArgs explains itself ("Unknown option '--x'", "Option '--prefix <value>' argument missing").
    return usageError(err instanceof Error ? err.message.split('\n')[0] : String(err));
  }
  if (values.help || positionals[0] === 'help') return { kind: 'help' };

  const prefix = values.prefix ?? DEFAULT_PREFIX;
  let ttlSeconds = DEFAULT_TTL_SECONDS;
  if (values.ttl !== undefined) {
    ttlSeconds = /^[1-9][0-9]{0,8}$/.test(values.ttl) ? Number(values.ttl) : 0;
    if (ttlSeconds === 0 || ttlSeconds > MAX_TTL_SECONDS) {
      return usageError(`--ttl must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS} (got "${values.ttl}").`);
    }
  }

  const [group, action, ...rest] = positionals;
  let command: Command;
  if (group === undefined) return usageError('No command given.');
  if (group === 'stats') {
    if (positionals.length > 1) return usageError(`\`stats\` takes no arguments (got "${positionals.slice(1).join(' ')}").`);
    if (values['string-id']) return usageError('`--string-id` is for the `sessions` commands, which take a <userId>.');
    command = { name: 'stats' };
  } else if (group === 'sessions') {
    const args = rest;
    const stringId = values['string-id'] === true;
    const want = (n: number, shape: string): string | null =>
      args.length === n ? null : `\`sessions ${action} ${shape}\` takes ${n} argument${n === 1 ? '' : 's'} (got ${args.length}).`;
    if (action === 'list' || action === 'revoke-all') {
      const problem = want(1, '<userId>');
      if (problem) return usageError(problem);
      command = { name: action, userId: userIdOf(args[0], stringId) };
    } else if (action === 'revoke') {
      const problem = want(2, '<userId> <sessionId>');
      if (problem) return usageError(problem);
      command = { name: 'revoke', userId: userIdOf(args[0], stringId), sessionId: args[1] };
    } else {
      return usageError(
        action === undefined
          ? '`sessions` needs a subcommand: list, revoke or revoke-all.'
          : `Unknown subcommand \`sessions ${action}\`.`,
      );
    }
    if (args[0] === '') return usageError('The user id must not be empty.');
  } else {
    return usageError(`Unknown command \`${group}\`.`);
  }
  return { kind: 'run', invocation: { command, json: values.json === true, prefix, ttlSeconds } };
}
