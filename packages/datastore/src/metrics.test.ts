import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemoryDatastore } from './backends/memory.js';
import { HealthTracker } from './health.js';
import { Ipam } from './ipam/ipam.js';
import { nullLogger } from './logger.js';
import { registerDatastoreMetrics, registerIpamMetrics } from './metrics.js';
import { ResourceStore } from './resources/store.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('datastore metrics', () => {
  it('connected, watchers, backlog, lag and resyncs from the datastore', async () => {
    const ds = new MemoryDatastore();
    const registry = new Registry();
    registerDatastoreMetrics(registry, () => ds);
    await ds.create('/calico/x/a', '1');
    await ds.create('/calico/x/b', '2');
    const w = ds.watch('/calico/x/'); // a snapshot of 2 events and in-sync, unread
    ds.compact();
    const resuming = ds.watch('/calico/x/', { fromRevision: 0 }); // history gone: a resync
    await new Promise((r) => setTimeout(r, 5));
    let text = await registry.metrics();
    expect(sample(text, 'tabby_datastore_connected')).toBe(1);
    expect(sample(text, 'tabby_datastore_outage_seconds')).toBe(0);
    expect(sample(text, 'tabby_datastore_watchers')).toBe(2);
    expect(sample(text, 'tabby_datastore_watch_backlog_events')).toBe(7);
    expect(sample(text, 'tabby_datastore_watch_lag_seconds')).toBeGreaterThan(0);
    expect(sample(text, 'tabby_datastore_watch_resyncs_total')).toBe(1);
    // Read everything: caught up, no lag.
    for (const watcher of [w, resuming]) {
      const it = watcher[Symbol.asyncIterator]();
      for (;;) if ((await it.next()).value?.type === 'in-sync') break;
    }
    text = await registry.metrics();
    expect(sample(text, 'tabby_datastore_watch_backlog_events')).toBe(0);
    expect(sample(text, 'tabby_datastore_watch_lag_seconds')).toBe(0);
    w.close();
    resuming.close();
    expect(sample(await registry.metrics(), 'tabby_datastore_watchers')).toBe(0);
    await ds.close();
    expect(sample(await registry.metrics(), 'tabby_datastore_connected')).toBe(0);
  });

  it('outages: how many and how long, the current one included', () => {
    let now = 1000;
    const h = new HealthTracker('test', nullLogger, true, () => now);
    expect(h.outageStats()).toEqual({ outages: 0, outageMs: 0 });
    now = 2000;
    h.down('connect ECONNREFUSED');
    now = 2500;
    h.down('connect ECONNREFUSED'); // the same outage
    expect(h.outageStats()).toEqual({ outages: 1, outageMs: 500 });
    now = 5000;
    h.up();
    now = 9000;
    expect(h.outageStats()).toEqual({ outages: 1, outageMs: 3000 });
    h.down('gone again');
    now = 9250;
    expect(h.outageStats()).toEqual({ outages: 2, outageMs: 3250 });
  });

  it('IPAM: blocks and addresses used, free and reserved per pool', async () => {
    const ds = new MemoryDatastore();
    const rs = new ResourceStore(ds);
    await rs.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'pods' },
      spec: { cidr: '198.19.0.0/24', blockSize: 26 },
    });
    await rs.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPReservation',
      metadata: { name: 'r' },
      spec: { reservedCIDRs: ['198.19.0.250/31'] },
    });
    const registry = new Registry();
    registerIpamMetrics(registry, () => ds, 0);
    const ipam = new Ipam(ds);
    for (const handle of ['a', 'b', 'c']) await ipam.assign({ node: 'n1', handle });
    const text = await registry.metrics();
    const at = (m: string) => sample(text, `${m}{pool="pods",cidr="198.19.0.0/24"}`);
    expect(at('tabby_ipam_blocks')).toBe(1);
    expect(at('tabby_ipam_addresses_used')).toBe(3);
    expect(at('tabby_ipam_addresses_reserved')).toBe(2);
    expect(at('tabby_ipam_addresses_free')).toBe(256 - 3 - 2);
    expect(at('tabby_ipam_addresses')).toBe(256);
    await ds.close();
  });

  it('IPAM: while the datastore is unreachable a scrape shows the last values without asking it', async () => {
    const mem = new MemoryDatastore();
    await new ResourceStore(mem).apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'pods' },
      spec: { cidr: '198.19.0.0/24', blockSize: 26 },
    });
    await new Ipam(mem).assign({ node: 'n1', handle: 'a' });
    let down = false;
    let lists = 0;
    // An unreachable datastore: health says so, and a list never answers.
    const ds = new Proxy(mem, {
      get(target, prop, receiver) {
        if (prop === 'health') return () => (down ? { connected: false, since: 0, lastError: 'x' } : target.health());
        if (prop === 'list')
          return (prefix: string) => {
            lists += 1;
            return down ? new Promise(() => {}) : target.list(prefix);
          };
        return Reflect.get(target, prop, receiver);
      },
    });
    const registry = new Registry();
    registerIpamMetrics(registry, () => ds, 0);
    const used = async () =>
      sample(await registry.metrics(), 'tabby_ipam_addresses_used{pool="pods",cidr="198.19.0.0/24"}');
    expect(await used()).toBe(1);
    down = true;
    const before = lists;
    expect(await used()).toBe(1);
    expect(lists).toBe(before);
    await mem.close();
  });
});
