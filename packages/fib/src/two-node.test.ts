import { canUseNetns, NetLab, type Netns } from '@tabby/test-helpers';
import { afterAll, describe, expect, it } from 'vitest';
import { FibDataplane } from './dataplane.js';
import type { IpPool, LocalNode, RemoteNode } from './inputs.js';
import { workloadInterfaceName } from './interface-name.js';
import { KernelDriver } from './kernel-driver.js';
import { KernelLinkDriver } from './kernel-link-driver.js';
import { RouteTable } from './route-table.js';

interface Node {
  ns: Netns;
  local: LocalNode;
  remote: RemoteNode;
  dp: FibDataplane;
  table: RouteTable;
}

/** A pod: its own namespace, a veth to the node, Calico's pod-side routes (169.254.1.1 via proxy ARP). */
async function makePod(lab: NetLab, node: Netns, label: string, ip: string): Promise<{ ns: Netns; ifname: string }> {
  const ns = await lab.netns(label);
  const ifname = workloadInterfaceName('default', `${label}-${process.pid}`);
  await lab.link(ns, 'eth0', `${ip}/32`, node, ifname, null);
  await ns.ip(['route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
  await ns.ip(['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
  return { ns, ifname };
}

async function makeNode(ns: Netns, local: LocalNode, remote: RemoteNode): Promise<Node> {
  // Host setup the node agent's environment provides: forwarding on.
  await ns.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  const table = new RouteTable({ driver: new KernelDriver({ netns: ns.name }), gracefulRestartMs: 0 });
  const dp = new FibDataplane({ localNode: local, routeTable: table, links: new KernelLinkDriver({ netns: ns.name }) });
  return { ns, local, remote, dp, table };
}

/** Feeds both nodes the same cluster data, as the node agent would from the datastore. */
function feed(
  nodes: [Node, Node],
  pool: IpPool,
  pods: [{ ifname: string; ip: string }, { ifname: string; ip: string }],
) {
  const blocks = ['198.19.1.0/26', '198.19.2.0/26'];
  nodes.forEach((n, i) => {
    const other = nodes[1 - i]!;
    n.dp.upsertRemoteNode(other.remote);
    n.dp.upsertPool(pool);
    nodes.forEach((m, j) => {
      n.dp.upsertBlock({ cidr: blocks[j]!, node: m.local.name });
    });
    const pod = pods[i]!;
    n.dp.upsertWorkload({ id: `default/pod-${i}`, interfaceName: pod.ifname, ips: [pod.ip] });
  });
}

async function canPing(from: Netns, to: string): Promise<boolean> {
  const r = await from.exec(['ping', '-c1', '-W2', to], { allowFailure: true });
  return r.exitCode === 0;
}

describe.skipIf(!canUseNetns())('two nodes, pods talking through routes the managers programmed', () => {
  const lab = new NetLab();
  const tables: RouteTable[] = [];
  afterAll(async () => {
    for (const t of tables) await t.close();
    await lab.destroy();
  });

  it('no encapsulation: nodes on one bridge', async () => {
    const sw = await lab.bridge('sw1');
    const nsA = await lab.netns('n1a');
    const nsB = await lab.netns('n1b');
    await sw.plug(nsA, 'eth0', '198.18.0.1/24');
    await sw.plug(nsB, 'eth0', '198.18.0.2/24');
    // Host setup: a default route (to a gateway that need not answer). Proxy ARP only answers for
    // 169.254.1.1 when the host has a route to it through another interface, as every real host does.
    await nsA.ip(['route', 'add', 'default', 'via', '198.18.0.254', 'dev', 'eth0']);
    await nsB.ip(['route', 'add', 'default', 'via', '198.18.0.254', 'dev', 'eth0']);
    const a = await makeNode(
      nsA,
      { name: 'a', ipv4Address: '198.18.0.1/24', uplink: 'eth0' },
      { name: 'a', ipv4Address: '198.18.0.1/24' },
    );
    const b = await makeNode(
      nsB,
      { name: 'b', ipv4Address: '198.18.0.2/24', uplink: 'eth0' },
      { name: 'b', ipv4Address: '198.18.0.2/24' },
    );
    tables.push(a.table, b.table);
    const podA = await makePod(lab, nsA, 'p1a', '198.19.1.2');
    const podB = await makePod(lab, nsB, 'p1b', '198.19.2.2');
    feed([a, b], { cidr: '198.19.0.0/16', ipipMode: 'Never', vxlanMode: 'Never' }, [
      { ifname: podA.ifname, ip: '198.19.1.2' },
      { ifname: podB.ifname, ip: '198.19.2.2' },
    ]);
    // Without the programmed routes, nothing gets through (tried from the node: a failed ARP
    // for 169.254.1.1 inside the pod would delay the real test).
    expect(await canPing(nsA, '198.19.2.2')).toBe(false);
    for (const n of [a, b]) {
      n.dp.markInSync();
      expect(await n.dp.apply()).toMatchObject({ failed: 0 });
    }
    const routes = (await nsA.ip(['route', 'show'])).stdout;
    expect(routes).toContain('198.19.2.0/26 via 198.18.0.2 dev eth0 proto 80 onlink');
    expect(routes).toContain('blackhole 198.19.1.0/26 proto 80');
    expect(routes).toContain(`198.19.1.2 dev ${podA.ifname} proto 80 scope link`);
    expect(await canPing(podA.ns, '198.19.2.2')).toBe(true);
    expect(await canPing(podB.ns, '198.19.1.2')).toBe(true);
    const mac = (await nsA.ip(['-json', 'link', 'show', podA.ifname])).stdout;
    expect(JSON.parse(mac)[0].address).toBe('ee:ee:ee:ee:ee:ee');
    const proxyArp = await nsA.exec(['sysctl', '-n', `net.ipv4.conf.${podA.ifname}.proxy_arp`]);
    expect(proxyArp.stdout.trim()).toBe('1');
  });

  it('VXLAN CrossSubnet: nodes on different subnets joined by a router', async () => {
    const router = await lab.netns('n2r');
    const nsA = await lab.netns('n2a');
    const nsB = await lab.netns('n2b');
    await lab.link(nsA, 'eth0', '198.18.1.10/24', router, 'r1', '198.18.1.1/24');
    await lab.link(nsB, 'eth0', '198.18.2.10/24', router, 'r2', '198.18.2.1/24');
    await router.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    await nsA.ip(['route', 'add', 'default', 'via', '198.18.1.1']);
    await nsB.ip(['route', 'add', 'default', 'via', '198.18.2.1']);
    const a = await makeNode(
      nsA,
      {
        name: 'a',
        ipv4Address: '198.18.1.10/24',
        uplink: 'eth0',
        vxlanTunnelAddress: '198.19.1.1',
        vxlanTunnelMac: '66:00:00:00:01:01',
      },
      {
        name: 'a',
        ipv4Address: '198.18.1.10/24',
        vxlanTunnelAddress: '198.19.1.1',
        vxlanTunnelMac: '66:00:00:00:01:01',
      },
    );
    const b = await makeNode(
      nsB,
      {
        name: 'b',
        ipv4Address: '198.18.2.10/24',
        uplink: 'eth0',
        vxlanTunnelAddress: '198.19.2.1',
        vxlanTunnelMac: '66:00:00:00:02:01',
      },
      {
        name: 'b',
        ipv4Address: '198.18.2.10/24',
        vxlanTunnelAddress: '198.19.2.1',
        vxlanTunnelMac: '66:00:00:00:02:01',
      },
    );
    tables.push(a.table, b.table);
    const podA = await makePod(lab, nsA, 'p2a', '198.19.1.2');
    const podB = await makePod(lab, nsB, 'p2b', '198.19.2.2');
    feed([a, b], { cidr: '198.19.0.0/16', ipipMode: 'Never', vxlanMode: 'CrossSubnet' }, [
      { ifname: podA.ifname, ip: '198.19.1.2' },
      { ifname: podB.ifname, ip: '198.19.2.2' },
    ]);
    for (const n of [a, b]) {
      n.dp.markInSync();
      expect(await n.dp.apply()).toMatchObject({ failed: 0 });
    }
    const routes = (await nsA.ip(['route', 'show'])).stdout;
    expect(routes).toContain('198.19.2.0/26 via 198.19.2.1 dev vxlan.tabby proto 80 onlink');
    const dev = JSON.parse((await nsA.ip(['-d', '-json', 'link', 'show', 'vxlan.tabby'])).stdout)[0];
    expect(dev.linkinfo.info_data).toMatchObject({ id: 4096, port: 4789, local: '198.18.1.10' });
    expect(dev.mtu).toBe(1450);
    expect((await nsA.ip(['neigh', 'show', 'dev', 'vxlan.tabby'])).stdout).toContain(
      '198.19.2.1 lladdr 66:00:00:00:02:01 PERMANENT',
    );
    expect((await nsA.exec(['bridge', 'fdb', 'show', 'dev', 'vxlan.tabby'])).stdout).toContain(
      '66:00:00:00:02:01 dst 198.18.2.10 self permanent',
    );
    // The router knows nothing of pod addresses: only encapsulated traffic can cross it.
    expect((await router.ip(['route', 'show'])).stdout).not.toContain('198.19.');
    expect(await canPing(podA.ns, '198.19.2.2')).toBe(true);
    expect(await canPing(podB.ns, '198.19.1.2')).toBe(true);
    // A second apply changes nothing (read-back finds the state already right; the device stays).
    a.table.requestResync();
    expect(await a.dp.apply()).toMatchObject({ replaced: 0, deleted: 0, failed: 0 });
    const again = JSON.parse((await nsA.ip(['-d', '-json', 'link', 'show', 'vxlan.tabby'])).stdout)[0];
    expect(again.ifindex).toBe(dev.ifindex);
    // Node b leaves: its block route, neighbour and FDB entries go; traffic stops.
    a.dp.removeRemoteNode('b');
    a.dp.removeBlock('198.19.2.0/26');
    expect(await a.dp.apply()).toMatchObject({ deleted: 1, failed: 0 });
    expect((await nsA.ip(['route', 'show'])).stdout).not.toContain('198.19.2.0/26');
    expect((await nsA.ip(['neigh', 'show', 'dev', 'vxlan.tabby'])).stdout).not.toContain('198.19.2.1');
    expect((await nsA.exec(['bridge', 'fdb', 'show', 'dev', 'vxlan.tabby'])).stdout).not.toContain('66:00:00:00:02:01');
    expect(await canPing(podA.ns, '198.19.2.2')).toBe(false);
  });
});
