import { Inject, Injectable } from '@nestjs/common';
import { throttleIpKey, throttleUserKey } from '../core/keys.js';
import { SessionStore } from '../core/store.js';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';

/** What to do with a login attempt. */
interface ThrottleVerdict {
  /** Refuse with 429 and this `Retry-After` (seconds); null to go on. */
  retryAfterSeconds: number | null;
  /** Wait this long before checking the password (slows guessing down). */
  delayMs: number;
}

const GO: ThrottleVerdict = { retryAfterSeconds: null, delayMs: 0 };
const BASE_DELAY_MS = 250;

const refusal = (pttlMs: number): ThrottleVerdict => ({ retryAfterSeconds: Math.max(1, Math.ceil(pttlMs / 1000)), delayMs: 0 });

/**
 * Login throttling, shared by every app instance through Redis. Each attempt is counted
 * before the password is checked (one atomic step per counter), so parallel guesses
 * cannot slip past the limit; a successful login refunds its IP attempt and resets its
 * username's count.
 *
 * Keys: `<prefix>throttle:ip:<address>` (IPv4, or the /64 of an IPv6 address) and
 * `<prefix>throttle:user:<hash of the normalised username>` (usernames never reach Redis in
 * clear), both with the window as TTL. The IP is counted first: an IP over its limit is
 * refused before its username is counted, so a flood of new usernames from one address
 * creates no new keys.
 */
@Injectable()
export class SessionLoginThrottle {
  private readonly rules: ResolvedSessionOptions['loginThrottle'];
  private readonly keyPrefix: string;

  constructor(
    private readonly store: SessionStore,
    @Inject(RESOLVED_SESSION_OPTIONS) config: ResolvedSessionOptions,
  ) {
    this.rules = config.loginThrottle;
    this.keyPrefix = config.keyPrefix;
  }

  /**
   * Counts an attempt. When Redis fails (503) the counts sent may still land once it
   * recovers: they are taken back before the error is thrown (best effort, not awaited).
   */
  async attempt(username: string, ip: string | undefined): Promise<ThrottleVerdict> {
    const rules = this.rules;
    if (!rules) return GO;
    let sent: 'none' | 'ip' | 'both' = 'none';
    try {
      if (ip) {
        sent = 'ip';
        const address = await this.store.countAttempt(throttleIpKey(this.keyPrefix, ip), 1, rules.perIp.windowMs);
        if (address.count > rules.perIp.limit) return refusal(address.pttlMs);
      }
      sent = 'both';
      const user = await this.store.countAttempt(throttleUserKey(this.keyPrefix, username), 1, rules.perUsername.windowMs);
      if (user.count > rules.perUsername.limit) return refusal(user.pttlMs);
      const failedBefore = user.count - 1;
      if (failedBefore < rules.delayAfter) return GO;
      const delayMs = Math.min(rules.maxDelayMs, BASE_DELAY_MS * 2 ** (failedBefore - rules.delayAfter));
      return { retryAfterSeconds: null, delayMs };
    } catch (err) {
      void this.refundCounts(sent === 'both' ? username : undefined, ip);
      throw err;
    }
  }

  /**
   * Takes back an attempt that was not a wrong password (the app's lookup failed).
   * Best effort: during an outage it is sent along with the count and lands after it.
   */
  async refund(username: string, ip: string | undefined): Promise<void> {
    await this.refundCounts(username, ip);
  }

  async succeeded(username: string, ip: string | undefined): Promise<void> {
    const rules = this.rules;
    if (!rules) return;
    await Promise.all([
      this.store.resetCounter(throttleUserKey(this.keyPrefix, username)),
      ip ? this.store.countAttempt(throttleIpKey(this.keyPrefix, ip), -1, rules.perIp.windowMs) : null,
    ]);
  }

  private async refundCounts(username: string | undefined, ip: string | undefined): Promise<void> {
    const rules = this.rules;
    if (!rules) return;
    await Promise.all([
      username !== undefined
        ? this.store.countAttempt(throttleUserKey(this.keyPrefix, username), -1, rules.perUsername.windowMs)
        : null,
      ip ? this.store.countAttempt(throttleIpKey(this.keyPrefix, ip), -1, rules.perIp.windowMs) : null,
    ]).catch(() => undefined);
  }
}
