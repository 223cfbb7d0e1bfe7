import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { FibDataplane } from './dataplane.js';
import { InvalidCidrError, InvalidInputError } from './errors.js';
import type { LocalNode } from './inputs.js';
import { MemoryLinkDriver } from './link-driver.js';
import { MemoryDriver } from './memory-driver.js';
import { RouteTable } from './route-table.js';
import type { KernelRoute } from './types.js';

const local: LocalNode = {
  name: 'a',
  ipv4Address: '198.18.0.1/24',
  uplink: 'eth0',
  vxlanTunnelAddress: '198.19.0.1',
  vxlanTunnelMac: '66:00:00:00:00:0a',
};
const IF1 = 'cali1111111111a';
const IF2 = 'cali2222222222b';

function setup() {
  const mem = new MemoryDriver(['eth0', 'tunl0', 'vxlan.tabby', IF1, IF2]);
  const table = new RouteTable({ driver: mem, clock: new ManualClock(), gracefulRestartMs: 0, watch: false });
  const links = new MemoryLinkDriver();
  const dp = new FibDataplane({ localNode: local, routeTable: table, links });
  const at = (dst: string): KernelRoute | undefined => mem.list().find((r) => r.dst === dst);
  return { mem, table, links, dp, at };
}

function remoteNodes(dp: FibDataplane): void {
  dp.upsertRemoteNode({
    name: 'b',
    ipv4Address: '198.18.0.2/24',
    vxlanTunnelAddress: '198.19.1.1',
    vxlanTunnelMac: '66:00:00:00:00:0b',
  });
  dp.upsertRemoteNode({
    name: 'c',
    ipv4Address: '198.18.5.3/24',
    vxlanTunnelAddress: '198.19.2.1',
    vxlanTunnelMac: '66:00:00:00:00:0c',
  });
}

