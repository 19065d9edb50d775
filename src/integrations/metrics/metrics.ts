import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { createRequire } from 'node:module';
import { SessionCounters, type CacheLookup, type GuardResult, type LoginResult } from '../../core/counters.js';
import { RESOLVED_SESSION_OPTIONS, type ResolvedSessionOptions } from '../../options/resolve.js';

/** The parts of prom-client the module uses (prom-client is an optional peer). */
interface PromCounter {
  inc(labels: Record<string, string>, value?: number): void;
  inc(value?: number): void;
}
interface PromHistogram {
  observe(labels: Record<string, string>, value: number): void;
}
interface PromGauge {
  set(value: number): void;
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
  Gauge: new (config: { name: string; help: string; registers: PromRegistry[]; collect: (this: PromGauge) => void }) => PromGauge;
}

/** What the session cache reports at scrape time (`SessionCounters.cacheState`). */
type CacheState = { ready: boolean; entries: number };
/** One app's cache state; undefined until its cache registers a reader. */
type CacheSource = () => CacheState | undefined;

// Several apps in one process may share a registry, and so a gauge, whose `collect` the first
// app gave it: each gauge reads every app that uses it, and an app leaves when it closes.
const gaugeSources = new WeakMap<object, Set<CacheSource>>();

function statesOf(gauge: object): CacheState[] {
  const states: CacheState[] = [];
  for (const source of gaugeSources.get(gauge) ?? []) {
    const state = source();
    if (state) states.push(state);
  }
  return states;
}

/**
 * Prometheus metrics through prom-client, the registry Nest apps already scrape (e.g.
 * with `@willsoto/nestjs-prometheus`, which uses the same default registry). Off unless
 * `metrics` is set; then every method is a few counter increments, and `measure` (the port's,
 * `SessionCounters`) times the guard and the logins with `performance.now()`.
 *
 * - `<prefix>guard_checks_total{result}` and `<prefix>guard_duration_seconds{result}`
 * - `<prefix>logins_total{result}` and `<prefix>login_duration_seconds{result}`
 * - `<prefix>revocations_total{reason}` (logout, revoke, revoke-all, max-sessions)
 * - `<prefix>redis_errors_total`
 * - `<prefix>binding_mismatches_total{field,mode}` (ip, userAgent; report, enforce)
 * - `<prefix>cache_lookups_total{result}` (hit, miss, bypass), `<prefix>cache_invalidations_total{kind}`
 *   (key, flush), and the gauges `<prefix>cache_ready` (1/0) and `<prefix>cache_entries`, read at scrape
 *   time from what the cache registered (`cacheState`): none registered, ready is 0 and entries 0
 */
@Injectable()
export class SessionMetrics extends SessionCounters implements OnModuleInit, OnModuleDestroy {
  override enabled = false;
  private guardChecks?: PromCounter;
  private guardSeconds?: PromHistogram;
  private logins?: PromCounter;
  private loginSeconds?: PromHistogram;
  private revocations?: PromCounter;
  private redisErrors?: PromCounter;
  private bindingMismatches?: PromCounter;
  private cacheLookups?: PromCounter;
  private cacheInvalidations?: PromCounter;
  private readonly cacheGauges: object[] = [];
  // Kept whether or not the metrics are on: the cache may register before this module's
  // onModuleInit runs (Nest orders the hooks of sibling providers by nothing we control).
  private readCache?: () => CacheState;
  private readonly cacheSource: CacheSource = () => this.readCache?.();

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
    this.cacheLookups = counter('cache_lookups_total', 'Guarded calls that looked at the session cache, by result', ['result']);
    this.cacheInvalidations = counter('cache_invalidations_total', 'Session cache entries dropped, by kind', ['kind']);
    const gauge = (name: string, help: string, value: (states: CacheState[]) => number) => {
      const metric =
        (registry.getSingleMetric(p + name) as PromGauge | undefined) ??
        new prom.Gauge({
          name: p + name,
          help,
          registers: [registry],
          collect() {
            this.set(value(statesOf(this)));
          },
        });
      if (!gaugeSources.has(metric)) gaugeSources.set(metric, new Set());
      gaugeSources.get(metric)?.add(this.cacheSource);
      this.cacheGauges.push(metric);
    };
    gauge('cache_ready', 'Whether the session cache answers (1): every node tracked and heard from in time', (states) =>
      states.length > 0 && states.every((state) => state.ready) ? 1 : 0,
    );
    gauge('cache_entries', 'Sessions held in the session cache', (states) =>
      states.reduce((sum, state) => sum + state.entries, 0),
    );
    this.enabled = true;
  }

  onModuleDestroy(): void {
    for (const gauge of this.cacheGauges) gaugeSources.get(gauge)?.delete(this.cacheSource);
    this.cacheGauges.length = 0;
  }

  override guard(result: GuardResult, startedAt: number): void {
    this.guardChecks?.inc({ result });
    this.guardSeconds?.observe({ result }, (performance.now() - startedAt) / 1000);
  }

  override login(result: LoginResult, startedAt: number): void {
    this.logins?.inc({ result });
    this.loginSeconds?.observe({ result }, (performance.now() - startedAt) / 1000);
  }

  override revoked(reason: string, count = 1): void {
    if (count > 0) this.revocations?.inc({ reason }, count);
  }

  override redisError(): void {
    this.redisErrors?.inc();
  }

  override bindingMismatch(field: 'ip' | 'userAgent', mode: 'report' | 'enforce'): void {
    this.bindingMismatches?.inc({ field, mode });
  }

  override cacheLookup(result: CacheLookup): void {
    this.cacheLookups?.inc({ result });
  }

  override cacheInvalidated(kind: 'key' | 'flush', count = 1): void {
    if (count > 0) this.cacheInvalidations?.inc({ kind }, count);
  }

  override cacheState(read: () => CacheState): void {
    this.readCache = read;
  }
}

function loadPromClient(): PromClient {
  try {
    return createRequire(import.meta.url)('prom-client') as PromClient;
  } catch {
    throw new Error('SessionModule: `metrics` needs prom-client: npm install prom-client (or remove `metrics`).');
  }
}
