import { describe, expect, it } from 'vitest';
import { MemoryDatastore } from '../backends/memory.js';
import { ResourceStore } from '../resources/store.js';
import { collect } from '../testing/compliance.js';
import { createFlatKvView } from './view.js';

const r = (kind: string, name: string, spec: unknown, labels?: Record<string, string>) => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name, ...(labels ? { labels } : {}) },
  spec,
});

async function cluster() {
  const ds = new MemoryDatastore();
  const rs = new ResourceStore(ds);
  await rs.apply(r('Node', 'node-a', { bgp: { ipv4Address: '10.192.0.2/16' } }, { rack: 'r1' }));
  await rs.apply(r('Node', 'node-b', { bgp: { ipv4Address: '10.192.0.3/16', asNumber: 65002 } }, { rack: 'r2' }));
  await rs.apply(
    r('Node', 'rr', { bgp: { ipv4Address: '10.192.0.9/16', routeReflectorClusterID: '224.0.0.1' } }, { rr: 'true' }),
  );
  await rs.apply(r('BGPConfiguration', 'default', { nodeToNodeMeshEnabled: false, asNumber: 65000 }));
  await rs.apply(r('BGPPeer', 'tor', { peerIP: '172.19.0.1', asNumber: 64600 }));
  await rs.apply(r('BGPPeer', 'rack1', { nodeSelector: "rack == 'r1'", peerIP: '172.19.4.87:1179', asNumber: 64601 }));
  await rs.apply(r('BGPPeer', 'to-rr', { nodeSelector: '!has(rr)', peerSelector: 'has(rr)' }));
  await rs.apply(r('IPPool', 'pool', { cidr: '198.18.0.0/16', ipipMode: 'CrossSubnet', natOutgoing: true }));
  return { ds, rs };
}

describe('flat key/value view for confd', () => {
  it('derives Calico’s keys from the resources', async () => {
    const { ds } = await cluster();
    const view = createFlatKvView(ds);
    const all = new Map((await view.list('/calico/')).map((e) => [e.key, e.value]));
    expect(all.get('/calico/bgp/v1/global/as_num')).toBe('65000');
    expect(all.get('/calico/bgp/v1/global/node_mesh')).toBe('{"enabled":false}');
    expect(all.get('/calico/bgp/v1/global/listen_port')).toBe('179');
    expect(all.get('/calico/bgp/v1/global/loglevel')).toBe('info');
    expect(JSON.parse(all.get('/calico/bgp/v1/global/peer_v4/172.19.0.1') ?? '{}')).toMatchObject({
      ip: '172.19.0.1',
      as_num: '64600',
    });
    expect(all.get('/calico/bgp/v1/host/node-a/ip_addr_v4')).toBe('10.192.0.2');
    expect(all.get('/calico/bgp/v1/host/node-a/ip_addr_v6')).toBe('');
    expect(all.get('/calico/bgp/v1/host/node-a/network_v4')).toBe('10.192.0.0/16');
    expect(all.get('/calico/bgp/v1/host/node-a/rr_cluster_id')).toBe('');
    expect(all.has('/calico/bgp/v1/host/node-a/as_num')).toBe(false);
    expect(all.get('/calico/bgp/v1/host/node-b/as_num')).toBe('65002');
    expect(all.get('/calico/bgp/v1/host/rr/rr_cluster_id')).toBe('224.0.0.1');
    expect(JSON.parse(all.get('/calico/bgp/v1/host/node-a/peer_v4/172.19.4.87-1179') ?? '{}')).toMatchObject({
      port: 1179,
      as_num: '64601',
    });
    expect(all.has('/calico/bgp/v1/host/node-b/peer_v4/172.19.4.87-1179')).toBe(false);
    // peerSelector: both non-RR nodes peer with the RR, with the RR's AS (the global one).
    expect(JSON.parse(all.get('/calico/bgp/v1/host/node-a/peer_v4/10.192.0.9') ?? '{}')).toMatchObject({
      as_num: '65000',
    });
    expect(all.has('/calico/bgp/v1/host/node-b/peer_v4/10.192.0.9')).toBe(true);
    expect(all.has('/calico/bgp/v1/host/rr/peer_v4/10.192.0.9')).toBe(false);
    expect(JSON.parse(all.get('/calico/v1/ipam/v4/pool/198.18.0.0-16') ?? '{}')).toMatchObject({
      cidr: '198.18.0.0/16',
      ipip: 'tunl0',
      ipip_mode: 'cross-subnet',
      masquerade: true,
    });
    expect(await view.get('/calico/bgp/v1/global/as_num')).toBe('65000');
  });

  it('is watchable: the view, in-sync, then changes on flat keys', async () => {
    const { ds, rs } = await cluster();
    const w = createFlatKvView(ds).watch('/calico/bgp/v1/global/');
    try {
      const first = await collect(w, (e) => e.some((x) => x.type === 'in-sync'));
      expect(first.filter((e) => e.type === 'added').map((e) => (e as { key: string }).key)).toContain(
        '/calico/bgp/v1/global/peer_v4/172.19.0.1',
      );
      await rs.apply(r('BGPConfiguration', 'default', { nodeToNodeMeshEnabled: true, asNumber: 65000 }));
      await rs.delete('BGPPeer', 'tor');
      const evs = await collect(w, (e) => e.length >= 2);
      expect(evs).toEqual([
        expect.objectContaining({ type: 'updated', key: '/calico/bgp/v1/global/node_mesh', value: '{"enabled":true}' }),
        expect.objectContaining({ type: 'deleted', key: '/calico/bgp/v1/global/peer_v4/172.19.0.1' }),
      ]);
    } finally {
      w.close();
    }
  });
});

