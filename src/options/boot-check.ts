import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { SessionOptionsError } from './error.js';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from './resolve.js';

const DAY_MS = 86_400_000;

/**
 * Settings that work but weaken the defaults, each with what it costs. Errors (options
 * that cannot work) are `problems` and fail the boot instead.
 */
export function bootWarnings(config: ResolvedSessionOptions, nodeEnv = process.env.NODE_ENV): string[] {
  const warnings: string[] = [];
  const usesCookie = config.transport !== 'bearer';
  const development = nodeEnv === 'development' || nodeEnv === 'test';
  if (usesCookie) {
    if (!config.cookie.secure && !development) {
      warnings.push(
        `cookie.secure is off (NODE_ENV=${nodeEnv ?? 'unset'}): the session cookie will also travel over plain HTTP, where anyone on the path can read it.`,
      );
    }
    if (config.cookie.sameSite === 'none') {
      warnings.push(
        'cookie.sameSite is "none": browsers send the session cookie on cross-site requests; only the CSRF check stands between them and your routes.',
      );
    }
    if (config.csrf === null) {
      warnings.push(
        'csrf is off: a cross-site page can make state-changing requests with the session cookie (logout-all, revoke, your own POST routes), ' +
          'and open WebSockets and graphql-ws subscriptions with it (no origin check on handshakes and socket messages: cross-site WebSocket hijacking). ' +
          'To allow other origins, keep csrf on and list them in csrf.trustedOrigins.',
      );
    }
    if (config.cookie.domain) {
      warnings.push(
        `cookie.domain is "${config.cookie.domain}": every subdomain receives (and can overwrite) the session cookie; prefer a host-only cookie (cookie.hostPrefix: true).`,
      );
    }
    if (config.cookie.persistent) {
      warnings.push(
        'cookie.persistent is on: the session cookie survives browser restarts (OWASP advises browser-session cookies for session ids).',
      );
    }
  }
  if (config.loginThrottle === null) {
    warnings.push('loginThrottle is off: nothing slows down password guessing but your password hash.');
  }
  if (config.ttlMs > DAY_MS) {
    warnings.push(`ttl is ${config.ttlMs / 1000} s (over a day): an idle session stays usable that long.`);
  }
  if (config.absoluteTtlMs > 30 * DAY_MS) {
    warnings.push(
      `absoluteTtl is ${config.absoluteTtlMs / 1000} s (over 30 days): a stolen session stays usable that long even when active.`,
    );
  }
  return warnings;
}

/**
 * The boot check: options that cannot work fail `app.init()` with every problem listed
 * (`SessionOptionsError`); options that work but weaken the defaults are logged once, as
 * warnings, through Nest's Logger.
 */
@Injectable()
export class SessionBootCheck implements OnModuleInit {
  private readonly logger = new Logger('SessionModule');

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) private readonly config: ResolvedSessionOptions) {}

  onModuleInit(): void {
    if (this.config.problems.length > 0) throw new SessionOptionsError(this.config.problems);
    for (const warning of bootWarnings(this.config)) this.logger.warn(warning);
  }
}
