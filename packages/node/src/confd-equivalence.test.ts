import {
  type BGPConfigurationResource,
  type BGPPeerResource,
  effectiveBGPConfiguration,
  type IPPoolResource,
  type NodeResource,
} from '@tabby/datastore';
import { describe, expect, it } from 'vitest';
import { computePeerings, nodeAddress } from './peering.js';
import { SpeakerConfigRenderer } from './speaker-config.js';
import { node, peer } from './test-support.js';

// The node agent renders its speaker config through confd (the flat key view and the shipped
// bgpd.yaml template) and computes the peerings from Calico's rules (peering.ts) for status and
// as a check. Both must give every node the same sessions, for every topology.

const bgpConfig = (spec: BGPConfigurationResource['spec']) =>
  ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec,
  }) as BGPConfigurationResource;
const pool = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name: 'pods' },
  spec: { cidr: '198.19.0.0/16', blockSize: 26 },
} as IPPoolResource;

interface Cluster {
  nodes: NodeResource[];
  peers: BGPPeerResource[];
  config: BGPConfigurationResource;
  /** Nodes with a port of their own (BGPConfiguration node.<name>). */
  ports?: Record<string, number>;
}

const nodeConfigs = (c: Cluster) =>
  Object.entries(c.ports ?? {}).map(
    ([n, listenPort]) =>
      ({
        apiVersion: 'projectcalico.org/v3',
        kind: 'BGPConfiguration',
        metadata: { name: `node.${n}` },
        spec: { listenPort },
      }) as BGPConfigurationResource,
  );

function rendered(c: Cluster, self: string) {
  const { config } = new SpeakerConfigRenderer({ nodeName: self }).render({
    nodes: c.nodes,
    bgpConfigurations: [c.config, ...nodeConfigs(c)],
    bgpPeers: c.peers,
    ipPools: [pool],
    affinities: [],
  });
  return new Map(
    config.peers.map((p) => [
      p.name,
      {
        type: p.description,
        address: p.address,
        port: p.port,
        asn: p.asn,
        passive: p.passive,
        routeReflectorClient: p.routeReflectorClient,
        gracefulRestart: p.gracefulRestart,
        keepNextHop: p.nextHop === 'keep',
        family: p.families.includes('ipv6-unicast') ? 6 : 4,
        localAddress: p.localAddress,
      },
    ]),
  );
}

function computed(c: Cluster, self: string) {
  const bgp = effectiveBGPConfiguration(c.config.spec);
  const me = c.nodes.find((n) => n.metadata.name === self)!;
  return new Map(
    computePeerings(
      { nodes: c.nodes, peers: c.peers, bgp, listenPorts: new Map(Object.entries(c.ports ?? {})) },
      self,
    ).map((p) => [
      p.name,
      {
        type: p.peerIsReflector ? 'route reflector' : p.type,
        address: p.address,
        port: p.port,
        asn: p.asn,
        passive: p.passive,
        routeReflectorClient: p.routeReflectorClient,
        gracefulRestart: p.gracefulRestart,
        keepNextHop: p.keepNextHop,
        family: p.family,
        localAddress: nodeAddress(me, p.family),
      },
    ]),
  );
}

