import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { createRequire } from 'node:module';
import { SessionCounters } from '../../core/counters.js';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../../options/resolve.js';

/** The parts of prom-client the module uses (prom-client is an optional peer). */
interface PromCounter {
  inc(labels: Record<string, string>, value?: number): void;
  inc(value?: number): void;
}
interface PromHistogram {
  observe(labels: Record<string, string>, value: number): void;
}
interface PromRegistry {
  getSingleMetric(name: string): unknown;
}
interface PromClient {
  register: PromRegistry;
  Counter: new (config: { name: string; help: string; labelNames?: string[]; registers: PromRegistry[] }) => PromCounter;
  Histogram: new (config: {
    name: string;
    help: string;
    labelNames?: string[];
    buckets: number[];
    registers: PromRegistry[];
  }) => PromHistogram;
}

export type GuardResult = 'ok' | 'unauthorized' | 'forbidden' | 'unavailable';
/**
 * `invalid`: the body was refused (400, 415) before any credential was checked;
 * `failure`: wrong credentials (`validateCredentials` returned null or threw a 4xx).
 */
export type LoginResult = 'success' | 'failure' | 'invalid' | 'throttled' | 'unavailable' | 'error';

/**
 * Prometheus metrics through prom-client, the registry Nest apps already scrape (e.g.
 * with `@willsoto/nestjs-prometheus`, which uses the same default registry). Off unless
 * `metrics` is set; then every method is a few counter increments, and the guard times
 * itself with `performance.now()`.
 *
 * - `<prefix>guard_checks_total{result}` and `<prefix>guard_duration_seconds{result}`
 * - `<prefix>logins_total{result}` and `<prefix>login_duration_seconds{result}`
 * - `<prefix>revocations_total{reason}` (logout, revoke, revoke-all, max-sessions)
 * - `<prefix>redis_errors_total`
 * - `<prefix>binding_mismatches_total{field,mode}` (ip, userAgent; report, enforce)
 */
@Injectable()
export class SessionMetrics extends SessionCounters implements OnModuleInit {
  enabled = false;
  private guardChecks?: PromCounter;
  private guardSeconds?: PromHistogram;
  private logins?: PromCounter;
  private loginSeconds?: PromHistogram;
  private revocations?: PromCounter;
  private redisErrors?: PromCounter;
  private bindingMismatches?: PromCounter;

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) private readonly config: ResolvedSessionOptions) {
    super();
  }

  onModuleInit(): void {
    const settings = this.config.metrics;
    if (!settings || this.config.problems.length > 0) return;
    const prom = loadPromClient();
    const registry = (settings.registry as PromRegistry | undefined) ?? prom.register;
    const p = settings.prefix;
    // Reuse a metric already registered under the name (several apps in one process share a registry).
    const counter = (name: string, help: string, labelNames: string[] = []) =>
      (registry.getSingleMetric(p + name) as PromCounter | undefined) ??
      new prom.Counter({ name: p + name, help, labelNames, registers: [registry] });
    const histogram = (name: string, help: string, buckets: number[]) =>
      (registry.getSingleMetric(p + name) as PromHistogram | undefined) ??
      new prom.Histogram({ name: p + name, help, labelNames: ['result'], buckets, registers: [registry] });
    this.guardChecks = counter('guard_checks_total', 'Session guard checks by result', ['result']);
    this.guardSeconds = histogram(
      'guard_duration_seconds',
      'Time SessionGuard took (Redis round-trip included)',
      [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    );
    this.logins = counter('logins_total', 'Login attempts by result', ['result']);
    this.loginSeconds = histogram(
      'login_duration_seconds',
      'Time POST /auth/login took (password hash included)',
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    );
    this.revocations = counter('revocations_total', 'Sessions ended before their time, by reason', ['reason']);
    this.redisErrors = counter('redis_errors_total', 'Redis commands that failed or timed out (answered 503)');
    this.bindingMismatches = counter(
      'binding_mismatches_total',
      "Requests whose IP or user agent differed from their session's login",
      ['field', 'mode'],
    );
    this.enabled = true;
  }

  guard(result: GuardResult, startedAt: number): void {
    this.guardChecks?.inc({ result });
    this.guardSeconds?.observe({ result }, (performance.now() - startedAt) / 1000);
  }

  login(result: LoginResult, startedAt: number): void {
    this.logins?.inc({ result });
    this.loginSeconds?.observe({ result }, (performance.now() - startedAt) / 1000);
  }

  revoked(reason: string, count = 1): void {
    if (count > 0) this.revocations?.inc({ reason }, count);
  }

  redisError(): void {
    this.redisErrors?.inc();
  }

  bindingMismatch(field: 'ip' | 'userAgent', mode: 'report' | 'enforce'): void {
    this.bindingMismatches?.inc({ field, mode });
  }
}

function loadPromClient(): PromClient {
  try {
    return createRequire(import.meta.url)('prom-client') as PromClient;
  } catch {
    throw new Error('SessionModule: `metrics` needs prom-client: npm install prom-client (or remove `metrics`).');
  }
}
