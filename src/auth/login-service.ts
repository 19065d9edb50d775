import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  NotImplementedException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import type { SessionCredentials } from '../options/types.js';
import { SessionCounters, type LoginResult, type Measured } from '../core/counters.js';
import type { SessionUser } from '../core/types.js';
import { requestContext, setResponseHeader, type HttpRequestLike } from '../http/request.js';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../options/resolve.js';
import { SessionLoginThrottle } from './login-throttle.js';
import { SessionIssuer } from './session-issuer.js';
import type { LoginResponse } from './types.js';

const INVALID_CREDENTIALS = 'Invalid username or password';

/** A login attempt: `success` when it returns, the label of its error otherwise. */
const LOGIN_ATTEMPT: Measured = { series: 'login', success: 'success', failure: loginResult };

/**
 * A password login, in order: throttle (counted before the password is checked),
 * `validateCredentials`, then `SessionIssuer.issue` (fixation, a new session, the cookies).
 * Metrics time every attempt. `AuthController` is its HTTP face.
 */
@Injectable()
export class LoginService {
  constructor(
    private readonly issuer: SessionIssuer,
    private readonly throttle: SessionLoginThrottle,
    private readonly counters: SessionCounters,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly config: ResolvedSessionOptions,
  ) {}

  /**
   * Logs in with credentials already checked for shape (LoginDto). 401 for bad credentials
   * (the same for an unknown user and a wrong password), 429 with `Retry-After` past the
   * throttle, 501 without `validateCredentials`, 503 when Redis cannot answer.
   */
  login(
    credentials: SessionCredentials & { rememberMe?: boolean },
    request: HttpRequestLike,
    response: unknown,
  ): Promise<LoginResponse> {
    return this.counters.measure(LOGIN_ATTEMPT, () => this.authenticate(credentials, request, response));
  }

  private async authenticate(
    body: SessionCredentials & { rememberMe?: boolean },
    request: HttpRequestLike,
    response: unknown,
  ): Promise<LoginResponse> {
    const validate = this.config.validateCredentials;
    if (!validate) {
      throw new NotImplementedException('Login is not configured: set validateCredentials in SessionModule options');
    }
    const context = requestContext(request);
    const verdict = await this.throttle.attempt(body.username, context.ip);
    if (verdict.retryAfterSeconds !== null) {
      setResponseHeader(response, 'Retry-After', String(verdict.retryAfterSeconds));
      throw new HttpException('Too many failed logins, try again later', HttpStatus.TOO_MANY_REQUESTS);
    }
    if (verdict.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, verdict.delayMs));
    let user: SessionUser | null;
    try {
      user = await validate({ username: body.username, password: body.password }, context);
    } catch (err) {
      // A 4xx is the app's "no" (Nest apps throw UnauthorizedException for a wrong password):
      // it counts. Anything else (the user database is down, a bug) is not a guess: refunded.
      // Not awaited, so the error is not delayed by a Redis timeout; the refund is sent anyway.
      if (!isClientError(err)) void this.throttle.refund(body.username, context.ip);
      throw err;
    }
    if (!user) throw new UnauthorizedException(INVALID_CREDENTIALS);
    await this.throttle.succeeded(body.username, context.ip);
    const remember = body.rememberMe === true ? this.config.rememberMe : null;
    return this.issuer.issue(
      request,
      response,
      user,
      remember ? { ttl: remember.ttlMs / 1000, absoluteTtl: remember.absoluteTtlMs / 1000, persistentCookie: true } : undefined,
    );
  }
}

/** The metric label of a login that failed after its body was accepted. */
function loginResult(err: unknown): LoginResult {
  if (err instanceof ServiceUnavailableException) return 'unavailable';
  if (!(err instanceof HttpException)) return 'error';
  if (err.getStatus() === HttpStatus.TOO_MANY_REQUESTS) return 'throttled';
  // 401, or another 4xx the app's validateCredentials threw (e.g. 403 for a locked account).
  return isClientError(err) ? 'failure' : 'error';
}

function isClientError(err: unknown): err is HttpException {
  if (!(err instanceof HttpException)) return false;
  const status = err.getStatus();
  return status >= 400 && status < 500;
}
