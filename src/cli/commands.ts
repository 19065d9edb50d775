import type { SessionService } from '../core/service.js';
import { MAX_LIST_LIMIT } from '../core/page.js';
import type { Session } from '../core/types.js';
import { userIndexSegment } from '../core/keys.js';
import { Exit, type CliUserId, type Command } from './args.js';
import type { CommandContext, CommandOutput } from './context.js';
import { stats } from './stats.js';
import { safeJson, safeText, shortTime, table } from './format.js';

const ok = (stdout: string): CommandOutput => ({ exitCode: Exit.Ok, stdout, stderr: '' });

/** Runs one command. Redis failures propagate (the caller maps them to exit 3). */
export async function runCommand(command: Command, ctx: CommandContext): Promise<CommandOutput> {
  switch (command.name) {
    case 'list':
      return list(command.userId, ctx);
    case 'revoke':
      return revoke(command.userId, command.sessionId, ctx);
    case 'revoke-all':
      return revokeAll(command.userId, ctx);
    case 'stats':
      return stats(ctx);
  }
}

// The user id comes typed from the command line (`userIdOf` in args.ts): the number 42 and the
// string "42" are different users with different indexes (`<prefix>user:42`, `<prefix>user:"42"`).
// People see it as its index names it: 42, "42", u-bob.
const userText = (userId: CliUserId) => safeText(userIndexSegment(userId));

async function list(userId: CliUserId, ctx: CommandContext): Promise<CommandOutput> {
  const sessions = await listAll(ctx.service, userId);
  if (ctx.json) return ok(safeJson(sessions));
  if (sessions.length === 0) return ok(`No live sessions for user ${userText(userId)} (prefix ${safeText(ctx.prefix)}).\n`);
  const header = ['ID', 'USERNAME', 'ROLE', 'IP', 'CREATED', 'LAST ACTIVITY', 'EXPIRES', 'ABSOLUTE EXPIRY', 'USER AGENT'];
  const rows = sessions.map((s: Session) => [
    s.id,
    safeText(s.username, 32),
    safeText(s.role, 16),
    safeText(s.ip, 39),
    shortTime(s.createdAt),
    shortTime(s.lastActivityAt),
    shortTime(s.expiresAt),
    shortTime(s.absoluteExpiresAt),
    safeText(s.userAgent, 60),
  ]);
  const title = `${sessions.length} live session${sessions.length === 1 ? '' : 's'} of user ${userText(userId)} (prefix ${safeText(ctx.prefix)}), newest first:\n`;
  return ok(title + table(header, rows));
}

/** Every live session of the user, newest first, a page (1,000) at a time: each call to Redis stays bounded. */
async function listAll(service: SessionService, userId: CliUserId): Promise<Session[]> {
  const sessions: Session[] = [];
  let cursor: string | null = null;
  do {
    const page = await service.listPage(userId, cursor === null ? { limit: MAX_LIST_LIMIT } : { limit: MAX_LIST_LIMIT, cursor });
    for (const session of page.sessions) sessions.push(session);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return sessions;
}

async function revoke(userId: CliUserId, sessionId: string, ctx: CommandContext): Promise<CommandOutput> {
  const revoked = await ctx.service.revoke(userId, sessionId);
  if (ctx.json) {
    return { exitCode: revoked ? Exit.Ok : Exit.NotFound, stdout: safeJson({ revoked, userId, sessionId }), stderr: '' };
  }
  if (revoked) return ok(`Revoked session ${sessionId} of user ${userText(userId)}.\n`);
  return {
    exitCode: Exit.NotFound,
    stdout: '',
    stderr: `Not found: ${safeText(sessionId)} is not one of user ${userText(userId)}'s live sessions (prefix ${safeText(ctx.prefix)}). Nothing revoked.\n`,
  };
}

async function revokeAll(userId: CliUserId, ctx: CommandContext): Promise<CommandOutput> {
  const revoked = await ctx.service.revokeAll(userId);
  if (ctx.json) return ok(safeJson({ revoked, userId }));
  return ok(`Revoked ${revoked} session${revoked === 1 ? '' : 's'} of user ${userText(userId)}.\n`);
}