const clusters: Record<string, Cluster> = {
  'mesh, dual stack': {
    nodes: [
      node('a', '198.18.0.1', { v6: '2001:db8::1' }),
      node('b', '198.18.0.2', { v6: '2001:db8::2' }),
      node('c', '198.18.0.10'),
    ],
    peers: [],
    config: bgpConfig({}),
  },
  'mesh with graceful restart off and a ToR peer': {
    nodes: [node('a', '198.18.0.1', { labels: { rack: 'r1' } }), node('b', '198.18.0.2', { labels: { rack: 'r2' } })],
    peers: [
      peer('tor', { peerIP: '198.18.0.254', asNumber: 65001, maxRestartTime: '0s' }),
      peer('tor-r1', { nodeSelector: "rack == 'r1'", peerIP: '198.18.0.254', asNumber: 65001 }),
      peer('b-only', { node: 'b', peerIP: '198.18.0.253:1790', asNumber: 65002, keepOriginalNextHop: true }),
    ],
    config: bgpConfig({ nodeMeshMaxRestartTime: '0s' }),
  },
  'route reflectors with distinct cluster IDs, mesh off': {
    nodes: [
      node('a', '198.18.0.1'),
      node('b', '198.18.0.2'),
      node('rr1', '198.18.0.8', { cluster: '1.0.0.1', labels: { 'route-reflector': 'true' } }),
      node('rr2', '198.18.0.9', { cluster: '1.0.0.2', labels: { 'route-reflector': 'true' } }),
    ],
    peers: [peer('peer-with-rrs', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" })],
    config: bgpConfig({ nodeToNodeMeshEnabled: false }),
  },
  'route reflectors on a cluster port, one node on its own port': {
    nodes: [
      node('a', '198.18.0.1'),
      node('b', '198.18.0.2'),
      node('rr1', '198.18.0.8', { cluster: '1.0.0.1', labels: { 'route-reflector': 'true' } }),
    ],
    peers: [peer('peer-with-rrs', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" })],
    config: bgpConfig({ listenPort: 17379 }),
    ports: { b: 17400 },
  },
  'route reflectors sharing a cluster ID, mesh on': {
    nodes: [
      node('a', '198.18.0.1'),
      node('b', '198.18.0.2'),
      node('rr1', '198.18.0.8', { cluster: '1.0.0.1', labels: { rr: 'y' } }),
      node('rr2', '198.18.0.9', { cluster: '1.0.0.1', labels: { rr: 'y' } }),
    ],
    peers: [
      peer('to-rrs', { nodeSelector: '!has(rr)', peerSelector: 'has(rr)' }),
      peer('rrs', { peerSelector: 'has(rr)' }),
    ],
    config: bgpConfig({}),
  },
  'next hop: keepOriginalNextHop towards eBGP only, nextHopMode wins': {
    nodes: [node('a', '198.18.0.1'), node('b', '198.18.0.2', { asn: 65020, labels: { edge: 'y' } })],
    peers: [
      peer('ibgp-keep', { peerIP: '198.18.0.250', asNumber: 64512, keepOriginalNextHop: true }),
      peer('ebgp-keep', { peerIP: '198.18.0.251', asNumber: 65001, keepOriginalNextHop: true }),
      peer('mode-auto', { peerIP: '198.18.0.252', asNumber: 65002, keepOriginalNextHop: true, nextHopMode: 'Auto' }),
      peer('mode-keep', { peerIP: '198.18.0.253', asNumber: 64512, nextHopMode: 'Keep' }),
      peer('local-as', { peerIP: '198.18.0.249', asNumber: 64512, localASNumber: 65100, keepOriginalNextHop: true }),
      peer('to-edge', { node: 'a', peerSelector: 'has(edge)', keepOriginalNextHop: true }),
    ],
    config: bgpConfig({ nodeToNodeMeshEnabled: false }),
  },
  'eBGP per node, manual reverse peering': {
    nodes: [node('a', '198.18.0.1', { asn: 65010 }), node('b', '198.18.0.2', { asn: 65020, labels: { edge: 'y' } })],
    peers: [peer('to-edge', { node: 'a', peerSelector: 'has(edge)', reversePeering: 'Manual' })],
    config: bgpConfig({ nodeToNodeMeshEnabled: false }),
  },
};

describe('sessions: Calico rules (peering.ts) = confd rendering (bgpd.yaml.template)', () => {
  for (const [name, c] of Object.entries(clusters)) {
    it.each(c.nodes.map((n) => n.metadata.name))(`${name}: node %s`, (self) => {
      expect(rendered(c, self)).toEqual(computed(c, self));
    });
  }
});
