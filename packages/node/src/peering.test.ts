import { effectiveBGPConfiguration } from '@tabby/datastore';
import { describe, expect, it } from 'vitest';
import { computePeerings, type Peering } from './peering.js';
import { node, peer } from './test-support.js';

const brief = (ps: Peering[]) =>
  ps.map(
    (p) => `${p.name} ${p.type} as${p.asn}${p.passive ? ' passive' : ''}${p.routeReflectorClient ? ' rr-client' : ''}`,
  );

describe('computePeerings: Calico rules', () => {
  const mesh = effectiveBGPConfiguration(undefined);
  const noMesh = effectiveBGPConfiguration({ nodeToNodeMeshEnabled: false });

  it('meshes every node with every other, the higher address passive, per family', () => {
    const nodes = [
      node('a', '198.18.0.1', { v6: '2001:db8::1' }),
      node('b', '198.18.0.2', { v6: '2001:db8::2' }),
      node('c', '198.18.0.3'),
    ];
    expect(brief(computePeerings({ nodes, peers: [], bgp: mesh }, 'b'))).toEqual([
      'Mesh_198_18_0_1 node-to-node mesh as64512 passive',
      'Mesh_198_18_0_3 node-to-node mesh as64512',
      'Mesh_2001_db8__1 node-to-node mesh as64512 passive',
    ]);
  });

  it('keeps route reflectors out of the mesh on both sides', () => {
    const nodes = [node('a', '198.18.0.1'), node('b', '198.18.0.2'), node('rr', '198.18.0.9', { cluster: '1.0.0.1' })];
    expect(brief(computePeerings({ nodes, peers: [], bgp: mesh }, 'a'))).toEqual([
      'Mesh_198_18_0_2 node-to-node mesh as64512',
    ]);
    expect(computePeerings({ nodes, peers: [], bgp: mesh }, 'rr')).toEqual([]);
  });

  it('reflector topology: global peerSelector peering, reverse peerings, clients by cluster ID', () => {
    const nodes = [
      node('a', '198.18.0.1'),
      node('b', '198.18.0.2'),
      node('rr1', '198.18.0.8', { cluster: '1.0.0.1', labels: { 'route-reflector': 'true' } }),
      node('rr2', '198.18.0.9', { cluster: '1.0.0.2', labels: { 'route-reflector': 'true' } }),
    ];
    const peers = [peer('peer-with-rrs', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" })];
    expect(brief(computePeerings({ nodes, peers, bgp: noMesh }, 'a'))).toEqual([
      'Node_198_18_0_8 node specific as64512',
      'Node_198_18_0_9 node specific as64512',
    ]);
    // rr1 peers with rr2 (selected) and, by reverse peering, with every node: all clients, since
    // none shares its cluster ID (distinct IDs make reflectors clients of each other).
    expect(brief(computePeerings({ nodes, peers, bgp: noMesh }, 'rr1'))).toEqual([
      'Node_198_18_0_9 node specific as64512 rr-client',
      'Node_198_18_0_1 node specific as64512 passive rr-client',
      'Node_198_18_0_2 node specific as64512 passive rr-client',
    ]);
  });

  it('reflectors sharing a cluster ID are not clients of each other', () => {
    const nodes = [
      node('rr1', '198.18.0.8', { cluster: '1.0.0.1', labels: { rr: 'y' } }),
      node('rr2', '198.18.0.9', { cluster: '1.0.0.1', labels: { rr: 'y' } }),
    ];
    const peers = [peer('rrs', { peerSelector: 'has(rr)' })];
    expect(brief(computePeerings({ nodes, peers, bgp: noMesh }, 'rr1'))).toEqual([
      'Node_198_18_0_9 node specific as64512',
    ]);
  });

  it('global peers to an IP, node-specific peers by name and selector, a duplicate of a global skipped', () => {
    const nodes = [
      node('a', '198.18.0.1', { labels: { rack: 'r1' } }),
      node('b', '198.18.0.2', { labels: { rack: 'r2' } }),
    ];
    const peers = [
      peer('tor-r1', { nodeSelector: "rack == 'r1'", peerIP: '198.18.0.254', asNumber: 65001 }),
      peer('tor-all', { peerIP: '198.18.0.254', asNumber: 65001 }),
      peer('b-only', { node: 'b', peerIP: '198.18.0.253:1790', asNumber: 65002 }),
    ];
    expect(brief(computePeerings({ nodes, peers, bgp: mesh }, 'a'))).toEqual([
      'Global_198_18_0_254 global as65001',
      'Mesh_198_18_0_2 node-to-node mesh as64512',
    ]);
    expect(brief(computePeerings({ nodes, peers, bgp: mesh }, 'b'))).toEqual([
      'Global_198_18_0_254 global as65001',
      'Node_198_18_0_253_port_1790 node specific as65002',
      'Mesh_198_18_0_1 node-to-node mesh as64512 passive',
    ]);
  });

  it('uses the remote node AS for peerSelector peerings and honours reversePeering: Manual', () => {
    const nodes = [
      node('a', '198.18.0.1', { asn: 65010 }),
      node('b', '198.18.0.2', { asn: 65020, labels: { edge: 'y' } }),
    ];
    const peers = [peer('to-edge', { node: 'a', peerSelector: 'has(edge)', reversePeering: 'Manual' })];
    expect(brief(computePeerings({ nodes, peers, bgp: noMesh }, 'a'))).toEqual([
      'Node_198_18_0_2 node specific as65020',
    ]);
    expect(computePeerings({ nodes, peers, bgp: noMesh }, 'b')).toEqual([]);
  });

  it('turns graceful restart off where the restart time is 0 (mesh, or one BGPPeer), and only there', () => {
    const nodes = [node('a', '198.18.0.1'), node('b', '198.18.0.2'), node('c', '198.18.0.3', { labels: { tor: 'y' } })];
    const peers = [
      peer('tor-fast', { peerIP: '198.18.0.250', asNumber: 65000, maxRestartTime: '0s' }),
      peer('tor-slow', { peerIP: '198.18.0.251', asNumber: 65000, maxRestartTime: '5m' }),
      peer('to-c', { node: 'a', peerSelector: 'has(tor)', maxRestartTime: '0s' }),
    ];
    const gr = (bgp: ReturnType<typeof effectiveBGPConfiguration>, self: string) =>
      Object.fromEntries(computePeerings({ nodes, peers, bgp }, self).map((p) => [p.name, p.gracefulRestart]));
    expect(gr(mesh, 'a')).toEqual({
      Global_198_18_0_250: false,
      Global_198_18_0_251: true,
      Node_198_18_0_3: false,
      Mesh_198_18_0_2: true,
    });
    // The reverse side of the peerSelector peering follows the same BGPPeer.
    expect(gr(mesh, 'c')).toMatchObject({ Node_198_18_0_1: false, Mesh_198_18_0_2: true });
    const noGr = effectiveBGPConfiguration({ nodeMeshMaxRestartTime: '0s' });
    expect(gr(noGr, 'a')).toEqual({
      Global_198_18_0_250: false,
      Global_198_18_0_251: true,
      Node_198_18_0_3: false,
      Mesh_198_18_0_2: false,
    });
  });
});
