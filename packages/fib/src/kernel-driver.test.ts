import { canUseNetns, NetLab, type Netns, waitFor } from '@tabby/test-helpers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NO_INTERFACE, Protocol, RouteClass } from './constants.js';
import { parseBatchErrors } from './ip-command.js';
import { KernelDriver, parseMonitorLine } from './kernel-driver.js';
import { routeArgs } from './kernel-route.js';
import { RouteTable } from './route-table.js';
import { routeTableComplianceTests } from './testing/route-table-compliance.js';
import type { KernelRoute } from './types.js';

describe('ip output parsing', () => {
  it('parses ip monitor route lines', () => {
    expect(parseMonitorLine('Deleted 198.18.5.0/26 via 198.18.0.2 dev d0 proto 80 onlink ')).toEqual({
      deleted: true,
      dst: '198.18.5.0/26',
      protocol: 80,
      dev: 'd0',
      via: '198.18.0.2',
      table: 254,
    });
    expect(parseMonitorLine('6 198.18.7.0/26 proto 80 ')).toMatchObject({ deleted: false, dst: '198.18.7.0/26' });
    expect(parseMonitorLine('6 198.18.7.0/26 proto 80 ')?.via).toBeUndefined();
    expect(parseMonitorLine('198.19.0.0/26 via inet6 fe80::1 dev d0 proto 186 ')?.via).toBe('fe80::1');
    expect(parseMonitorLine('198.18.1.1 dev d0 table 100 scope 253 ')).toMatchObject({
      dst: '198.18.1.1/32',
      table: 100,
      protocol: 3,
    });
    expect(parseMonitorLine('2001:db8::5 dev cali1 proto 80 metric 1024 pref medium')).toMatchObject({
      dst: '2001:db8::5/128',
    });
    expect(parseMonitorLine('default via 198.18.0.1 dev d0 onlink')).toMatchObject({ dst: '0.0.0.0/0' });
    expect(parseMonitorLine('\tnexthop via 198.18.0.2 dev d0 weight 1 onlink')).toBeUndefined();
  });

  it('maps ip -batch errors to their lines', () => {
    const errs = parseBatchErrors(
      'RTNETLINK answers: No such process\nCommand failed -:1\nCannot find device "x"\nCommand failed -:3\n',
    );
    expect([...errs]).toEqual([
      [1, 'RTNETLINK answers: No such process'],
      [3, 'Cannot find device "x"'],
    ]);
  });
});

