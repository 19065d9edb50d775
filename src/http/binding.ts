import { isIPv4, isIPv6 } from 'node:net';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { SessionCounters } from '../core/counters.js';
import { SessionEvent, SessionEventSink, type SessionBindingMismatchEvent } from '../core/events.js';
import { SessionService } from '../core/service.js';
import { MAX_USER_AGENT_LENGTH } from '../core/stored-user.js';
import type { Session } from '../core/types.js';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import { SessionClientAddress } from './client-address.js';
import type { HttpRequestLike } from './request.js';

/** At most one log line per this many ms about mismatches nobody else hears of. */
const LOG_EVERY_MS = 60_000;

/**
 * `binding`: compares a request's IP network and user agent with those its session logged in
 * with, from what the guard already read (no Redis command). `report` emits
 * `session.binding-mismatch` and counts it; `enforce` also ends the session. With no event
 * listener and the metrics off, a mismatch is logged instead (at most one line a minute), so
 * `report` is never silent.
 */
@Injectable()
export class SessionBinding {
  /** False when both fields are off: the guard skips the check altogether. */
  readonly enabled: boolean;
  private readonly ip: ResolvedSessionOptions['binding']['ip'];
  private readonly userAgent: ResolvedSessionOptions['binding']['userAgent'];
  private readonly logger = new Logger('SessionModule');
  /** When the last line was logged (`performance.now()`), and the mismatches since left out. */
  private loggedAt = -Infinity;
  private unlogged = 0;

  constructor(
    private readonly sessions: SessionService,
    private readonly events: SessionEventSink,
    private readonly counters: SessionCounters,
    private readonly clientAddress: SessionClientAddress,
    @Inject(RESOLVED_SESSION_OPTIONS) config: ResolvedSessionOptions,
  ) {
    this.ip = config.binding.ip;
    this.userAgent = config.binding.userAgent;
    this.enabled = this.ip !== 'off' || this.userAgent !== 'off';
  }

  /**
   * True when the request may go on; false (a promise) when an enforced field differs and the
   * session is being ended (the caller answers 401). A field the login did not record (a
   * session created without a context) is not compared, nor an IP the request does not have
   * (no socket address). A missing `User-Agent` is a mismatch: a replayed cookie loses nothing
   * by dropping the header, while a browser always sends it. The common case, both fields as
   * at login, allocates nothing and returns `true` at once.
   */
  allows(session: Session, request: HttpRequestLike, token: string): true | Promise<boolean> {
    let enforced = false;
    const ip = this.ipDiffers(session, request);
    if (ip !== undefined) {
      this.report(session, 'ip', this.ip as 'report' | 'enforce', session.ip!, ip);
      enforced = this.ip === 'enforce';
    }
    const userAgent = this.userAgentDiffers(session, request);
    if (userAgent !== undefined) {
      this.report(session, 'userAgent', this.userAgent as 'report' | 'enforce', session.userAgent!, userAgent);
      enforced ||= this.userAgent === 'enforce';
    }
    if (!enforced) return true;
    return this.sessions.revokeToken(token, 'binding').then(() => false);
  }

  /**
   * Whether every compared field is as at login: nothing to report or enforce. What lets a
   * socket's later messages skip the check (their handshake, so the request's side, never changes).
   */
  matches(session: Session, request: HttpRequestLike): boolean {
    return this.ipDiffers(session, request) === undefined && this.userAgentDiffers(session, request) === undefined;
  }

  /** The request's IP when it is compared and in another network than the login's; undefined otherwise. */
  private ipDiffers(session: Session, request: HttpRequestLike): string | undefined {
    if (this.ip === 'off' || session.ip === null) return undefined;
    const ip = this.clientAddress.of(request);
    return ip !== undefined && ip !== session.ip && network(ip) !== network(session.ip) ? ip : undefined;
  }

  /** The request's user agent (null: none) when it is compared and differs from the login's; undefined otherwise. */
  private userAgentDiffers(session: Session, request: HttpRequestLike): string | null | undefined {
    if (this.userAgent === 'off' || session.userAgent === null) return undefined;
    const header = request.headers['user-agent'];
    // No header (null) differs from any user agent the login recorded.
    const userAgent = typeof header === 'string' ? header.slice(0, MAX_USER_AGENT_LENGTH) : null;
    return userAgent !== session.userAgent ? userAgent : undefined;
  }

  private report(
    session: Session,
    field: 'ip' | 'userAgent',
    mode: 'report' | 'enforce',
    expected: string,
    actual: string | null,
  ): void {
    this.counters.bindingMismatch(field, mode);
    this.events.emit(SessionEvent.BindingMismatch, {
      sessionId: session.id,
      userId: session.userId,
      field,
      mode,
      expected,
      actual,
    } satisfies SessionBindingMismatchEvent);
    if (!this.events.listening && !this.counters.enabled) this.log(session, field, mode);
  }

  /** The only trace of a mismatch without an event listener or metrics: a line a minute at most. */
  private log(session: Session, field: 'ip' | 'userAgent', mode: 'report' | 'enforce'): void {
    const now = performance.now();
    if (now - this.loggedAt < LOG_EVERY_MS) {
      this.unlogged++;
      return;
    }
    const others = this.unlogged > 0 ? ` ${this.unlogged} more since the last such line.` : '';
    this.loggedAt = now;
    this.unlogged = 0;
    this.logger.warn(
      `binding: the ${field === 'ip' ? 'IP network' : 'user agent'} of a request differs from its login's ` +
        `(session ${session.id}, ${mode === 'report' ? 'reported, the request went on' : 'enforced, the session was ended'}).` +
        `${others} Nothing receives session.binding-mismatch (no EventEmitterModule) and metrics are off, ` +
        `so this line (at most one a minute) is the only trace.`,
    );
  }
}

/**
 * The network an address belongs to, as compared: the /24 of an IPv4 address (an
 * IPv4-mapped IPv6 address counts as IPv4), the /64 of an IPv6 one, the string itself
 * otherwise.
 */
export function network(address: string): string {
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (!mapped.includes(':')) return isIPv4(mapped) ? mapped.slice(0, mapped.lastIndexOf('.')) : mapped;
  if (isIPv4(mapped)) return mapped.slice(0, mapped.lastIndexOf('.'));
  if (!isIPv6(address)) return address;
  const [head, tail] = address.split('%')[0].split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':');
}
