import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ROUTE_CLASSES } from './constants.js';
import type { ApplyObserver, ApplyResult, RouteTable } from './route-table.js';

/** What the FIB collectors read at each scrape: the route table, and the dataplane's pending work. */
export interface FibMetricsSource {
  readonly routeTable: RouteTable;
  readonly pending: number;
}

/**
 * The FIB's collectors on a daemon's registry: routes programmed by class, desired, pending and
 * conflicting prefixes (read from `source()` at each scrape), and, as the `observer` of the route
 * table (`RouteTableOptions.observer`), apply latency, full resyncs, route writes and failures.
 */
export class FibMetrics implements ApplyObserver {
  private readonly duration: Histogram<'mode'>;
  private readonly resyncs: Counter;
  private readonly writes: Counter<'op'>;
  private readonly failures: Counter;

  constructor(registry: Registry, source: () => FibMetricsSource | null | undefined) {
    const registers = [registry];
    new Gauge({
      name: 'tabby_fib_routes_programmed',
      help: 'Routes Tabby programmed in the kernel table, by route class.',
      labelNames: ['class'],
      registers,
      collect() {
        const t = source()?.routeTable;
        const by = t?.programmedByClass();
        for (const c of ROUTE_CLASSES) this.set({ class: c }, by?.[c] ?? 0);
      },
    });
    const gauge = (name: string, help: string, value: (s: FibMetricsSource) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = source();
          this.set(s ? value(s) : 0);
        },
      });
    gauge(
      'tabby_fib_routes_desired',
      'Prefixes the FIB wants programmed (after conflict resolution).',
      (s) => s.routeTable.status().desired,
    );
    gauge(
      'tabby_fib_routes_pending',
      'Work the last apply could not finish (routes waiting for their interface, links not yet set up).',
      (s) => s.pending,
    );
    gauge(
      'tabby_fib_conflicts',
      'Prefixes held by kernel routes Tabby does not own, which it leaves alone.',
      (s) => s.routeTable.status().conflicts.length,
    );
    gauge('tabby_fib_in_sync', '1 once the FIB writes the kernel (datastore read), else 0.', (s) =>
      s.routeTable.status().inSync ? 1 : 0,
    );
    this.duration = new Histogram({
      name: 'tabby_fib_apply_duration_seconds',
      help: 'Time one apply took to make the kernel table match (mode full: with read-back and sweep).',
      labelNames: ['mode'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.resyncs = new Counter({
      name: 'tabby_fib_resyncs_total',
      help: 'Full resyncs: applies that read the kernel table back and swept it.',
      registers,
    });
    this.writes = new Counter({
      name: 'tabby_fib_route_writes_total',
      help: 'Route writes sent to the kernel, by operation (replace, delete).',
      labelNames: ['op'],
      registers,
    });
    this.failures = new Counter({
      name: 'tabby_fib_apply_failures_total',
      help: 'Applies that failed or had route operations refused (each is retried with a resync).',
      registers,
    });
    for (const op of ['replace', 'delete']) this.writes.inc({ op }, 0);
    this.failures.inc(0);
    this.resyncs.inc(0);
  }

  applied(result: ApplyResult, seconds: number): void {
    this.duration.observe({ mode: result.fullResync ? 'full' : 'incremental' }, seconds);
    if (result.fullResync) this.resyncs.inc();
    if (result.replaced) this.writes.inc({ op: 'replace' }, result.replaced);
    if (result.deleted) this.writes.inc({ op: 'delete' }, result.deleted);
    if (result.failed) this.failures.inc();
  }

  failed(fullResync: boolean, seconds: number): void {
    this.duration.observe({ mode: fullResync ? 'full' : 'incremental' }, seconds);
    this.failures.inc();
  }
}
