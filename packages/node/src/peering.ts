import {
  type BGPPeerResource,
  durationSeconds,
  type EffectiveBGPConfiguration,
  type NodeResource,
  parseAsNumber,
  parseIp,
  parsePeerIP,
  Selector,
} from '@tabby/datastore';

/** How `bgpctl node status` names a peering (Calico's words). */
export const PeerTypes = ['node-to-node mesh', 'global', 'node specific'] as const;
export type PeerType = (typeof PeerTypes)[number];

/** One BGP session this node must have. */
export interface Peering {
  /** Calico's protocol name: `Mesh_198_18_0_2`, `Global_...`, `Node_...`, `_port_N` for other ports. */
  name: string;
  type: PeerType;
  family: 4 | 6;
  address: string;
  port: number;
  asn: number;
  /** Wait for the peer to connect (the higher address of a pair of cluster nodes waits). */
  passive: boolean;
  /** This node reflects to the peer (RFC 4456): we have a cluster ID and the peer does not share it. */
  routeReflectorClient: boolean;
  /** The peer is a node of the cluster with a cluster ID (a route reflector). */
  peerIsReflector: boolean;
  /** Next hop unchanged towards the peer: nextHopMode Keep, or keepOriginalNextHop towards an eBGP peer. */
  keepNextHop: boolean;
  /** The BGPPeer resource behind an explicit peering (absent for the mesh). */
  resource?: string;
  /**
   * Graceful restart (RFC 4724) on this session: off when its restart time is 0 (`maxRestartTime`
   * of the BGPPeer, `nodeMeshMaxRestartTime` for the mesh), so a dead peer's routes go at once.
   */
  gracefulRestart: boolean;
}

export interface ClusterView {
  nodes: readonly NodeResource[];
  peers: readonly BGPPeerResource[];
  bgp: EffectiveBGPConfiguration;
  /** Nodes listening on a port of their own (`listenPort` of BGPConfiguration `node.<name>`). */
  listenPorts?: ReadonlyMap<string, number>;
}

/** The node's address of a family without its prefix length, or undefined. */
export function nodeAddress(n: NodeResource, family: 4 | 6): string | undefined {
  const a = family === 4 ? n.spec?.bgp?.ipv4Address : n.spec?.bgp?.ipv6Address;
  return a ? a.split('/')[0] : undefined;
}

export function nodeAs(n: NodeResource, bgp: EffectiveBGPConfiguration): number {
  const a = n.spec?.bgp?.asNumber;
  return a === undefined ? bgp.asNumber : parseAsNumber(a);
}

export function clusterId(n: NodeResource): string {
  return n.spec?.bgp?.routeReflectorClusterID ?? '';
}

function labels(n: NodeResource): Record<string, string> {
  return n.metadata.labels ?? {};
}

