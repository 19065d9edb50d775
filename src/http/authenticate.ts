import { HttpException, Injectable } from '@nestjs/common';
import { SessionCache } from '../core/cache/session-cache.js';
import { SessionRefusalCode as Code } from '../core/refusal-codes.js';
import { SessionService } from '../core/service.js';
import type { Session } from '../core/types.js';
import { SessionBinding } from './binding.js';
import { SessionCsrf } from './csrf.js';
import { refusal, type Refusal } from './refusals.js';
import { HANDSHAKE_MEMO, type AcceptedHandshake, type SocketRequest } from './contexts/socket-request.js';
import type { HttpRequestLike } from './request.js';
import type { TokenLookup } from './transport.js';

/** How a call is authenticated, beyond its request and token. */
export interface AuthenticateMode {
  /** Check a cookie-carried call's origin whatever its method (WebSockets: see `ContextAdapter.alwaysChecksOrigin`). */
  alwaysChecksOrigin: boolean;
  /** Slide the idle timeout (`touch`, one `GETEX`); false for `@NoSlide()` routes (`get`). */
  slide: boolean;
  /** Which switch of the session cache covers the call (`ContextAdapter.cacheKind`). */
  cacheKind: 'http' | 'sockets';
}

/** The mode of a call of that kind: one of eight built once, so a call allocates none. */
export function authenticateMode(
  cacheKind: AuthenticateMode['cacheKind'],
  alwaysChecksOrigin: boolean,
  slide: boolean,
): AuthenticateMode {
  return MODES[cacheKind][alwaysChecksOrigin ? 1 : 0][slide ? 1 : 0];
}

const MODES = { http: modesOf('http'), sockets: modesOf('sockets') };

function modesOf(cacheKind: AuthenticateMode['cacheKind']): AuthenticateMode[][] {
  return [false, true].map((alwaysChecksOrigin) =>
    [false, true].map((slide) => Object.freeze({ alwaysChecksOrigin, slide, cacheKind })),
  );
}

/** What `authenticate` answers: a session or a refusal, at once on a cache hit, else once Redis answered. */
export type Authentication = Session | Refusal | Promise<Session | Refusal>;

/** Whether `authenticate` refused: its answer is either a session or a refusal. */
export function isRefusal(result: Session | Refusal): result is Refusal {
  return result instanceof HttpException;
}

/**
 * The one path from a request to its session, for the guard (every context) and for socket
 * handshakes (`SessionSockets.authenticate`) alike: token → CSRF/origin → Redis → binding.
 * Whatever a context is, it is refused or accepted by the same steps in the same order.
 */
@Injectable()
export class SessionAuthenticator {
  constructor(
    private readonly sessions: SessionService,
    private readonly csrf: SessionCsrf,
    private readonly binding: SessionBinding,
    private readonly cache: SessionCache,
  ) {}

  /**
   * The session `lookup` names, validated (and slid, per `mode`), or the refusal to answer
   * with. A forged or cross-site call is refused before Redis is asked; a valid one costs one
   * Redis command, or none on a hit of the session cache where it covers the call, and binding
   * compares what was read (no command more unless an enforced field differs, which ends the
   * session). Synchronous on a cache hit, a promise otherwise; rejects (or throws) with
   * `SessionStoreUnavailableException` (503) when Redis cannot answer.
   */
  authenticate(request: HttpRequestLike, lookup: TokenLookup, mode: AuthenticateMode): Authentication {
    const memo = (request as SocketRequest)[HANDSHAKE_MEMO];
    const accepted = memo?.accepted;
    // A socket's next message, as its last one: nothing to check but that the cached session still holds.
    if (accepted !== undefined && this.coveredBy(accepted, lookup, mode)) {
      const again = this.cache.again(accepted.slot, mode.slide);
      if (again !== undefined) return again;
    }
    if (lookup.token === null) return refusal(lookup.ambiguous ? Code.Ambiguous : Code.Missing);
    const token = lookup.token;
    if (lookup.fromCookie) {
      const csrf = this.csrf.refusal(request, token);
      if (csrf) return csrf;
      if (mode.alwaysChecksOrigin && !this.csrf.allowsOrigin(request)) return refusal(Code.CrossSite);
    }
    const cached = this.cache[mode.cacheKind] ? this.cache.lookup(token, mode.slide, memo) : undefined;
    // A cache hit answers synchronously, and so does everything after it on the common path:
    // Nest's guard runner then takes the boolean without a promise or a microtask of its own.
    if (cached === undefined || cached instanceof Promise) {
      const read = cached ?? (mode.slide ? this.sessions.touch(token) : this.sessions.get(token));
      return read.then((session) => this.bound(session, request, token));
    }
    if (memo !== undefined && cached !== null && (!this.binding.enabled || this.binding.matches(cached, request))) {
      // The hit left its slot in the memo; nothing was found against the handshake.
      memo.accepted = { by: this, lookup, cacheKind: mode.cacheKind, checkedOrigin: mode.alwaysChecksOrigin, slot: memo.slot! };
      return cached;
    }
    return this.bound(cached, request, token);
  }

  /** Whether an earlier acceptance of this handshake ran every check this call asks for. */
  private coveredBy(accepted: AcceptedHandshake, lookup: TokenLookup, mode: AuthenticateMode): boolean {
    return (
      accepted.by === this &&
      accepted.lookup === lookup &&
      accepted.cacheKind === mode.cacheKind &&
      (accepted.checkedOrigin || !mode.alwaysChecksOrigin)
    );
  }

  /** Binding compares what was read; the common case, both fields as at login, answers at once with no allocation. */
  private bound(session: Session | null, request: HttpRequestLike, token: string): Authentication {
    if (!session) return refusal(Code.Invalid);
    if (!this.binding.enabled) return session;
    const allowed = this.binding.allows(session, request, token);
    if (allowed === true) return session;
    return allowed.then((ok) => (ok ? session : refusal(Code.BindingMismatch)));
  }
}
