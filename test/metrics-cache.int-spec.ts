// The session cache's series (issue 20) as SessionMetrics registers them: two counters
// incremented by the cache, two gauges read at scrape time from what the cache registered.
import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { SessionMetrics } from '../src/integrations/metrics/metrics.js';
import { resolveSessionOptions } from '../src/options/resolve.js';

const redis = { url: 'redis://localhost:6379' };

function metricsOn(registry: Registry, prefix = 'test_session_'): SessionMetrics {
  const metrics = new SessionMetrics(resolveSessionOptions({ redis, metrics: { registry, prefix } }));
  metrics.onModuleInit();
  return metrics;
}

/** The sample lines of `text` (no HELP or TYPE) that belong to `prefix`'s cache series. */
const cacheLines = (text: string, prefix = 'test_session_') =>
  text
    .split('\n')
    .filter((line) => line.startsWith(`${prefix}cache_`))
    .sort();

describe('SessionMetrics: the session cache series', () => {
  it('counts lookups and invalidations by label; the gauges read the registered state at scrape time', async () => {
    const registry = new Registry();
    const metrics = metricsOn(registry);
    let state = { ready: false, entries: 0 };
    metrics.cacheState(() => state);
    metrics.cacheLookup('hit');
    metrics.cacheLookup('hit');
    metrics.cacheLookup('miss');
    metrics.cacheLookup('bypass');
    metrics.cacheInvalidated('key');
    metrics.cacheInvalidated('key', 3);
    metrics.cacheInvalidated('key', 0);
    metrics.cacheInvalidated('flush', 12);
    expect(cacheLines(await registry.metrics())).toEqual([
      'test_session_cache_entries 0',
      'test_session_cache_invalidations_total{kind="flush"} 12',
      'test_session_cache_invalidations_total{kind="key"} 4',
      'test_session_cache_lookups_total{result="bypass"} 1',
      'test_session_cache_lookups_total{result="hit"} 2',
      'test_session_cache_lookups_total{result="miss"} 1',
      'test_session_cache_ready 0',
    ]);
    state = { ready: true, entries: 42 };
    const text = await registry.metrics();
    expect(cacheLines(text)).toContain('test_session_cache_ready 1');
    expect(cacheLines(text)).toContain('test_session_cache_entries 42');
    expect(text).toContain('# TYPE test_session_cache_ready gauge');
    expect(text).toContain('# TYPE test_session_cache_lookups_total counter');
  });

  it('reads 0 for both gauges when no cache registered a reader', async () => {
    const registry = new Registry();
    metricsOn(registry);
    expect(cacheLines(await registry.metrics())).toEqual(['test_session_cache_entries 0', 'test_session_cache_ready 0']);
  });

  it('takes a reader registered before onModuleInit (sibling providers init in any order)', async () => {
    const registry = new Registry();
    const metrics = new SessionMetrics(resolveSessionOptions({ redis, metrics: { registry, prefix: 'early_' } }));
    metrics.cacheState(() => ({ ready: true, entries: 7 }));
    metrics.onModuleInit();
    expect(cacheLines(await registry.metrics(), 'early_')).toEqual(['early_cache_entries 7', 'early_cache_ready 1']);
  });

  it('two apps sharing a registry: entries add up, ready only when both are; a closed app is no longer read', async () => {
    const registry = new Registry();
    const one = metricsOn(registry);
    const two = metricsOn(registry);
    one.cacheState(() => ({ ready: true, entries: 5 }));
    two.cacheState(() => ({ ready: false, entries: 2 }));
    expect(cacheLines(await registry.metrics())).toEqual(['test_session_cache_entries 7', 'test_session_cache_ready 0']);
    two.onModuleDestroy();
    expect(cacheLines(await registry.metrics())).toEqual(['test_session_cache_entries 5', 'test_session_cache_ready 1']);
  });

  it('with metrics off, registers nothing and every method is a no-op', async () => {
    const { register } = await import('prom-client');
    const metrics = new SessionMetrics(resolveSessionOptions({ redis }));
    metrics.onModuleInit();
    metrics.cacheState(() => ({ ready: true, entries: 1 }));
    metrics.cacheLookup('hit');
    metrics.cacheInvalidated('flush', 2);
    metrics.onModuleDestroy();
    expect(metrics.enabled).toBe(false);
    expect(register.getSingleMetric('session_cache_lookups_total')).toBeUndefined();
    expect(register.getSingleMetric('session_cache_ready')).toBeUndefined();
  });
});
