/**
 * The sessions `SessionLive` watches (core/live.ts): per session, the callbacks of its live
 * connections, ONE expiry timer and at most one read at a time, however many sockets and
 * streams it has. Sends no Redis command itself: a session is looked at through the `read`
 * it is given (`SessionStore#read`, one script call: its key and TTL).
 */
import { Logger } from '@nestjs/common';

/** Why a watched session ended. */
export type SessionEndReason = 'ended' | 'expired';

/** A session's value and remaining TTL, or null once it is gone (what `SessionStore#read` answers). */
export type ReadSession = (id: string) => Promise<{ pttlMs: number } | null>;

interface Watch {
  onEnd(reason: SessionEndReason): void;
}

interface Watched {
  readonly watches: Set<Watch>;
  timer: NodeJS.Timeout | undefined;
  /** When the timer fires (epoch ms; Infinity without one). */
  dueAt: number;
}

/** The expiry re-check never waits longer than this, so a session slid elsewhere is looked at again. */
const MAX_RECHECK_MS = 2_147_000_000;
/** After its TTL ran out, a key is gone within this (Redis expires keys actively ~10 times a second). */
const EXPIRY_GRACE_MS = 200;
/** Redis did not answer a read: look again after this, rather than end a session that may be fine. */
const RETRY_MS = 1000;
/** Reads in flight at once (a re-check of every watched session queues no more than this on the connection). */
const READ_CHUNK = 500;

/** A warning logged at most once a minute, with how many times it happened since its last line. */
export class RareWarning {
  private count = 0;
  private loggedAt = 0;

  constructor(
    private readonly logger: Logger,
    private readonly line: (count: number, detail: number) => string,
  ) {}

  note(detail = 0): void {
    this.count++;
    const now = Date.now();
    if (now - this.loggedAt < 60_000) return;
    this.loggedAt = now;
    this.logger.warn(this.line(this.count, detail));
    this.count = 0;
  }
}

export class WatchRegistry {
  private readonly logger = new Logger('SessionModule');
  private readonly sessions = new Map<string, Watched>();
  /** Sessions to read, and why they would have ended; read `READ_CHUNK` at a time, in order. */
  private readonly pending = new Map<string, SessionEndReason>();
  private draining = false;
  private readonly refusedLog = new RareWarning(
    this.logger,
    (count) =>
      `Refused ${count} live connection(s) (socket or stream) of a session that already had ` +
      `maxLiveConnectionsPerSession (${this.maxPerSession}) on this instance; the ones open go on.`,
  );

  constructor(
    private readonly read: ReadSession,
    /** Live connections per session; 0 for no limit. */
    private readonly maxPerSession: number,
    /** The last session stopped being watched. */
    private readonly onEmpty: () => void,
  ) {}

  /** How many sessions are watched. */
  get size(): number {
    return this.sessions.size;
  }

  /** Whether a new watch of the session would be refused (it has `maxPerSession` already). */
  isFull(id: string): boolean {
    return this.maxPerSession > 0 && (this.sessions.get(id)?.watches.size ?? 0) >= this.maxPerSession;
  }

  /**
   * Watches the session until it ends or expires (its TTL runs out about `expiresAt`). Returns
   * the function that stops watching, or null (nothing watched) when the session is full.
   */
  add(id: string, expiresAt: Date, onEnd: (reason: SessionEndReason) => void): (() => void) | null {
    if (this.isFull(id)) {
      this.refusedLog.note();
      return null;
    }
    let watched = this.sessions.get(id);
    if (!watched) this.sessions.set(id, (watched = { watches: new Set(), timer: undefined, dueAt: Infinity }));
    const watch: Watch = { onEnd };
    watched.watches.add(watch);
    const inMs = expiresAt.getTime() - Date.now();
    // One timer per session: the earliest expiry any of its watches knows of.
    if (Date.now() + Math.max(inMs, 0) + EXPIRY_GRACE_MS < watched.dueAt) this.schedule(id, watched, inMs);
    return () => this.remove(id, watch);
  }

  /** Ends these sessions' watches now, without a look (the ends this instance made itself). */
  end(ids: Iterable<string>, reason: SessionEndReason): void {
    let ended = false;
    for (const id of ids) {
      const watched = this.sessions.get(id);
      if (!watched) continue;
      this.sessions.delete(id);
      this.pending.delete(id);
      clearTimeout(watched.timer);
      ended = true;
      for (const watch of watched.watches) {
        try {
          watch.onEnd(reason);
        } catch (err) {
          this.logger.error(`A session watch threw: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
    if (ended && this.sessions.size === 0) this.onEmpty();
  }

  /**
   * Looks at each watched session of `ids` once (one read each, whatever its connections; ids
   * not watched cost nothing): gone ends its watches with `reason`, alive keeps them (and sets
   * its timer from its TTL). A session asked about while its read is in flight is read again after.
   */
  check(ids: Iterable<string>, reason: SessionEndReason): void {
    for (const id of ids) {
      if (!this.sessions.has(id)) continue;
      // 'ended' (a message said so) wins over 'expired' (a timer's look).
      if (this.pending.get(id) !== 'ended') this.pending.set(id, reason);
    }
    if (this.pending.size > 0) void this.drain();
  }

  /** `check` of every watched session. */
  checkAll(reason: SessionEndReason): void {
    this.check([...this.sessions.keys()], reason);
  }

  /** Drops every watch without calling it (shutdown). */
  clear(): void {
    for (const watched of this.sessions.values()) clearTimeout(watched.timer);
    this.sessions.clear();
    this.pending.clear();
  }

  private remove(id: string, watch: Watch): void {
    const watched = this.sessions.get(id);
    if (!watched?.watches.delete(watch) || watched.watches.size > 0) return;
    clearTimeout(watched.timer);
    this.sessions.delete(id);
    this.pending.delete(id);
    if (this.sessions.size === 0) this.onEmpty();
  }

  /** The session's one timer: when its TTL should have run out, it is looked at. */
  private schedule(id: string, watched: Watched, inMs: number): void {
    clearTimeout(watched.timer);
    const delay = Math.min(Math.max(inMs, 0) + EXPIRY_GRACE_MS, MAX_RECHECK_MS);
    watched.dueAt = Date.now() + delay;
    watched.timer = setTimeout(() => {
      watched.timer = undefined;
      watched.dueAt = Infinity;
      this.check([id], 'expired');
    }, delay);
    watched.timer.unref();
  }

  /** Reads the pending sessions a chunk at a time; one drain runs at once, so no session is read twice at once. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.pending.size > 0) {
        const chunk: Array<[string, SessionEndReason]> = [];
        for (const entry of this.pending) {
          chunk.push(entry);
          if (chunk.length === READ_CHUNK) break;
        }
        for (const [id] of chunk) this.pending.delete(id);
        await Promise.all(chunk.map(([id, reason]) => this.look(id, reason)));
      }
    } finally {
      this.draining = false;
    }
  }

  private async look(id: string, reason: SessionEndReason): Promise<void> {
    if (!this.sessions.has(id)) return;
    let entry: { pttlMs: number } | null;
    try {
      entry = await this.read(id);
    } catch {
      const watched = this.sessions.get(id);
      if (watched) this.schedule(id, watched, RETRY_MS - EXPIRY_GRACE_MS);
      return;
    }
    const watched = this.sessions.get(id);
    if (!watched) return;
    if (entry === null) this.end([id], reason);
    else this.schedule(id, watched, entry.pttlMs);
  }
}
