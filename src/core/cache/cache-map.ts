/**
 * The session cache's memory: sessions by id, least recently used dropped first, and the one
 * rule that keeps it from ever holding a revoked session past an invalidation: a value read
 * from Redis is kept only if no invalidation of its id (and no flush) arrived between the
 * moment the read was sent and the moment it is kept. The read and the invalidation travel on
 * two connections with no order between them; without this, a read sent before a logout whose
 * reply arrives after the logout's invalidation would put the ended session back, for good.
 * Sends no Redis command.
 */
import type { StoredSession } from '../codec.js';

/** A cached session and what the guard checks on a hit (times on the monotonic clock, `performance.now()`). */
export interface CachedSession {
  readonly stored: StoredSession;
  /**
   * Before this, Redis surely still holds the key: the read was SENT at `t` and Redis then
   * reported `pttl`, so it expires no earlier than `t + pttl` (it answered at or after `t`).
   * Monotonic, so a wall clock set back never stretches it.
   */
  readonly idleUntil: number;
  /** From this on, a sliding call slides it in Redis (at most one slide per interval). */
  readonly slideAt: number;
  /**
   * `stored.data` as JSON, taken when the entry was kept: each hit hands out a copy parsed from
   * it, never `stored.data` itself. Undefined for a session without data.
   */
  readonly dataJson?: string;
}

/** A read in flight: where it started, to tell whether what it brings back may be kept. */
export interface FillTicket {
  readonly id: string;
  readonly epoch: number;
  /** Monotonic time the read was sent. */
  readonly sentAt: number;
}

interface InFlight {
  /** Reads of this id in flight. */
  count: number;
  /** An invalidation of the id arrived while they were. */
  invalidated: boolean;
}

/**
 * An entry where the map holds it. A caller may keep the slot (a socket's handshake memo) and
 * answer from it again without a lookup, for as long as `live` says the map still holds it:
 * every way an entry leaves the map (forget, clear, LRU eviction, a newer read of its id)
 * sets it false, and it never turns true again.
 */
export interface CacheSlot {
  readonly id: string;
  readonly entry: CachedSession;
  readonly live: boolean;
}

/** A slot and when it was last put at the back (`CacheMap#clock`). */
interface Slot extends CacheSlot {
  live: boolean;
  at: number;
}

export class CacheMap {
  // A Map keeps insertion order, so its first key is the one to drop. Moving an entry to the back
  // costs a delete and a set (most of a hit's time, measured), so a hit moves it only once it
  // has drifted a quarter of the way to the front: an entry used at least once per 3/4 `max`
  // insertions is never dropped, and a steady hit costs one Map lookup.
  private readonly entries = new Map<string, Slot>();
  /** Counts insertions and moves to the back. */
  private clock = 0;
  private readonly inFlight = new Map<string, InFlight>();
  /** Bumped by every flush: reads sent before it bring back nothing that is kept. */
  private epoch = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The slot of `id`, marked as just used; undefined when none. */
  find(id: string): CacheSlot | undefined {
    const slot = this.entries.get(id);
    if (slot !== undefined) this.used(slot);
    return slot;
  }

  /** A live slot kept by a caller was answered from: it counts as used, as a lookup would. */
  used(kept: CacheSlot): void {
    const slot = kept as Slot;
    // A dead slot must never be put back: the map no longer holds (or holds a newer) entry for it.
    if (slot.live && this.clock - slot.at > this.max >> 2) {
      this.entries.delete(slot.id);
      slot.at = ++this.clock;
      this.entries.set(slot.id, slot);
    }
  }

  /** A read of `id` is about to be sent: call `settle` with its ticket once it answered (or failed). */
  begin(id: string, sentAt: number): FillTicket {
    const flight = this.inFlight.get(id);
    if (flight) flight.count++;
    else this.inFlight.set(id, { count: 1, invalidated: false });
    return { id, epoch: this.epoch, sentAt };
  }

  /**
   * The read answered (`entry`) or failed (undefined). The entry is kept only if nothing that
   * could have changed the session was heard meanwhile; returns whether it was.
   */
  settle(ticket: FillTicket, entry: CachedSession | undefined): boolean {
    const flight = this.inFlight.get(ticket.id);
    const invalidated = flight === undefined || flight.invalidated || ticket.epoch !== this.epoch;
    if (flight && --flight.count === 0) this.inFlight.delete(ticket.id);
    if (entry === undefined || invalidated) return false;
    this.remove(ticket.id);
    this.entries.set(ticket.id, { id: ticket.id, entry, live: true, at: ++this.clock });
    if (this.entries.size > this.max) this.remove(this.entries.keys().next().value as string);
    return true;
  }

  /** The session changed or ended: its entry goes, and reads of it in flight keep nothing. True if an entry went. */
  forget(id: string): boolean {
    const flight = this.inFlight.get(id);
    if (flight) flight.invalidated = true;
    return this.remove(id);
  }

  /** Anything may have changed: every entry goes, and every read in flight keeps nothing. Returns how many went. */
  clear(): number {
    const count = this.entries.size;
    this.epoch++;
    for (const slot of this.entries.values()) slot.live = false;
    this.entries.clear();
    // Their tickets carry the old epoch; the records only count them down.
    for (const flight of this.inFlight.values()) flight.invalidated = true;
    return count;
  }

  /** The one way a single entry leaves the map: its slot dies with it. */
  private remove(id: string): boolean {
    const slot = this.entries.get(id);
    if (slot === undefined) return false;
    slot.live = false;
    return this.entries.delete(id);
  }
}
