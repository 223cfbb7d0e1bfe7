import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { NO_INTERFACE, RouteClass } from '../constants.js';
import { routeSignature } from '../kernel-route.js';
import type { RouteDriver } from '../route-driver.js';
import { RouteTable, type RouteTableOptions } from '../route-table.js';
import type { KernelRoute } from '../types.js';

/**
 * A driver under test plus the "outside world" around it. The table it drives must start with
 * the interfaces named in `links` and no route of protocol 80 or 186.
 */
export interface RouteTableHarness {
  /** Makes a new driver onto the same table (a restarted process makes a new one). */
  driver(): RouteDriver;
  links: {
    /** A non-workload interface with 198.18.0.1/24 (or no address, for memory). */
    uplink: string;
    /** Two workload interfaces, named with the owned prefix `cali`. */
    workloadA: string;
    workloadB: string;
  };
  /** Every route of the table now. */
  list(): Promise<KernelRoute[]>;
  externalAdd(route: KernelRoute): Promise<void>;
  externalDelete(dst: string): Promise<void>;
  addLink(name: string): Promise<void>;
  deleteLink(name: string): Promise<void>;
  /** Deletes every non-kernel route (between tests). */
  reset(): Promise<void>;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const P = { felix: 80, bgp: 186 } as const;

function sigs(routes: KernelRoute[], protocols: readonly number[] = [P.felix, P.bgp]): string[] {
  return routes
    .filter((r) => protocols.includes(r.protocol))
    .map(routeSignature)
    .sort();
}

/**
 * The behaviour every `RouteDriver` must give a `RouteTable`: run it once per driver
 * (`routeTableComplianceTests('memory', setup)`), libp2p style.
 */
export function routeTableComplianceTests(name: string, setup: () => Promise<RouteTableHarness>): void {
  describe(`RouteTable compliance: ${name}`, () => {
    let h: RouteTableHarness;
    const tables: RouteTable[] = [];
    let clock: ManualClock;

    const make = (extra: Partial<RouteTableOptions> = {}): RouteTable => {
      const t = new RouteTable({ driver: h.driver(), clock, gracefulRestartMs: 0, watch: false, ...extra });
      tables.push(t);
      return t;
    };

    beforeEach(async () => {
      h ??= await setup();
      clock = new ManualClock(1_000_000);
    });

    afterEach(async () => {
      for (const t of tables.splice(0)) await t.close();
      await h.reset();
    });

    it('writes nothing before the datastore is in sync', async () => {
      const t = make();
      t.setRoutes(RouteClass.Blackhole, NO_INTERFACE, [{ dst: '198.19.0.0/26', type: 'blackhole' }]);
      const r = await t.apply();
      expect(r.ran).toBe(false);
      expect(sigs(await h.list())).toEqual([]);
      t.markInSync();
      expect((await t.apply()).replaced).toBe(1);
      expect(sigs(await h.list())).toEqual(sigs(t.resolved()));
    });

    it('programs every route shape and reads it back equal', async () => {
      const t = make();
      t.setRoutes(RouteClass.LocalWorkload, h.links.workloadA, [{ dst: '198.19.0.5' }, { dst: '2001:db8:5::5/128' }]);
      t.setRoutes(RouteClass.NoEncap, h.links.uplink, [{ dst: '198.19.1.0/26', via: '198.18.0.2', onlink: true }]);
      t.setRoutes(RouteClass.Blackhole, NO_INTERFACE, [
        { dst: '198.19.0.0/26', type: 'blackhole' },
        { dst: '2001:db8:5::/122', type: 'blackhole' },
      ]);
      t.setRoutes(RouteClass.Bgp, NO_INTERFACE, [
        {
          dst: '198.19.8.0/24',
          nextHops: [
            { via: '198.18.0.3', dev: h.links.uplink, onlink: true },
            { via: '198.18.0.2', dev: h.links.uplink, onlink: true },
          ],
        },
        { dst: '198.19.9.0/24', nextHops: [{ via: '198.18.0.4', dev: h.links.uplink, onlink: true }] },
      ]);
      t.markInSync();
      const res = await t.apply();
      expect(res).toMatchObject({ ran: true, fullResync: true, replaced: 7, deleted: 0, failed: 0 });
      const got = await h.list();
      expect(sigs(got)).toEqual(sigs(t.resolved()));
      const ecmp = got.find((r) => r.dst === '198.19.8.0/24');
      expect(ecmp?.protocol).toBe(P.bgp);
      expect(ecmp?.nextHops?.map((n) => n.via)).toEqual(['198.18.0.2', '198.18.0.3']);
      expect(got.find((r) => r.dst === '198.19.0.5/32')).toMatchObject({ dev: h.links.workloadA, scope: 'link' });
      // Applying again with nothing changed does nothing, also after a full read-back.
      expect(await t.apply()).toMatchObject({ replaced: 0, deleted: 0 });
      t.requestResync();
      expect(await t.apply()).toMatchObject({ fullResync: true, replaced: 0, deleted: 0 });
    });

    it('setRoutes replaces the set of one (class, interface) only', async () => {
      const t = make();
      t.setRoutes(RouteClass.LocalWorkload, h.links.workloadA, [{ dst: '198.19.0.5' }, { dst: '198.19.0.6' }]);
      t.setRoutes(RouteClass.LocalWorkload, h.links.workloadB, [{ dst: '198.19.0.7' }]);
      t.markInSync();
      await t.apply();
      t.setRoutes(RouteClass.LocalWorkload, h.links.workloadA, [{ dst: '198.19.0.6' }, { dst: '198.19.0.8' }]);
      expect(await t.apply()).toMatchObject({ fullResync: false, replaced: 1, deleted: 1 });
      const dsts = (await h.list()).filter((r) => r.protocol === P.felix).map((r) => r.dst);
      expect(dsts.sort()).toEqual(['198.19.0.6/32', '198.19.0.7/32', '198.19.0.8/32']);
    });

    it('resolves conflicts on one prefix by class priority', async () => {
      const t = make();
      t.setRoutes(RouteClass.Blackhole, NO_INTERFACE, [{ dst: '198.19.2.0/26', type: 'blackhole' }]);
      t.setRoutes(RouteClass.Bgp, NO_INTERFACE, [
        { dst: '198.19.2.0/26', nextHops: [{ via: '198.18.0.9', dev: h.links.uplink, onlink: true }] },
      ]);
      t.setRoutes(RouteClass.VxlanTunnel, h.links.uplink, [{ dst: '198.19.2.0/26', via: '198.18.0.2', onlink: true }]);
      t.markInSync();
      await t.apply();
      const at = async (): Promise<KernelRoute | undefined> => (await h.list()).find((r) => r.dst === '198.19.2.0/26');
      expect(await at()).toMatchObject({ type: 'unicast', via: '198.18.0.2', protocol: P.felix });
      t.setRoutes(RouteClass.VxlanTunnel, h.links.uplink, []);
      await t.apply();
      expect(await at()).toMatchObject({ type: 'unicast', via: '198.18.0.9', protocol: P.bgp });
      t.setRoutes(RouteClass.Bgp, NO_INTERFACE, []);
      await t.apply();
      expect(await at()).toMatchObject({ type: 'blackhole', protocol: P.felix });
      t.setRoutes(RouteClass.Blackhole, NO_INTERFACE, []);
      await t.apply();
      expect(await at()).toBeUndefined();
    });

    it('never touches routes it does not own, even on a desired prefix', async () => {
      const foreignStale: KernelRoute = {
        dst: '198.19.3.0/24',
        type: 'unicast',
        protocol: 4,
        scope: 'global',
        dev: h.links.uplink,
        via: '198.18.0.7',
        onlink: true,
      };
      const foreignWanted: KernelRoute = { dst: '198.19.4.0/26', type: 'blackhole', protocol: 12, scope: 'global' };
      await h.externalAdd(foreignStale);
      await h.externalAdd(foreignWanted);
      const t = make();
      t.setRoutes(RouteClass.NoEncap, h.links.uplink, [{ dst: '198.19.4.0/26', via: '198.18.0.2', onlink: true }]);
      t.markInSync();
      const res = await t.apply();
      expect(res.conflicts).toEqual(['198.19.4.0/26']);
      expect(t.status().conflicts).toEqual(['198.19.4.0/26']);
      const after = await h.list();
      expect(after.find((r) => r.dst === '198.19.3.0/24')).toMatchObject({ protocol: 4, via: '198.18.0.7' });
      expect(after.find((r) => r.dst === '198.19.4.0/26')).toMatchObject({ protocol: 12, type: 'blackhole' });
      // Once the foreign route is gone, the desired one goes in.
      await h.externalDelete('198.19.4.0/26');
      t.requestResync();
      await t.apply();
      expect((await h.list()).find((r) => r.dst === '198.19.4.0/26')).toMatchObject({ protocol: P.felix });
    });

    it('sweeps stale owned routes at start: its protocol, or its interface prefix', async () => {
      await h.externalAdd({ dst: '198.19.5.0/26', type: 'blackhole', protocol: P.felix, scope: 'global' });
      await h.externalAdd({
        dst: '198.19.5.9/32',
        type: 'unicast',
        protocol: 3,
        scope: 'link',
        dev: h.links.workloadB,
      });
      await h.externalAdd({ dst: '198.19.5.10/32', type: 'unicast', protocol: 3, scope: 'link', dev: h.links.uplink });
      const t = make();
      t.setRoutes(RouteClass.LocalWorkload, h.links.workloadA, [{ dst: '198.19.0.5' }]);
      t.markInSync();
      expect(await t.apply()).toMatchObject({ replaced: 1, deleted: 2 });
      const dsts = (await h.list()).map((r) => r.dst);
      expect(dsts).toContain('198.19.0.5/32');
      expect(dsts).toContain('198.19.5.10/32');
      expect(dsts).not.toContain('198.19.5.0/26');
      expect(dsts).not.toContain('198.19.5.9/32');
    });

    it('a restarted table reconciles by read-back without flushing', async () => {
      const desired = (t: RouteTable): void => {
        t.setRoutes(RouteClass.LocalWorkload, h.links.workloadA, [{ dst: '198.19.0.5' }]);
        t.setRoutes(RouteClass.Blackhole, NO_INTERFACE, [{ dst: '198.19.0.0/26', type: 'blackhole' }]);
        t.setRoutes(RouteClass.Bgp, NO_INTERFACE, [
          { dst: '198.19.6.0/24', nextHops: [{ via: '198.18.0.2', dev: h.links.uplink, onlink: true }] },
        ]);
      };
      const t1 = make();
      desired(t1);
      t1.markInSync();
      await t1.apply();
      const before = sigs(await h.list());
      await t1.close();
      const t2 = make();
      // Before the new process is in sync, the routes stay.
      expect(sigs(await h.list())).toEqual(before);
      desired(t2);
      t2.setRoutes(RouteClass.Blackhole, NO_INTERFACE, []);
      t2.markInSync();
      expect(await t2.apply()).toMatchObject({ fullResync: true, replaced: 0, deleted: 1 });
      expect(sigs(await h.list())).toEqual(sigs(t2.resolved()));
    });

    it('keeps stale BGP routes through the graceful-restart window', async () => {
      await h.externalAdd({
        dst: '198.19.7.0/24',
        type: 'unicast',
        protocol: P.bgp,
        scope: 'global',
        dev: h.links.uplink,
        via: '198.18.0.2',
        onlink: true,
      });
      await h.externalAdd({ dst: '198.19.7.64/26', type: 'blackhole', protocol: P.felix, scope: 'global' });
      const t = make({ gracefulRestartMs: 60_000 });
      t.markInSync();
      expect(await t.apply()).toMatchObject({ deleted: 1 });
      const dsts = async (): Promise<string[]> => (await h.list()).map((r) => r.dst);
      expect(await dsts()).toContain('198.19.7.0/24');
      expect(await dsts()).not.toContain('198.19.7.64/26');
      expect(t.status().gracefulRestart).toBe(true);
      clock.advance(60_000);
      await waitUntil('stale BGP route swept', async () => !(await dsts()).includes('198.19.7.0/24'));
      expect(t.status().gracefulRestart).toBe(false);
    });

    it('gives stale routes on a new interface a grace period', async () => {
      const t = make();
      t.markInSync();
      await t.apply();
      const fresh = 'calinew0';
      await h.addLink(fresh);
      await h.externalAdd({ dst: '198.19.0.20/32', type: 'unicast', protocol: 3, scope: 'link', dev: fresh });
      t.requestResync();
      expect(await t.apply()).toMatchObject({ deleted: 0 });
      expect((await h.list()).map((r) => r.dst)).toContain('198.19.0.20/32');
      clock.advance(9_000);
      t.requestResync();
      expect(await t.apply()).toMatchObject({ deleted: 0 });
      clock.advance(1_000);
      await waitUntil('grace period over', async () => !(await h.list()).some((r) => r.dst === '198.19.0.20/32'));
      await h.deleteLink(fresh);
    });

    it('waits for a missing interface and programs once it appears', async () => {
      const t = make();
      const later = 'calilate0';
      t.setRoutes(RouteClass.LocalWorkload, later, [{ dst: '198.19.0.30' }]);
      t.markInSync();
      expect(await t.apply()).toMatchObject({ replaced: 0, failed: 0 });
      expect(t.status().waitingForInterface).toBe(1);
      await h.addLink(later);
      t.requestResync();
      expect(await t.apply()).toMatchObject({ replaced: 1 });
      expect((await h.list()).find((r) => r.dst === '198.19.0.30/32')).toMatchObject({ dev: later });
      await h.deleteLink(later);
    });

    it('repairs a route someone deleted, through the watch', async () => {
      const t = make({ watch: true, clock: undefined, watchDebounceMs: 10 });
      t.setRoutes(RouteClass.LocalWorkload, h.links.workloadA, [{ dst: '198.19.0.5' }]);
      t.setRoutes(RouteClass.Blackhole, NO_INTERFACE, [{ dst: '198.19.0.0/26', type: 'blackhole' }]);
      t.markInSync();
      await t.apply();
      await new Promise((r) => setTimeout(r, 200)); // let the monitor settle
      await h.externalDelete('198.19.0.5/32');
      await waitUntil('route repaired', async () => (await h.list()).some((r) => r.dst === '198.19.0.5/32'));
      // A foreign route on an uplink prefix nobody wants is ignored (no churn, left in place).
      await h.externalAdd({
        dst: '198.19.9.0/24',
        type: 'unicast',
        protocol: 4,
        scope: 'global',
        dev: h.links.uplink,
        via: '198.18.0.9',
        onlink: true,
      });
      await new Promise((r) => setTimeout(r, 200));
      expect((await h.list()).find((r) => r.dst === '198.19.9.0/24')).toMatchObject({ protocol: 4 });
    });

    it('repairs a route someone replaced under its own protocol, through the watch', async () => {
      const t = make({ watch: true, clock: undefined, watchDebounceMs: 10 });
      const want = { dst: '198.19.8.0/26', via: '198.18.0.2', onlink: true };
      t.setRoutes(RouteClass.NoEncap, h.links.uplink, [want]);
      t.markInSync();
      await t.apply();
      await new Promise((r) => setTimeout(r, 200)); // let the monitor settle (our own write's echo)
      expect((await h.list()).find((r) => r.dst === want.dst)).toMatchObject({ via: '198.18.0.2' });
      // Same protocol, another gateway: only the gateway tells it from our own write.
      await h.externalAdd({
        dst: want.dst,
        type: 'unicast',
        protocol: P.felix,
        scope: 'global',
        dev: h.links.uplink,
        via: '198.18.0.3',
        onlink: true,
      });
      await waitUntil(
        'gateway repaired',
        async () => (await h.list()).find((r) => r.dst === want.dst)?.via === '198.18.0.2',
      );
    });

    it('repairs outside changes on the resync interval without a watch', async () => {
      const t = make({ resyncIntervalMs: 90_000 });
      t.setRoutes(RouteClass.Blackhole, NO_INTERFACE, [{ dst: '198.19.0.0/26', type: 'blackhole' }]);
      t.markInSync();
      await t.apply();
      await h.externalDelete('198.19.0.0/26');
      clock.advance(89_000);
      await new Promise((r) => setTimeout(r, 50));
      expect((await h.list()).some((r) => r.dst === '198.19.0.0/26')).toBe(false);
      clock.advance(1_000);
      await waitUntil('interval resync', async () => (await h.list()).some((r) => r.dst === '198.19.0.0/26'));
    });
  });
}