describe('flat view: BGPFilters and service advertisement', () => {
  it('gives each BGPFilter’s rules per family, with Calico’s function name and prefix lengths', async () => {
    const { ds, rs } = await cluster();
    await rs.apply(
      r('BGPFilter', 'tor-out', {
        exportV4: [
          {
            action: 'Accept',
            matchOperator: 'In',
            cidr: '198.18.0.0/16',
            prefixLength: { min: 24 },
            source: 'RemotePeers',
          },
          { action: 'Reject', interface: 'eth*' },
        ],
        importV4: [{ action: 'Reject', matchOperator: 'NotEqual', cidr: '0.0.0.0/0' }],
      }),
    );
    await rs.apply(
      r('BGPFilter', 'a-very-long-bgp-filter-name-for-the-top-of-rack-routers', { importV6: [{ action: 'Reject' }] }),
    );
    await rs.apply(
      r('BGPPeer', 'tor', {
        peerIP: '172.19.0.1',
        asNumber: 64600,
        filters: ['tor-out', 'missing'],
        keepaliveTime: '1m',
      }),
    );
    const all = new Map((await createFlatKvView(ds).list('/calico/')).map((e) => [e.key, e.value]));
    expect(JSON.parse(all.get('/calico/bgp/v1/global/filter_v4/tor-out')!)).toEqual({
      function: 'bgp_tor-out',
      import: [{ action: 'reject', cidr: '0.0.0.0/0', operator: 'NotEqual' }],
      export: [
        { action: 'accept', cidr: '198.18.0.0/16', operator: 'In', min: 24, max: 32, source: 'RemotePeers' },
        { action: 'reject', interface: 'eth*' },
      ],
    });
    expect(all.has('/calico/bgp/v1/global/filter_v6/tor-out')).toBe(false);
    expect(
      JSON.parse(all.get('/calico/bgp/v1/global/filter_v6/a-very-long-bgp-filter-name-for-the-top-of-rack-routers')!),
    ).toEqual({
      function: 'bgp_a-very-long-bgp-filter-name-_665327A11CB7BF0A',
      import: [{ action: 'reject' }],
      export: [],
    });
    expect(JSON.parse(all.get('/calico/bgp/v1/global/peer_v4/172.19.0.1')!)).toMatchObject({
      filters: ['tor-out', 'missing'],
      keepalive_time: '60',
    });
  });

  it('advertises the service ranges from every node but excluded ones, and keeps them out of the kernel', async () => {
    const { ds, rs } = await cluster();
    await rs.apply(
      r('BGPConfiguration', 'default', {
        asNumber: 65000,
        serviceClusterIPs: [{ cidr: '198.18.128.0/20' }, { cidr: 'fd00:96::/112' }],
        serviceExternalIPs: [{ cidr: '198.19.200.0/24' }, { cidr: '198.19.201.7/32' }],
        serviceLoadBalancerIPs: [{ cidr: '198.19.202.0/26' }],
      }),
    );
    await rs.apply(
      r(
        'Node',
        'node-b',
        { bgp: { ipv4Address: '10.192.0.3/16', asNumber: 65002 } },
        {
          'node.kubernetes.io/exclude-from-external-load-balancers': 'true',
        },
      ),
    );
    const all = new Map((await createFlatKvView(ds).list('/calico/')).map((e) => [e.key, e.value]));
    const keys = (prefix: string) => [...all.keys()].filter((k) => k.startsWith(prefix));
    expect(keys('/calico/staticroutes/')).toEqual([
      '/calico/staticroutes/198.18.128.0-20',
      '/calico/staticroutes/198.19.200.0-24',
      '/calico/staticroutes/198.19.202.0-26',
    ]);
    expect(all.get('/calico/staticroutesv6/fd00:96::-112')).toBe('fd00:96::/112');
    expect(keys('/calico/rejectcidrs/')).toEqual(
      keys('/calico/staticroutes/').map((k) => k.replace('staticroutes', 'rejectcidrs')),
    );
    expect(all.get('/calico/rejectcidrsv6/fd00:96::-112')).toBe('fd00:96::/112');
    expect(all.get('/calico/bgp/v1/host/node-b/exclude_services')).toBe('true');
    expect(all.has('/calico/bgp/v1/host/node-a/exclude_services')).toBe(false);
  });

  it('a CalicoNodeStatus or IPReservation change does not touch the view', async () => {
    const { ds, rs } = await cluster();
    const w = createFlatKvView(ds).watch('/calico/');
    try {
      await collect(w, (e) => e.some((x) => x.type === 'in-sync'));
      await rs.apply(r('CalicoNodeStatus', 's', { node: 'node-a', classes: ['BGP'], updatePeriodSeconds: 1 }));
      await rs.updateStatus('CalicoNodeStatus', 's', { lastUpdated: '2026-01-01T00:00:00Z' });
      await rs.apply(r('IPReservation', 'res', { reservedCIDRs: ['198.18.0.1'] }));
      await rs.apply(r('BGPPeer', 'late', { peerIP: '172.19.0.9', asNumber: 64600 }));
      const evs = await collect(w, (e) => e.length >= 1);
      expect(evs).toEqual([
        expect.objectContaining({ type: 'added', key: '/calico/bgp/v1/global/peer_v4/172.19.0.9' }),
      ]);
    } finally {
      w.close();
    }
  });
});
