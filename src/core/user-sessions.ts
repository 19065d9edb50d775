/**
 * The per-user side of `SessionService` (list, revoke, revokeAll, updateUser) and the update of
 * one session both sides share; `SessionService` documents each method. Internal: the service
 * makes one, it is no provider. Ids and user ids are checked here; Redis is the store's.
 */
import { decodeSession } from './codec.js';
import type { SessionRevokedEvent } from './events.js';
import { checkUserId } from './keys.js';
import { checkLimit, decodeCursor, encodeCursor } from './page.js';
import { encodePatch, refusalError, type EncodedPatch } from './session-patch.js';
import { fromEntry } from './session-view.js';
import type { SessionStore } from './store.js';
import { isSessionId, sessionIdOf, tokenDeadline } from './token.js';
import type { RevokeAllOptions, Session, SessionListOptions, SessionPage, SessionPatch } from './types.js';

/** `updateUser` changes this many sessions at a time (one pipelined batch of script calls). */
const UPDATE_CHUNK = 100;

/** Reports sessions revoked: PUBLISH for live connections, counters, `session.revoked` events. */
export type RevokedReporter = (ids: string[], userId: string | number, reason: SessionRevokedEvent['reason']) => void;

export class UserSessions {
  constructor(
    private readonly store: SessionStore,
    private readonly reportRevoked: RevokedReporter,
    /** The module's idle timeout and data cap (`ttlMs`, `maxDataBytes`). */
    private readonly limits: { ttlMs: number; maxDataBytes: number },
    /** Drops changed sessions from this instance's cache at once (`SessionCache#forget`). */
    private readonly forget: (ids: readonly string[]) => void,
  ) {}

  async listPage(userId: string | number, options?: SessionListOptions): Promise<SessionPage> {
    checkUserId(userId);
    const limit = checkLimit(options?.limit);
    const after = options?.cursor === undefined ? null : decodeCursor(options.cursor);
    const now = Date.now();
    const positions = await this.store.indexPage(userId, now, limit + 1, after);
    const more = positions.length > limit;
    if (more) positions.length = limit;
    const nextCursor = more ? encodeCursor(positions[positions.length - 1]) : null;
    if (positions.length === 0) return { sessions: [], nextCursor };
    const ids = positions.map((position) => position.id);
    // Each under the id it has now: one rotating or rotated since the index was read is shown once.
    const entries = await this.store.readIndexed(userId, ids);
    const sessions: Session[] = [];
    for (const found of entries) {
      const stored = found && decodeSession(found.result.value);
      // An id listed under another user's index is never shown (a corrupted index). The id is
      // compared with its type: the number 1 and the string "1" are different users.
      if (found && stored && stored.userId === userId) {
        sessions.push(fromEntry(found.id, stored, found.result, now, this.limits.ttlMs));
      }
    }
    return { sessions, nextCursor };
  }

  async revoke(userId: string | number, sessionId: string): Promise<boolean> {
    checkUserId(userId);
    if (!isSessionId(sessionId)) return false;
    // The id it ended under: `sessionId`, or the one a session that rotated since has now.
    const ended = await this.store.revoke(userId, sessionId);
    if (ended !== null) this.reportRevoked([ended], userId, 'revoke');
    return ended !== null;
  }

  async revokeAll(userId: string | number, options?: RevokeAllOptions): Promise<number> {
    checkUserId(userId);
    const except = options?.except !== undefined && isSessionId(options.except) ? options.except : '';
    const { ids, deleted } = await this.store.revokeAll(userId, except);
    this.reportRevoked(ids, userId, 'revoke-all');
    return deleted;
  }

  /**
   * One index read, then one script call per session, `UPDATE_CHUNK` at a time (single-key
   * steps: Cluster-safe); the ids of sessions gone are unlisted at the end. A session that is
   * rotating, or rotated since the index was read, is changed under its new id, once. One whose
   * key lives with a value this version cannot read (a later version's) is left as it is and
   * stays listed, so that `revokeAll` still ends it; it does not count as changed.
   */
  async updateUser(userId: string | number, patch: SessionPatch): Promise<number> {
    checkUserId(userId);
    const encoded = encodePatch(patch);
    const ids = await this.store.indexIds(userId);
    let changed = 0;
    const gone: string[] = [];
    for (let start = 0; start < ids.length; start += UPDATE_CHUNK) {
      const chunk = ids.slice(start, start + UPDATE_CHUNK);
      const outcomes = await Promise.all(chunk.map((id) => this.change(id, encoded, userId)));
      outcomes.forEach((outcome, i) => {
        if (outcome === 'gone') gone.push(chunk[i]);
        else if (outcome !== 'unreadable') changed++;
      });
    }
    await this.store.unlist(userId, gone);
    return changed;
  }

  /**
   * `update`/`updateData` of the session a token names: null for a token past its deadline, a
   * session that is gone or unreadable, or one whose deadline is not the token's.
   */
  async updateToken(token: string, patch: EncodedPatch): Promise<Session | null> {
    const deadline = tokenDeadline(token);
    if (deadline <= Date.now()) return null;
    const session = await this.change(sessionIdOf(token), patch);
    return typeof session === 'object' && session.absoluteExpiresAt.getTime() === deadline ? session : null;
  }

  /**
   * One session's update: the session changed; `gone` when its key is (or, with `userId`, when
   * it is listed under another user); `unreadable` when its key lives with a value this version
   * cannot read (docs/versioning.md, "Rolling upgrades"), which is never taken for gone. By token
   * (no `userId`), a session in the middle of a rotation is changed under its new id (the change
   * never lost to it); by id (`updateUser`), also one that has just rotated (the index named its
   * old id). RangeError past `maxDataBytes`, `SessionPatchConflictException` for an op of the
   * wrong kind.
   */
  private async change(id: string, patch: EncodedPatch, userId?: string | number): Promise<Session | 'gone' | 'unreadable'> {
    // Whatever the outcome (a 503 may come after Redis applied it), the cached copy goes.
    const found = await this.store.update(id, patch, userId !== undefined).finally(() => this.forget([id]));
    if (found === null) return 'gone';
    if (found.id !== id) this.forget([found.id]);
    const entry = found.result;
    if ('unreadable' in entry) return 'unreadable';
    if ('refused' in entry) throw refusalError(entry.refused, this.limits.maxDataBytes);
    const stored = decodeSession(entry.value);
    // The script read it, the decoder does not (a value no version writes): its key lives.
    if (!stored) return 'unreadable';
    if (userId !== undefined && stored.userId !== userId) return 'gone';
    return fromEntry(found.id, stored, entry, Date.now(), this.limits.ttlMs);
  }
}
