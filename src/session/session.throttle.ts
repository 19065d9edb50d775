import { Inject, Injectable } from '@nestjs/common';
import { hash } from 'node:crypto';
import { SESSION_CONFIG } from './session.constants.js';
import type { ResolvedSessionOptions } from './session-options.js';
import { SessionStore } from './session.store.js';

/** What to do with a login attempt. */
export interface ThrottleVerdict {
  /** Refuse with 429 and this `Retry-After` (seconds); null to go on. */
  retryAfterSeconds: number | null;
  /** Wait this long before checking the password (slows guessing down). */
  delayMs: number;
}

const GO: ThrottleVerdict = { retryAfterSeconds: null, delayMs: 0 };
const BASE_DELAY_MS = 250;

/**
 * Login throttling, shared by every app instance through Redis. Each attempt is counted
 * before the password is checked (one atomic step per counter), so parallel guesses
 * cannot slip past the limit; a successful login refunds its IP attempt and resets its
 * username's count.
 *
 * Keys: `<prefix>throttle:user:<hash of the lower-cased username>` (usernames never reach
 * Redis in clear) and `<prefix>throttle:ip:<ip>`, both with the window as TTL.
 */
@Injectable()
export class SessionLoginThrottle {
  private readonly rules: ResolvedSessionOptions['loginThrottle'];

  constructor(
    private readonly store: SessionStore,
    @Inject(SESSION_CONFIG) config: ResolvedSessionOptions,
  ) {
    this.rules = config.loginThrottle;
  }

  async attempt(username: string, ip: string | undefined): Promise<ThrottleVerdict> {
    const rules = this.rules;
    if (!rules) return GO;
    const [user, address] = await Promise.all([
      this.store.countAttempt(userKey(username), 1, rules.perUsername.windowMs),
      ip ? this.store.countAttempt(ipKey(ip), 1, rules.perIp.windowMs) : null,
    ]);
    let retryAfterMs = 0;
    if (user.count > rules.perUsername.limit) retryAfterMs = user.pttlMs;
    if (address && address.count > rules.perIp.limit) retryAfterMs = Math.max(retryAfterMs, address.pttlMs);
    if (retryAfterMs > 0) return { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)), delayMs: 0 };
    const failedBefore = user.count - 1;
    if (failedBefore < rules.delayAfter) return GO;
    const delayMs = Math.min(rules.maxDelayMs, BASE_DELAY_MS * 2 ** (failedBefore - rules.delayAfter));
    return { retryAfterSeconds: null, delayMs };
  }

  /**
   * Takes back an attempt that was not a wrong password (Redis or the app's lookup failed).
   * Best effort: during an outage it is sent along with the count and lands after it.
   */
  async refund(username: string, ip: string | undefined): Promise<void> {
    const rules = this.rules;
    if (!rules) return;
    await Promise.all([
      this.store.countAttempt(userKey(username), -1, rules.perUsername.windowMs),
      ip ? this.store.countAttempt(ipKey(ip), -1, rules.perIp.windowMs) : null,
    ]).catch(() => undefined);
  }

  async succeeded(username: string, ip: string | undefined): Promise<void> {
    const rules = this.rules;
    if (!rules) return;
    await Promise.all([
      this.store.resetCounter(userKey(username)),
      ip ? this.store.countAttempt(ipKey(ip), -1, rules.perIp.windowMs) : null,
    ]);
  }
}

function userKey(username: string): string {
  return `throttle:user:${hash('sha256', username.normalize('NFKC').toLowerCase(), 'base64url').slice(0, 22)}`;
}

function ipKey(ip: string): string {
  return `throttle:ip:${ip.slice(0, 64)}`;
}
