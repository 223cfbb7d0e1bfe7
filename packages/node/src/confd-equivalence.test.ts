import { readFileSync } from 'node:fs';
import { BIRD_TEMPLATE_PATH, ConfdTemplate } from '@tabby/confd';
import {
  type BGPConfigurationResource,
  type BGPFilterResource,
  type BGPPeerResource,
  computeFlatView,
  effectiveBGPConfiguration,
  type IPPoolResource,
  type NodeResource,
  serviceRouteCidrs,
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

// BGPFilters and service ranges: for every node, the speaker template and the BIRD template give
// each session the same filters in the same order (the speaker's policies are named after BIRD's
// functions), originate and export the same service ranges, and keep the same ranges out of the
// FIB (BIRD's kernel filter; the agent's serviceRouteCidrs).

const bgpFilter = (name: string, spec: BGPFilterResource['spec']) =>
  ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPFilter', metadata: { name }, spec }) as BGPFilterResource;
const filters = [
  bgpFilter('tor-out', {
    exportV4: [
      { action: 'Reject', matchOperator: 'In', cidr: '198.19.0.0/26' },
      {
        action: 'Accept',
        matchOperator: 'In',
        cidr: '198.20.0.0/16',
        prefixLength: { min: 24 },
        source: 'RemotePeers',
      },
      { action: 'Reject', interface: 'eth9*' },
    ],
  }),
  bgpFilter('tor-in', {
    importV4: [
      { action: 'Accept', matchOperator: 'Equal', cidr: '0.0.0.0/0' },
      { action: 'Reject', matchOperator: 'NotIn', cidr: '198.21.0.0/16', prefixLength: { max: 28 } },
    ],
  }),
  bgpFilter('v6', {
    exportV6: [{ action: 'Reject', matchOperator: 'NotEqual', cidr: '2001:db8:19::/48' }],
    importV6: [{ action: 'Reject', source: 'RemotePeers' }],
  }),
];
const services = {
  serviceClusterIPs: [{ cidr: '198.18.96.0/20' }, { cidr: 'fd00:96::/112' }],
  serviceExternalIPs: [{ cidr: '198.18.112.0/24' }, { cidr: '198.18.113.7/32' }],
  serviceLoadBalancerIPs: [{ cidr: '198.18.114.0/26' }],
};
const exclude = { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' };

const routingClusters: Record<string, Cluster> = {
  'mesh, dual stack, filters on global and node peers, one node excluded from services': {
    nodes: [
      node('a', '198.18.0.1', { v6: '2001:db8::1' }),
      node('b', '198.18.0.2', { v6: '2001:db8::2', labels: exclude }),
      node('c', '198.18.0.3'),
    ],
    peers: [
      peer('tor', { peerIP: '198.18.0.254', asNumber: 65001, filters: ['tor-out', 'missing', 'tor-in'] }),
      peer('tor6', { peerIP: '[2001:db8::fe]:179', asNumber: 65001, filters: ['v6', 'tor-out'] }),
      peer('b-only', { node: 'b', peerIP: '198.18.0.253', asNumber: 65002, filters: ['tor-in', 'v6'] }),
    ],
    config: bgpConfig(services),
  },
  'route reflectors (one excluded) with filters towards them': {
    nodes: [
      node('a', '198.18.0.1'),
      node('b', '198.18.0.2'),
      node('rr1', '198.18.0.8', { cluster: '1.0.0.1', labels: { rr: 'y', ...exclude } }),
      node('rr2', '198.18.0.9', { cluster: '1.0.0.1', labels: { rr: 'y' } }),
    ],
    peers: [peer('to-rrs', { nodeSelector: '!has(rr)', peerSelector: 'has(rr)', filters: ['tor-out'] })],
    config: bgpConfig({ nodeToNodeMeshEnabled: false, ...services }),
  },
};

/** What the BIRD template renders for `self`: per session its filter calls, and the service ranges. */
function birdRouting(c: Cluster, self: string) {
  const kv = computeFlatView({
    nodes: c.nodes,
    bgpConfigurations: [c.config],
    bgpPeers: c.peers,
    bgpFilters: filters,
    ipPools: [pool],
    affinities: [],
  });
  const cfg = new ConfdTemplate(readFileSync(BIRD_TEMPLATE_PATH, 'utf8'), 'bird.cfg.template', {
    NODENAME: self,
  }).render(
    [...kv].map(([key, value]) => ({ key, value })),
    '/calico',
  );
  const calls = (body: string, which: string) =>
    [...(new RegExp(`${which} filter \\{([\\s\\S]*?)\\};`).exec(body)?.[1] ?? '').matchAll(/'(\S+)'\(\);/g)].map(
      (m) => m[1]!,
    );
  const sessions = new Map(
    [...cfg.matchAll(/^protocol bgp (\S+) from \S+ \{([\s\S]*?)^\}/gm)].map((m) => [
      m[1]!,
      { import: calls(m[2]!, 'import'), export: calls(m[2]!, 'export') },
    ]),
  );
  const nets = (re: RegExp, inner: RegExp) =>
    [...cfg.matchAll(re)].flatMap((m) => [...m[1]!.matchAll(inner)].map((x) => x[1]!)).sort();
  return {
    sessions,
    originated: nets(/^protocol static static_services_v[46] \{([\s\S]*?)^\}/gm, /route (\S+) blackhole;/g),
    exported: nets(/^function tabby_(?:services|pools)_v[46]\(\)\n\{([\s\S]*?)^\}/gm, /net ~ \[ (\S+)\+ \]/g),
    unprogrammed: nets(/^filter tabby_kernel_v[46] \{([\s\S]*?)^\}/gm, /net ~ \[ (\S+)\+ \]/g),
  };
}

/** The same from the speaker template, and what the agent keeps out of the FIB. */
function speakerRouting(c: Cluster, self: string) {
  const { config } = new SpeakerConfigRenderer({ nodeName: self }).render({
    nodes: c.nodes,
    bgpConfigurations: [c.config],
    bgpPeers: c.peers,
    bgpFilters: filters,
    ipPools: [pool],
    affinities: [],
  });
  const exportRules = config.policies.get('tabby-export')!.rules;
  return {
    sessions: new Map(
      config.peers.map((p) => [
        p.name,
        {
          import: p.import.filter((n) => n !== 'tabby-import'),
          export: p.export.filter((n) => n !== 'tabby-export'),
        },
      ]),
    ),
    originated: config.originate
      .filter((o) => !o.blackhole)
      .map((o) => o.prefix)
      .sort(),
    exported: exportRules
      .filter((r) => r.action === 'accept')
      .flatMap((r) => r.match.prefix ?? [])
      .map((p) => p.prefix)
      .sort(),
    // The agent's FIB gets routes of the node's families only (BIRD renders the others' filters not at all).
    unprogrammed: serviceRouteCidrs(c.config.spec)
      .filter((cidr) =>
        config.peers.some((p) => p.families.includes(cidr.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast')),
      )
      .sort(),
  };
}

describe('filters and services: speaker template = BIRD template, session for session', () => {
  for (const [name, c] of Object.entries(routingClusters)) {
    it.each(c.nodes.map((n) => n.metadata.name))(`${name}: node %s`, (self) => {
      const bird = birdRouting(c, self);
      expect(speakerRouting(c, self)).toEqual(bird);
      // Not vacuous: some session of the cluster has filters, and services are there.
      expect(bird.unprogrammed.length).toBeGreaterThan(0);
    });
  }

  it('the clusters exercise filters on sessions, excluded nodes and reflectors', () => {
    const [mesh, rrs] = Object.values(routingClusters) as [Cluster, Cluster];
    expect(birdRouting(mesh, 'a').sessions.get('Global_198_18_0_254')).toEqual({
      import: ['bgp_tor-in_importFilterV4'],
      export: ['bgp_tor-out_exportFilterV4'],
    });
    expect(birdRouting(mesh, 'b').sessions.get('Node_198_18_0_253')?.import).toEqual(['bgp_tor-in_importFilterV4']);
    expect(birdRouting(mesh, 'b').originated).toEqual([]);
    expect(birdRouting(mesh, 'a').originated).toEqual([
      '198.18.112.0/24',
      '198.18.114.0/26',
      '198.18.96.0/20',
      'fd00:96::/112',
    ]);
    expect(birdRouting(rrs, 'a').sessions.get('Node_198_18_0_8')?.export).toEqual(['bgp_tor-out_exportFilterV4']);
    expect(birdRouting(rrs, 'rr1').exported).toContain('198.18.114.0/26');
  });
});
