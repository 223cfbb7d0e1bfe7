import { Counter, Gauge, type Registry } from 'prom-client';
import type { Datastore } from './datastore.js';
import { Ipam, type IpamReport } from './ipam/ipam.js';

/**
 * The datastore's collectors, read at each scrape from `datastore()` (the one in use, or none):
 * connected, the current outage's length, outages and their total length, watch lag, backlog and
 * resyncs. No I/O.
 */
export function registerDatastoreMetrics(registry: Registry, datastore: () => Datastore | null | undefined): void {
  const registers = [registry];
  const gauge = (name: string, help: string, value: (ds: Datastore) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const ds = datastore();
        this.set(ds ? value(ds) : 0);
      },
    });
  const counter = (name: string, help: string, value: (ds: Datastore) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        const ds = datastore();
        this.reset();
        this.inc(ds ? value(ds) : 0);
      },
    });
  gauge('tabby_datastore_connected', '1 while the datastore answers, else 0.', (ds) => (ds.health().connected ? 1 : 0));
  gauge('tabby_datastore_outage_seconds', 'How long the current outage has lasted (0 while connected).', (ds) => {
    const h = ds.health();
    return h.connected ? 0 : (Date.now() - h.since) / 1000;
  });
  counter('tabby_datastore_outages_total', 'Times the datastore became unreachable.', (ds) => ds.stats().outages);
  counter(
    'tabby_datastore_outage_seconds_total',
    'Time spent unreachable since start, the current outage included.',
    (ds) => ds.stats().outageMs / 1000,
  );
  gauge('tabby_datastore_watchers', 'Open datastore watchers.', (ds) => ds.stats().watchers);
  gauge(
    'tabby_datastore_watch_backlog_events',
    'Watch events queued and not yet handled by the daemon.',
    (ds) => ds.stats().watchBacklog,
  );
  gauge(
    'tabby_datastore_watch_lag_seconds',
    'How long the oldest unhandled watch event has waited (0 when caught up).',
    (ds) => ds.stats().watchLagMs / 1000,
  );
  counter(
    'tabby_datastore_watch_resyncs_total',
    'Watch resyncs (the datastore came back empty, older or compacted, or a watcher fell behind).',
    (ds) => ds.stats().watchResyncs,
  );
}

/** How long a scrape waits for IPAM's keys before it shows the previous report. */
const IPAM_READ_TIMEOUT_MS = 5000;

/**
 * IPAM's collectors, per pool (labels `pool`, `cidr`): blocks, addresses used, free and reserved,
 * and pool size. Read with `Ipam.show()` (a full list of the IPAM keys), at most once per
 * `cacheMs` (default 30 s) however often Prometheus scrapes; while the datastore is unreachable,
 * or when a read takes over 5 s, the previous values stay.
 */
export function registerIpamMetrics(
  registry: Registry,
  datastore: () => Datastore | null | undefined,
  cacheMs = 30_000,
): void {
  let cached: { at: number; ds: Datastore; report: Promise<IpamReport | null> } | undefined;
  const report = (): Promise<IpamReport | null> => {
    const ds = datastore();
    if (!ds) return Promise.resolve(null);
    const now = Date.now();
    // While the datastore is unreachable the last report stands: a scrape must not wait for it.
    const stale = !cached || cached.ds !== ds || now - cached.at >= cacheMs;
    if (stale && (ds.health().connected || cached?.ds !== ds)) {
      const previous = cached?.ds === ds ? cached.report : Promise.resolve(null);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<IpamReport | null>((r) => {
        timer = setTimeout(() => r(previous), IPAM_READ_TIMEOUT_MS);
      });
      const read = new Ipam(ds).show().catch(() => previous);
      cached = { at: now, ds, report: Promise.race([read, late]).finally(() => clearTimeout(timer)) };
    }
    return cached?.report ?? Promise.resolve(null);
  };
  const perPool = (name: string, help: string, value: (p: IpamReport['pools'][number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool', 'cidr'],
      registers: [registry],
      async collect() {
        const r = await report();
        this.reset();
        for (const p of r?.pools ?? []) this.set({ pool: p.name, cidr: p.cidr }, value(p));
      },
    });
  perPool('tabby_ipam_blocks', 'IPAM blocks carved from the pool.', (p) => p.blocks);
  perPool('tabby_ipam_addresses_used', 'Addresses assigned from the pool.', (p) => p.used);
  perPool('tabby_ipam_addresses_free', 'Addresses of the pool neither assigned nor reserved.', (p) => p.free);
  perPool('tabby_ipam_addresses_reserved', 'Addresses of the pool that IPReservations cover.', (p) => p.reserved);
  perPool('tabby_ipam_addresses', 'Addresses in the pool (its size).', (p) => p.size);
}
