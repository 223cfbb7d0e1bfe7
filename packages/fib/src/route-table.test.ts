import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { NO_INTERFACE, ROUTE_CLASSES, type RouteClass } from './constants.js';
import { InvalidCidrError, InvalidRouteError } from './errors.js';
import { routeSignature } from './kernel-route.js';
import { MemoryDriver } from './memory-driver.js';
import { RouteTable } from './route-table.js';
import type { KernelRoute, RouteTarget } from './types.js';

const LINKS = ['eth0', 'cali0000000000a', 'cali0000000000b'];
const owned = (routes: KernelRoute[]): string[] =>
  routes
    .filter((r) => r.protocol === 80 || r.protocol === 186)
    .map(routeSignature)
    .sort();

describe('RouteTable (memory driver specifics)', () => {
  it('rejects routes that cannot be programmed', () => {
    const t = new RouteTable({ driver: new MemoryDriver(LINKS) });
    expect(() => t.setRoutes('no-encap', NO_INTERFACE, [{ dst: '198.19.0.0/26' }])).toThrow(InvalidRouteError);
    expect(() =>
      t.setRoutes('bgp', 'eth0', [
        {
          dst: '198.19.0.0/26',
          nextHops: [
            { via: '198.18.0.2', dev: 'eth0' },
            { via: '198.18.0.3', dev: 'eth0' },
          ],
        },
      ]),
    ).toThrow(InvalidRouteError);
    expect(() => t.setRoutes('no-encap', 'eth0', [{ dst: '198.19.0.1/26' }])).toThrow(InvalidCidrError);
    expect(() => t.setRoutes('nonsense' as RouteClass, 'eth0', [])).toThrow(InvalidRouteError);
    expect(() => new RouteTable({ driver: new MemoryDriver(), felixProtocol: 9, bgpProtocol: 9 })).toThrow();
  });

  it('reads back routes of one prefix whether or not the dump lists them next to each other', async () => {
    const u = (dst: string, protocol: number, via: string, metric?: number): KernelRoute => ({
      dst,
      type: 'unicast',
      protocol,
      scope: 'global',
      dev: 'eth0',
      via,
      onlink: true,
      ...(metric === undefined ? {} : { metric }),
    });
    const foreign = u('198.19.1.0/26', 4, '198.18.0.9');
    const extra = u('198.19.1.0/26', 80, '198.18.0.2', 100);
    const mine = u('198.19.2.0/26', 80, '198.18.0.2');
    const stray = u('198.19.3.0/26', 80, '198.18.0.2', 5);
    for (const routes of [
      [foreign, extra, mine, stray],
      [foreign, mine, stray, extra],
      [extra, mine, foreign, stray],
    ]) {
      const applied: string[] = [];
      const driver = {
        kind: 'fixed',
        read: async () => ({ routes, links: LINKS }),
        apply: async (ops: readonly { op: string; route: KernelRoute }[]) => {
          for (const o of ops) applied.push(`${o.op} ${o.route.dst} ${o.route.metric ?? '-'}`);
          return [];
        },
        watch: () => () => {},
        close: async () => {},
      };
      const t = new RouteTable({ driver, watch: false, gracefulRestartMs: 0 });
      t.setRoutes('no-encap', 'eth0', [
        { dst: '198.19.1.0/26', via: '198.18.0.2', onlink: true },
        { dst: '198.19.2.0/26', via: '198.18.0.2', onlink: true },
      ]);
      t.markInSync();
      const r = await t.apply();
      // The foreign route holds 198.19.1.0/26: a conflict, so that prefix is left alone (its owned
      // route at metric 100 too); the owned stray prefix goes; the route already in place stays.
      expect(r.conflicts).toEqual(['198.19.1.0/26']);
      expect(applied.sort()).toEqual(['delete 198.19.3.0/26 5']);
      await t.close();
    }
  });

  it('breaks ties within a class by interface name, deterministically', async () => {
    const mem = new MemoryDriver(LINKS);
    const t = new RouteTable({ driver: mem, watch: false, gracefulRestartMs: 0 });
    t.setRoutes('local-workload', 'cali0000000000b', [{ dst: '198.19.0.9' }]);
    t.setRoutes('local-workload', 'cali0000000000a', [{ dst: '198.19.0.9' }]);
    t.markInSync();
    await t.apply();
    expect(mem.list()[0]?.dev).toBe('cali0000000000a');
  });

  it('does not resync because of its own writes', async () => {
    const mem = new MemoryDriver(LINKS);
    const clock = new ManualClock();
    const t = new RouteTable({ driver: mem, clock, gracefulRestartMs: 0, resyncIntervalMs: 0 });
    t.setRoutes('blackhole', NO_INTERFACE, [{ dst: '198.19.0.0/26', type: 'blackhole' }]);
    t.markInSync();
    await t.apply(); // full: reads once, then starts watching
    t.setRoutes('blackhole', NO_INTERFACE, [{ dst: '198.19.0.64/26', type: 'blackhole' }]);
    await t.apply();
    await new Promise((r) => setTimeout(r, 10));
    clock.advance(1000);
    await new Promise((r) => setTimeout(r, 10));
    expect(mem.stats.reads).toBe(1);
    // Someone else's deletion of an owned route is news: it triggers one resync.
    mem.externalDelete('198.19.0.64/26');
    await new Promise((r) => setTimeout(r, 10));
    clock.advance(1000);
    await new Promise((r) => setTimeout(r, 10));
    expect(mem.stats.reads).toBe(2);
    expect(owned(mem.list())).toEqual(owned(t.resolved()));
    await t.close();
  });

  it('retries after a failed read-back', async () => {
    const mem = new MemoryDriver(LINKS);
    const clock = new ManualClock();
    const t = new RouteTable({ driver: mem, clock, watch: false, gracefulRestartMs: 0, retryMs: 5000 });
    t.setRoutes('blackhole', NO_INTERFACE, [{ dst: '198.19.0.0/26', type: 'blackhole' }]);
    t.markInSync();
    mem.failWith = new Error('ip: command not found');
    await expect(t.apply()).rejects.toThrow('ip: command not found');
    mem.failWith = undefined;
    clock.advance(5000);
    for (let i = 0; i < 10 && mem.list().length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(owned(mem.list())).toEqual(owned(t.resolved()));
    await t.close();
  });

  it('property: after any sequence of updates and outside noise, apply makes owned routes equal the resolved desired state', async () => {
    const prefixes = ['198.19.0.0/26', '198.19.0.64/26', '198.19.1.5/32', '198.19.2.0/24'];
    const ifaces = ['eth0', 'cali0000000000a', 'cali0000000000b', 'cali-missing'];
    const target = fc.record({
      dst: fc.constantFrom(...prefixes),
      via: fc.option(fc.constantFrom('198.18.0.2', '198.18.0.3'), { nil: undefined }),
    });
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        cls: fc.constantFrom(...ROUTE_CLASSES),
        iface: fc.constantFrom(...ifaces),
        routes: fc.array(target, { maxLength: 3 }),
      }),
      fc.record({
        kind: fc.constant('one' as const),
        cls: fc.constantFrom(...ROUTE_CLASSES),
        iface: fc.constantFrom(...ifaces),
        route: target,
      }),
      fc.record({
        kind: fc.constant('remove-one' as const),
        cls: fc.constantFrom(...ROUTE_CLASSES),
        iface: fc.constantFrom(...ifaces),
        dst: fc.constantFrom(...prefixes),
      }),
      fc.record({ kind: fc.constant('apply' as const) }),
      fc.record({ kind: fc.constant('noise-delete' as const), dst: fc.constantFrom(...prefixes) }),
      fc.record({
        kind: fc.constant('noise-add' as const),
        dst: fc.constantFrom(...prefixes),
        proto: fc.constantFrom(80, 186),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 25 }), async (steps) => {
        const mem = new MemoryDriver(LINKS);
        const t = new RouteTable({ driver: mem, clock: new ManualClock(), watch: false, gracefulRestartMs: 0 });
        // Independent model: the last set per (class, interface).
        const model = new Map<string, { cls: RouteClass; iface: string; routes: RouteTarget[] }>();
        t.markInSync();
        for (const s of steps) {
          if (s.kind === 'set') {
            const routes: RouteTarget[] =
              s.cls === 'blackhole'
                ? s.routes.map((r) => ({ dst: r.dst, type: 'blackhole' }))
                : s.routes.map((r) => (r.via ? { dst: r.dst, via: r.via, onlink: true } : { dst: r.dst }));
            const iface = s.cls === 'blackhole' ? NO_INTERFACE : s.iface;
            t.setRoutes(s.cls, iface, routes);
            model.set(`${s.cls}|${iface}`, { cls: s.cls, iface, routes });
          } else if (s.kind === 'one') {
            const iface = s.cls === 'blackhole' ? NO_INTERFACE : s.iface;
            const r: RouteTarget =
              s.cls === 'blackhole'
                ? { dst: s.route.dst, type: 'blackhole' }
                : s.route.via
                  ? { dst: s.route.dst, via: s.route.via, onlink: true }
                  : { dst: s.route.dst };
            t.setRoute(s.cls, iface, r);
            const prev = model.get(`${s.cls}|${iface}`)?.routes ?? [];
            model.set(`${s.cls}|${iface}`, { cls: s.cls, iface, routes: [...prev.filter((x) => x.dst !== r.dst), r] });
          } else if (s.kind === 'remove-one') {
            const iface = s.cls === 'blackhole' ? NO_INTERFACE : s.iface;
            t.removeRoute(s.cls, iface, s.dst);
            const prev = model.get(`${s.cls}|${iface}`)?.routes ?? [];
            model.set(`${s.cls}|${iface}`, { cls: s.cls, iface, routes: prev.filter((x) => x.dst !== s.dst) });
          } else if (s.kind === 'apply') await t.apply();
          else if (s.kind === 'noise-delete') mem.externalDelete(s.dst);
          else
            mem.externalAdd({
              dst: s.dst,
              type: 'unicast',
              protocol: s.proto,
              scope: 'global',
              dev: 'eth0',
              via: '198.18.0.99',
            });
        }
        t.requestResync();
        await t.apply();
        const expected: string[] = [];
        for (const dst of prefixes) {
          let best: { rank: number; iface: string; r: RouteTarget; cls: RouteClass } | undefined;
          for (const e of model.values()) {
            if (e.iface === 'cali-missing') continue;
            // Within one set a later duplicate prefix wins.
            const r = e.routes.filter((x) => x.dst === dst).pop();
            if (!r) continue;
            const rank = ROUTE_CLASSES.indexOf(e.cls);
            if (!best || rank < best.rank || (rank === best.rank && e.iface < best.iface))
              best = { rank, iface: e.iface, r, cls: e.cls };
          }
          if (!best) continue;
          if (best.r.type === 'blackhole') expected.push(`blackhole ${dst} p80`);
          else
            expected.push(
              `unicast ${dst} p${best.cls === 'bgp' ? 186 : 80} ${best.r.via ?? ''}@${best.iface}${best.r.via ? '! global' : ' link'}`,
            );
        }
        expect(owned(mem.list())).toEqual(expected.sort());
      }),
      { numRuns: 200 },
    );
  });
});