describe('FibDataplane managers (memory driver)', () => {
  it('does no kernel work in update handlers and writes nothing before in sync', async () => {
    const { mem, dp, links } = setup();
    remoteNodes(dp);
    dp.upsertPool({ cidr: '198.19.0.0/16', ipipMode: 'Never', vxlanMode: 'Never' });
    for (let i = 0; i < 50; i++) dp.upsertBlock({ cidr: `198.19.${i}.0/26`, node: i % 2 ? 'b' : 'a' });
    dp.upsertWorkload({ id: 'default/p1', interfaceName: IF1, ips: ['198.19.0.2'] });
    expect(mem.stats).toEqual({ reads: 0, applies: 0, ops: 0 });
    expect(await dp.apply()).toMatchObject({ ran: false });
    expect(mem.stats).toEqual({ reads: 0, applies: 0, ops: 0 });
    expect(links.applies).toBe(0);
    dp.markInSync();
    expect(await dp.apply()).toMatchObject({ ran: true, replaced: 51 });
  });

  it('local workloads: /32 and /128 scope link on the interface, interface settings', async () => {
    const { dp, at, links, mem } = setup();
    dp.upsertWorkload({ id: 'default/p1', interfaceName: IF1, ips: ['198.19.0.2/32', '2001:db8::2'] });
    dp.upsertWorkload({ id: 'default/p2', interfaceName: IF2, ips: ['198.19.0.3'] });
    dp.markInSync();
    await dp.apply();
    expect(at('198.19.0.2/32')).toMatchObject({ dev: IF1, scope: 'link', protocol: 80, type: 'unicast' });
    expect(at('198.19.0.2/32')?.via).toBeUndefined();
    expect(at('2001:db8::2/128')).toMatchObject({ dev: IF1, protocol: 80 });
    expect(at('198.19.0.3/32')).toMatchObject({ dev: IF2 });
    expect(links.last?.workloadInterfaces).toEqual([IF1, IF2]);
    expect(links.last?.workloadMac).toBe('ee:ee:ee:ee:ee:ee');
    dp.removeWorkload('default/p1');
    await dp.apply();
    expect(at('198.19.0.2/32')).toBeUndefined();
    expect(links.last?.workloadInterfaces).toEqual([IF2]);
    expect(mem.list()).toHaveLength(1);
  });

  it('local blocks become blackholes, except /32 blocks; a workload beats its block', async () => {
    const { dp, at } = setup();
    dp.upsertBlock({ cidr: '198.19.0.0/26', node: 'a' });
    dp.upsertBlock({ cidr: '198.19.0.64/32', node: 'a' });
    dp.upsertWorkload({ id: 'x/borrowed', interfaceName: IF1, ips: ['198.19.0.64'] });
    dp.markInSync();
    await dp.apply();
    expect(at('198.19.0.0/26')).toMatchObject({ type: 'blackhole', protocol: 80 });
    expect(at('198.19.0.64/32')).toMatchObject({ type: 'unicast', dev: IF1 });
    dp.removeBlock('198.19.0.0/26');
    await dp.apply();
    expect(at('198.19.0.0/26')).toBeUndefined();
  });

  it('remote blocks without encapsulation: via node IP dev uplink onlink', async () => {
    const { dp, at, links } = setup();
    remoteNodes(dp);
    dp.upsertPool({ cidr: '198.19.0.0/16', ipipMode: 'Never', vxlanMode: 'Never' });
    dp.upsertBlock({ cidr: '198.19.1.0/26', node: 'b' });
    dp.upsertBlock({ cidr: '198.19.2.0/26', node: 'c' });
    dp.markInSync();
    await dp.apply();
    expect(at('198.19.1.0/26')).toMatchObject({ via: '198.18.0.2', dev: 'eth0', onlink: true, protocol: 80 });
    expect(at('198.19.2.0/26')).toMatchObject({ via: '198.18.5.3', dev: 'eth0', onlink: true });
    expect(links.last?.vxlan).toBeUndefined();
    // The block moves to another node.
    dp.upsertBlock({ cidr: '198.19.1.0/26', node: 'c' });
    await dp.apply();
    expect(at('198.19.1.0/26')).toMatchObject({ via: '198.18.5.3' });
  });

  it('IPIP Always and CrossSubnet route shapes', async () => {
    const { dp, at, table } = setup();
    remoteNodes(dp);
    dp.upsertPool({ cidr: '198.19.0.0/17', ipipMode: 'Always', vxlanMode: 'Never' });
    dp.upsertPool({ cidr: '198.19.128.0/17', ipipMode: 'CrossSubnet', vxlanMode: 'Never' });
    dp.upsertBlock({ cidr: '198.19.1.0/26', node: 'b' });
    dp.upsertBlock({ cidr: '198.19.129.0/26', node: 'b' });
    dp.upsertBlock({ cidr: '198.19.130.0/26', node: 'c' });
    dp.markInSync();
    await dp.apply();
    expect(at('198.19.1.0/26')).toMatchObject({ via: '198.18.0.2', dev: 'tunl0', onlink: true });
    expect(at('198.19.129.0/26')).toMatchObject({ via: '198.18.0.2', dev: 'eth0', onlink: true });
    expect(at('198.19.130.0/26')).toMatchObject({ via: '198.18.5.3', dev: 'tunl0', onlink: true });
    expect(table.getRoutes('ipip-same-subnet', 'eth0').map((r) => r.dst)).toEqual(['198.19.129.0/26']);
    expect(
      table
        .getRoutes('ipip-tunnel', 'tunl0')
        .map((r) => r.dst)
        .sort(),
    ).toEqual(['198.19.1.0/26', '198.19.130.0/26']);
  });

  it('VXLAN Always and CrossSubnet: routes, device, neighbours and FDB', async () => {
    const { dp, at, links, table } = setup();
    remoteNodes(dp);
    dp.upsertPool({ cidr: '198.19.0.0/17', ipipMode: 'Never', vxlanMode: 'Always' });
    dp.upsertPool({ cidr: '198.19.128.0/17', ipipMode: 'Never', vxlanMode: 'CrossSubnet' });
    dp.upsertBlock({ cidr: '198.19.1.0/26', node: 'b' });
    dp.upsertBlock({ cidr: '198.19.129.0/26', node: 'b' });
    dp.upsertBlock({ cidr: '198.19.130.0/26', node: 'c' });
    dp.markInSync();
    await dp.apply();
    expect(at('198.19.1.0/26')).toMatchObject({ via: '198.19.1.1', dev: 'vxlan.tabby', onlink: true });
    expect(at('198.19.129.0/26')).toMatchObject({ via: '198.18.0.2', dev: 'eth0', onlink: true });
    expect(at('198.19.130.0/26')).toMatchObject({ via: '198.19.2.1', dev: 'vxlan.tabby', onlink: true });
    expect(table.getRoutes('vxlan-same-subnet', 'eth0').map((r) => r.dst)).toEqual(['198.19.129.0/26']);
    expect(links.last?.vxlan).toEqual({
      name: 'vxlan.tabby',
      vni: 4096,
      port: 4789,
      localIp: '198.18.0.1',
      uplink: 'eth0',
      vtepIp: '198.19.0.1',
      mac: '66:00:00:00:00:0a',
      overhead: 50,
    });
    expect(links.last?.vxlanPeers).toEqual([
      { node: 'b', vtepIp: '198.19.1.1', mac: '66:00:00:00:00:0b', nodeIp: '198.18.0.2' },
      { node: 'c', vtepIp: '198.19.2.1', mac: '66:00:00:00:00:0c', nodeIp: '198.18.5.3' },
    ]);
    // No VXLAN pool left: device and peers go, and so do the tunnel routes.
    dp.removePool('198.19.0.0/17');
    dp.removePool('198.19.128.0/17');
    await dp.apply();
    expect(links.last?.vxlan).toBeUndefined();
    expect(links.last?.vxlanPeers).toEqual([]);
    expect(at('198.19.1.0/26')).toMatchObject({ via: '198.18.0.2', dev: 'eth0' });
  });

  it('applies link state when it changed and on the link resync interval only', async () => {
    const mem = new MemoryDriver(['eth0', IF1]);
    const clock = new ManualClock();
    const table = new RouteTable({ driver: mem, clock, gracefulRestartMs: 0, watch: false });
    const links = new MemoryLinkDriver();
    const dp = new FibDataplane({ localNode: local, routeTable: table, links, clock, linkResyncIntervalMs: 60_000 });
    dp.upsertWorkload({ id: 'default/p1', interfaceName: IF1, ips: ['198.19.0.2'] });
    dp.markInSync();
    await dp.apply();
    expect(links.applies).toBe(1);
    dp.setBgpRoute({ prefix: '198.18.64.0/20', nextHops: [{ via: '198.18.0.2' }] });
    await dp.apply();
    expect(links.applies).toBe(1);
    dp.upsertWorkload({ id: 'default/p2', interfaceName: IF2, ips: ['198.19.0.3'] });
    await dp.apply();
    expect(links.applies).toBe(2);
    expect(links.last?.workloadInterfaces).toEqual([IF1, IF2]);
    clock.advance(60_000);
    await dp.apply();
    expect(links.applies).toBe(3);
  });

  it('rejects malformed input in the update handler, not at apply', () => {
    const { dp } = setup();
    expect(() => dp.upsertWorkload({ id: 'x/y', interfaceName: IF1, ips: ['198.19.0.300'] })).toThrow(InvalidCidrError);
    expect(() => dp.upsertRemoteNode({ name: 'z', ipv4Address: 'not-an-ip/24' })).toThrow(InvalidCidrError);
    expect(() => dp.setBgpRoute({ prefix: '198.18.64.0/20', nextHops: [{ via: '198.18.0' }] })).toThrow(
      InvalidCidrError,
    );
    expect(() => dp.upsertBlock({ cidr: '198.19.0.1/26', node: 'a' })).toThrow(InvalidCidrError);
  });

  it('rejects a pool with both encapsulations', () => {
    const { dp } = setup();
    expect(() => dp.upsertPool({ cidr: '198.19.0.0/16', ipipMode: 'Always', vxlanMode: 'Always' })).toThrow(
      InvalidInputError,
    );
  });

  it('BGP-learned routes: own protocol, ECMP, lose to block routes on the same prefix', async () => {
    const { dp, at } = setup();
    remoteNodes(dp);
    dp.upsertPool({ cidr: '198.19.0.0/16', ipipMode: 'Never', vxlanMode: 'Never' });
    dp.setBgpRoute({ prefix: '198.18.64.0/20', nextHops: [{ via: '198.18.0.3' }, { via: '198.18.0.2' }] });
    dp.setBgpRoute({ prefix: '198.19.1.0/26', nextHops: [{ via: '198.18.0.9' }] });
    dp.markInSync();
    await dp.apply();
    expect(at('198.18.64.0/20')).toMatchObject({
      protocol: 186,
      nextHops: [
        { via: '198.18.0.2', dev: 'eth0' },
        { via: '198.18.0.3', dev: 'eth0' },
      ],
    });
    expect(at('198.19.1.0/26')).toMatchObject({ protocol: 186, via: '198.18.0.9', dev: 'eth0' });
    dp.upsertBlock({ cidr: '198.19.1.0/26', node: 'b' });
    await dp.apply();
    expect(at('198.19.1.0/26')).toMatchObject({ protocol: 80, via: '198.18.0.2' });
    dp.setBgpRoute({ prefix: '198.18.64.0/20', nextHops: [] });
    await dp.apply();
    expect(at('198.18.64.0/20')).toBeUndefined();
  });
});
