import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { NO_INTERFACE } from './constants.js';
import { MemoryDriver } from './memory-driver.js';
import { FibMetrics } from './metrics.js';
import { RouteTable } from './route-table.js';

/** `name{labels} value` of one sample in Prometheus text (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('FibMetrics', () => {
  it('counts programmed routes by class, conflicts, resyncs and apply latency', async () => {
    const registry = new Registry();
    const driver = new MemoryDriver(['eth0', 'cali0000000000a']);
    // A prefix held by someone else's route (protocol static): a conflict the table leaves alone.
    driver.externalAdd({ dst: '198.19.9.0/26', type: 'unicast', protocol: 4, scope: 'link', dev: 'eth0' });
    let table: RouteTable | undefined;
    const metrics = new FibMetrics(registry, () => (table ? { routeTable: table, pending: 0 } : null));
    expect(sample(await registry.metrics(), 'tabby_fib_routes_programmed{class="bgp"}')).toBe(0);
    table = new RouteTable({ driver, observer: metrics, watch: false, gracefulRestartMs: 0 });
    table.setRoutes('bgp', 'eth0', [
      { dst: '198.19.1.0/26', via: '198.18.0.2' },
      { dst: '198.19.2.0/26', via: '198.18.0.3' },
      { dst: '198.19.9.0/26', via: '198.18.0.3' },
    ]);
    table.setRoutes('blackhole', NO_INTERFACE, [{ dst: '198.19.0.0/26', type: 'blackhole' }]);
    table.setRoutes('local-workload', 'cali0000000000a', [{ dst: '198.19.0.5/32' }]);
    table.markInSync();
    await table.apply();
    await table.apply(); // nothing changed: an incremental apply
    const text = await registry.metrics();
    expect(sample(text, 'tabby_fib_routes_programmed{class="bgp"}')).toBe(2);
    expect(sample(text, 'tabby_fib_routes_programmed{class="blackhole"}')).toBe(1);
    expect(sample(text, 'tabby_fib_routes_programmed{class="local-workload"}')).toBe(1);
    expect(sample(text, 'tabby_fib_routes_desired')).toBe(5);
    expect(sample(text, 'tabby_fib_conflicts')).toBe(1);
    expect(sample(text, 'tabby_fib_resyncs_total')).toBe(1);
    expect(sample(text, 'tabby_fib_route_writes_total{op="replace"}')).toBe(4);
    expect(sample(text, 'tabby_fib_apply_duration_seconds_count{mode="full"}')).toBe(1);
    expect(sample(text, 'tabby_fib_apply_duration_seconds_count{mode="incremental"}')).toBe(1);
    expect(sample(text, 'tabby_fib_apply_failures_total')).toBe(0);
    await table.close();
  });
});