/** Numeric address order (IPv4 and IPv6 separately). */
export function compareAddresses(a: string, b: string): number {
  const x = parseIp(a);
  const y = parseIp(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  return x.addr < y.addr ? -1 : x.addr > y.addr ? 1 : 0;
}

/** `Mesh_198_18_0_2`, `Node_2001_db8__1_port_1790`. */
export function protocolName(prefix: 'Mesh' | 'Global' | 'Node', address: string, port: number): string {
  return `${prefix}_${address.replace(/[.:]/g, '_')}${port === 179 ? '' : `_port_${port}`}`;
}

/**
 * Every peering `self` must have, by Calico's rules (shared/reference/calico-model.md):
 * 1. the node-to-node mesh (when enabled), without route reflectors, the higher address passive;
 * 2. BGPPeers whose local side selects this node (`node`, `nodeSelector`, or neither: global),
 *    to `peerIP` or to the nodes `peerSelector` picks (their AS), a node-specific peering to an
 *    address that already has a global one skipped; peerings to selected nodes are node-specific
 *    (`Node_...`: Calico keeps them per host, since each node's set differs);
 * 3. reverse peerings: a node that some BGPPeer's `peerSelector` picks peers back with the nodes
 *    on that BGPPeer's local side (`reversePeering: Auto`);
 * 4. with a cluster ID, iBGP peers with another (or no) cluster ID are route-reflector clients.
 */
export function computePeerings(view: ClusterView, selfName: string): Peering[] {
  const self = view.nodes.find((n) => n.metadata.name === selfName);
  if (!self) return [];
  const selfAs = nodeAs(self, view.bgp);
  const selfCluster = clusterId(self);
  const byAddress = new Map<string, NodeResource>();
  for (const n of view.nodes) {
    for (const f of [4, 6] as const) {
      const a = nodeAddress(n, f);
      if (a) byAddress.set(a, n);
    }
  }
  const out: Peering[] = [];
  const seen = new Set<string>();
  const meshGr = view.bgp.nodeMeshRestartSeconds !== 0;
  const portOf = (n: NodeResource) => view.listenPorts?.get(n.metadata.name) ?? view.bgp.listenPort;
  const localSideMatches = (p: BGPPeerResource, n: NodeResource): boolean => {
    if (p.spec.node) return p.spec.node === n.metadata.name;
    if (p.spec.nodeSelector) return safeMatch(p.spec.nodeSelector, labels(n));
    return true;
  };
  const grOf = (p: BGPPeerResource) =>
    p.spec.maxRestartTime === undefined || durationSeconds(p.spec.maxRestartTime) !== 0;
  // Calico: nextHopMode, when set, wins; the older keepOriginalNextHop applies to eBGP peers only.
  const keepOf = (p: BGPPeerResource, asn: number) =>
    p.spec.nextHopMode !== undefined
      ? p.spec.nextHopMode === 'Keep'
      : p.spec.keepOriginalNextHop === true &&
        asn !== (p.spec.localASNumber !== undefined ? parseAsNumber(p.spec.localASNumber) : selfAs);
  const typeOf = (p: BGPPeerResource): PeerType => (p.spec.node || p.spec.nodeSelector ? 'node specific' : 'global');

  for (const family of [4, 6] as const) {
    const selfAddr = nodeAddress(self, family);
    if (!selfAddr) continue;
    const add = (type: PeerType, address: string, port: number, asn: number, extra: Partial<Peering> = {}) => {
      if (address === selfAddr || !Number.isFinite(asn)) return;
      const key = `${address}|${port}`;
      if (seen.has(key)) return;
      seen.add(key);
      const remote = byAddress.get(address);
      const remoteCluster = remote ? clusterId(remote) : '';
      const prefix = type === 'node-to-node mesh' ? 'Mesh' : type === 'global' ? 'Global' : 'Node';
      out.push({
        name: protocolName(prefix, address, port),
        type,
        family,
        address,
        port,
        asn,
        // Two cluster nodes connect one way only: the higher address waits.
        passive: remote !== undefined && compareAddresses(selfAddr, address) > 0,
        routeReflectorClient: selfCluster !== '' && asn === selfAs && remoteCluster !== selfCluster,
        peerIsReflector: remoteCluster !== '',
        keepNextHop: false,
        gracefulRestart: true,
        ...extra,
      });
    };
    // Explicit peerings first (global before node-specific), so the mesh never shadows them.
    const sorted = [...view.peers].sort((a, b) => Number(typeOf(a) !== 'global') - Number(typeOf(b) !== 'global'));
    for (const p of sorted) {
      if (!localSideMatches(p, self)) continue;
      const keep = (asn: number) => keepOf(p, asn);
      const gr = grOf(p);
      if (p.spec.peerIP) {
        const ip = parsePeerIP(p.spec.peerIP);
        if (!ip || (family === 4) !== !ip.ip.includes(':')) continue;
        const asn = parseAsNumber(p.spec.asNumber ?? Number.NaN);
        add(typeOf(p), ip.ip, ip.port, asn, {
          keepNextHop: keep(asn),
          gracefulRestart: gr,
          resource: p.metadata.name,
        });
      } else if (p.spec.peerSelector) {
        for (const n of view.nodes) {
          if (n === self || !safeMatch(p.spec.peerSelector, labels(n))) continue;
          const a = nodeAddress(n, family);
          if (a)
            add('node specific', a, portOf(n), nodeAs(n, view.bgp), {
              keepNextHop: keep(nodeAs(n, view.bgp)),
              gracefulRestart: gr,
              resource: p.metadata.name,
            });
        }
      }
    }
    // Reverse peerings: we are picked by a peerSelector; peer back with that BGPPeer's local side.
    for (const p of sorted) {
      if (!p.spec.peerSelector || p.spec.reversePeering === 'Manual') continue;
      if (!safeMatch(p.spec.peerSelector, labels(self))) continue;
      for (const n of view.nodes) {
        if (n === self || !localSideMatches(p, n)) continue;
        const a = nodeAddress(n, family);
        if (a)
          add('node specific', a, portOf(n), nodeAs(n, view.bgp), {
            keepNextHop: keepOf(p, nodeAs(n, view.bgp)),
            gracefulRestart: grOf(p),
            resource: p.metadata.name,
          });
      }
    }
    if (view.bgp.nodeToNodeMeshEnabled && selfCluster === '') {
      for (const n of view.nodes) {
        if (n === self || clusterId(n) !== '') continue;
        const a = nodeAddress(n, family);
        if (a) add('node-to-node mesh', a, portOf(n), nodeAs(n, view.bgp), { gracefulRestart: meshGr });
      }
    }
  }
  return out;
}

function safeMatch(selector: string, l: Record<string, string>): boolean {
  try {
    return new Selector(selector).matches(l);
  } catch {
    return false;
  }
}