describe.skipIf(!canUseNetns())('kernel driver in a network namespace', () => {
  const lab = new NetLab();
  let ns: Netns;

  beforeAll(async () => {
    ns = await lab.netns('fibk');
    for (const [a, b] of [
      ['eth0', 'eth0p'],
      ['cali0000000000a', 'pa0'],
      ['cali0000000000b', 'pb0'],
    ] as const) {
      await ns.ip(['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      await ns.ip(['link', 'set', a, 'up']);
      await ns.ip(['link', 'set', b, 'up']);
    }
    await ns.ip(['addr', 'add', '198.18.0.1/24', 'dev', 'eth0']);
  });
  const tables: RouteTable[] = [];
  const table = (t: RouteTable): RouteTable => {
    tables.push(t);
    return t;
  };
  afterEach(async () => {
    for (const t of tables.splice(0)) await t.close();
  });
  afterAll(() => lab.destroy());

  routeTableComplianceTests('kernel driver', async () => {
    const reader = new KernelDriver({ netns: ns.name });
    return {
      driver: () => new KernelDriver({ netns: ns.name }),
      links: { uplink: 'eth0', workloadA: 'cali0000000000a', workloadB: 'cali0000000000b' },
      list: async () => (await reader.read()).routes,
      externalAdd: async (r) => {
        await ns.ip(['route', 'replace', ...routeArgs(r, 254).split(' ')]);
      },
      externalDelete: async (dst) => {
        await ns.ip(['route', 'del', dst]);
      },
      addLink: async (n) => {
        await ns.ip(['link', 'add', n, 'type', 'veth', 'peer', 'name', `${n.slice(0, 10)}p`]);
        await ns.ip(['link', 'set', n, 'up']);
      },
      deleteLink: async (n) => {
        await ns.ip(['link', 'del', n]);
      },
      reset: async () => {
        const { routes } = await reader.read();
        await reader.apply(routes.filter((r) => r.protocol !== 2).map((route) => ({ op: 'delete', route })));
        const left = (await reader.read()).routes.filter((r) => r.protocol !== 2);
        if (left.length) throw new Error(`reset left routes: ${JSON.stringify(left)}`);
      },
    };
  });

  it('restarts without deleting a single route (no flush)', async () => {
    const desired = (t: RouteTable): void => {
      t.setRoutes(RouteClass.LocalWorkload, 'cali0000000000a', [{ dst: '198.19.0.5' }, { dst: '2001:db8::5' }]);
      t.setRoutes(RouteClass.Bgp, NO_INTERFACE, [
        {
          dst: '198.19.6.0/24',
          nextHops: [
            { via: '198.18.0.2', dev: 'eth0', onlink: true },
            { via: '198.18.0.3', dev: 'eth0', onlink: true },
          ],
        },
      ]);
    };
    const t1 = table(new RouteTable({ driver: new KernelDriver({ netns: ns.name }), watch: false }));
    desired(t1);
    t1.markInSync();
    expect(await t1.apply()).toMatchObject({ replaced: 3, failed: 0 });
    await t1.close();
    // Watch every route change while a second table starts on the same kernel state. The kernel
    // may add routes of its own meanwhile (IPv6 link-local and autoconf routes, `proto kernel`):
    // those are not ours. What must not happen is any add, replace or delete of a route with one of
    // the table's protocols. A canary route (`proto static`) proves the monitor is live before, and
    // that every earlier event has been read after: netlink delivers events in order.
    const mon = ns.spawn(['ip', 'monitor', 'route']);
    let canaries = 0;
    const canary = async (timeoutMs: number): Promise<boolean> => {
      const dst = `198.19.250.${++canaries}`;
      await ns.ip(['route', 'replace', 'blackhole', dst, 'proto', 'static']);
      return waitFor(`the monitor to show ${dst}`, () => mon.output.includes(`${dst} `), timeoutMs).then(
        () => true,
        () => false,
      );
    };
    await waitFor('ip monitor to start', () => canary(1_000), 30_000);
    const before = mon.output.length;
    const t2 = table(new RouteTable({ driver: new KernelDriver({ netns: ns.name }) }));
    desired(t2);
    t2.markInSync();
    expect(await t2.apply()).toMatchObject({ fullResync: true, replaced: 0, deleted: 0, failed: 0 });
    await t2.close();
    expect(await canary(30_000)).toBe(true);
    await mon.kill();
    for (let i = 1; i <= canaries; i++) await ns.ip(['route', 'del', 'blackhole', `198.19.250.${i}`]);
    const ours = new Set<number>([Protocol.Felix, Protocol.Bgp]);
    const mine = new Set(['198.19.0.5/32', '2001:db8::5/128', '198.19.6.0/24']);
    const touched = mon.output
      .slice(before)
      .split('\n')
      .filter((line) => {
        const r = parseMonitorLine(line);
        return r !== undefined && (ours.has(r.protocol) || mine.has(r.dst));
      });
    expect(touched).toEqual([]);
    const shown = (await ns.ip(['route', 'show', '198.19.6.0/24'])).stdout;
    expect(shown).toContain('nexthop via 198.18.0.2 dev eth0 weight 1 onlink');
    expect(shown).toContain('nexthop via 198.18.0.3 dev eth0 weight 1 onlink');
  });

  it('writes 10,000 ops in one streamed batch and maps a failure to its op', async () => {
    const driver = new KernelDriver({ netns: ns.name });
    const ops = Array.from({ length: 10_000 }, (_, i) => ({
      op: 'replace' as const,
      route: {
        dst: `198.19.${100 + (i >> 8)}.${i & 255}/32`,
        type: 'unicast' as const,
        protocol: 80,
        scope: 'global' as const,
        dev: 'eth0',
        // One gateway is neither on-link nor flagged onlink: the kernel refuses that line only.
        via: i === 6001 ? '198.18.77.1' : '198.18.0.2',
        onlink: i !== 6001,
      },
    }));
    // Only this test's prefixes (198.19.100.0 - 198.19.139.255): other tests share the namespace.
    const mine = (r: KernelRoute): boolean => r.protocol === 80 && /^198\.19\.1[0-3]\d\./.test(r.dst);
    const failures = await driver.apply(ops);
    expect(failures.map((f) => f.op.route.dst)).toEqual(['198.19.123.113/32']);
    const back = (await driver.read()).routes.filter(mine);
    expect(back).toHaveLength(9_999);
    expect(await driver.apply(back.map((route) => ({ op: 'delete' as const, route })))).toEqual([]);
    expect((await driver.read()).routes.filter(mine)).toEqual([]);
  });

  it('reports a route the kernel refuses as failed and resyncs', async () => {
    const t = table(new RouteTable({ driver: new KernelDriver({ netns: ns.name }), watch: false, retryMs: 60_000 }));
    // A gateway that is not on-link without `onlink`: the kernel refuses it.
    t.setRoutes(RouteClass.NoEncap, 'eth0', [
      { dst: '198.19.10.0/26', via: '198.18.77.1' },
      { dst: '198.19.11.0/26', via: '198.18.0.2' },
    ]);
    t.markInSync();
    expect(await t.apply()).toMatchObject({ replaced: 2, failed: 1 });
    const r = await t.apply();
    expect(r.fullResync).toBe(true);
    expect((await ns.ip(['route', 'show', '198.19.11.0/26'])).stdout).toContain('via 198.18.0.2 dev eth0 proto 80');
    await t.close();
  });
});
