import { readFileSync } from 'node:fs';
import { parseConfig, type SpeakerConfig } from '@tabby/bgp';
import { BGPD_TEMPLATE_PATH, ConfdTemplate } from '@tabby/confd';
import {
  type BGPConfigurationResource,
  type BGPPeerResource,
  computeFlatView,
  effectiveBGPConfiguration,
  type IPPoolResource,
  type NodeResource,
} from '@tabby/datastore';
import { describe, expect, it } from 'vitest';
import { computePeerings, nodeAs } from './peering.js';
import { buildSpeakerConfig } from './speaker-config.js';

// The node agent computes its peerings in TypeScript (peering.ts); operators who run the speaker
// from `tabby confd` get them from the shipped bgpd.yaml template and the flat key view. Both
// must give every node the same sessions, for every topology.

function node(
  name: string,
  ip: string,
  extra: { labels?: Record<string, string>; cluster?: string; asn?: number; v6?: string } = {},
): NodeResource {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: {
      bgp: {
        ipv4Address: `${ip}/24`,
        ...(extra.v6 ? { ipv6Address: `${extra.v6}/64` } : {}),
        ...(extra.cluster ? { routeReflectorClusterID: extra.cluster } : {}),
        ...(extra.asn ? { asNumber: extra.asn } : {}),
      },
    },
  } as NodeResource;
}
const peer = (name: string, spec: BGPPeerResource['spec']) =>
  ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec }) as BGPPeerResource;
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
}

const TEMPLATE = readFileSync(BGPD_TEMPLATE_PATH, 'utf8');

function fromTemplate(c: Cluster, self: string): SpeakerConfig {
  const kv = computeFlatView({
    nodes: c.nodes,
    bgpConfigurations: [c.config],
    bgpPeers: c.peers,
    ipPools: [pool],
    affinities: [],
  });
  const yaml = new ConfdTemplate(TEMPLATE, 'bgpd.yaml.template', { NODENAME: self }).render(
    [...kv].map(([key, value]) => ({ key, value })),
    '/calico',
  );
  return parseConfig(yaml, `bgpd.yaml for ${self}`);
}

function fromAgent(c: Cluster, self: string): SpeakerConfig {
  const bgp = effectiveBGPConfiguration(c.config.spec);
  const me = c.nodes.find((n) => n.metadata.name === self)!;
  return buildSpeakerConfig({
    node: me,
    asn: nodeAs(me, bgp),
    peerings: computePeerings({ nodes: c.nodes, peers: c.peers, bgp }, self),
    pools: [pool],
    blocks: [],
    bgpSpec: c.config.spec,
    listenPort: bgp.listenPort,
    restartTime: bgp.nodeMeshRestartSeconds,
  });
}

/** What makes a session: everything of a peer that the two sources must agree on. */
function sessions(cfg: SpeakerConfig) {
  return new Map(
    cfg.peers.map((p) => [
      p.name,
      {
        address: p.address,
        port: p.port,
        asn: p.asn,
        localAsn: p.localAsn,
        passive: p.passive,
        routeReflectorClient: p.routeReflectorClient,
        gracefulRestart: p.gracefulRestart,
        nextHop: p.nextHop,
        families: p.families,
        localAddress: p.localAddress,
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
  'eBGP per node, manual reverse peering': {
    nodes: [node('a', '198.18.0.1', { asn: 65010 }), node('b', '198.18.0.2', { asn: 65020, labels: { edge: 'y' } })],
    peers: [peer('to-edge', { node: 'a', peerSelector: 'has(edge)', reversePeering: 'Manual' })],
    config: bgpConfig({ nodeToNodeMeshEnabled: false }),
  },
};

describe('speaker config: node agent (peering.ts) = confd template (bgpd.yaml.template)', () => {
  for (const [name, c] of Object.entries(clusters)) {
    it.each(c.nodes.map((n) => n.metadata.name))(`${name}: node %s`, (self) => {
      const agent = fromAgent(c, self);
      const template = fromTemplate(c, self);
      expect(sessions(template)).toEqual(sessions(agent));
      expect(template.gracefulRestart).toEqual(agent.gracefulRestart);
      expect(template.clusterId).toEqual(agent.clusterId);
    });
  }
});
