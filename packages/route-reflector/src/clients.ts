import { isIP } from 'node:net';
import { completePeer, type PeerConfig, type SpeakerConfig } from '@tabby/bgp';
import { type NodeResource, Selector } from '@tabby/datastore';
import type { RrConfig } from './config.js';

/** Why a node did not become a peer. */
export interface SkippedNode {
  node: string;
  reason: string;
}

export interface NodePeers {
  /** Speaker peers for the selected nodes, sorted by name. */
  peers: PeerConfig[];
  skipped: SkippedNode[];
}

/** `Node_198_18_0_5`: the peer name of a node address (Calico's protocol naming). */
export function nodePeerName(address: string): string {
  return `Node_${address.replace(/[.:]/g, '_')}`;
}

/** The address part of `198.18.0.5/24` (Calico stores node addresses with the subnet length). */
function stripLength(a: string | undefined): string | undefined {
  if (!a) return undefined;
  const addr = a.split('/')[0]?.trim();
  return addr && isIP(addr) ? addr : undefined;
}

function nodeAsn(n: NodeResource): number | undefined {
  const v = n.spec.bgp?.asNumber;
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'number') return v;
  const [hi, lo] = v.split('.').map(Number);
  return lo === undefined ? hi : (hi as number) * 65536 + lo;
}

/**
 * The peers the reflector takes from the datastore's Node resources. The rule (Calico's rule 4):
 *
 * - a node is considered when its labels match `datastore.nodeSelector` and it has
 *   `spec.bgp.ipv4Address` (a session over IPv4, families from `clientDefaults`) and/or
 *   `ipv6Address` (a session over IPv6 carrying ipv6-unicast);
 * - a node with no `routeReflectorClusterID`, or one different from ours, is a **client**
 *   (a reflector in another cluster is a client of ours: a hierarchy);
 * - a node with **our** cluster ID is another reflector of the same cluster: a **non-client**
 *   (reflectors sharing a cluster ID do not reflect client routes to each other);
 * - skipped: the reflector itself (an address equal to our router ID or listen address), a node
 *   whose `asNumber` differs from our AS (reflection is iBGP only), and an address already
 *   listed in `clients`/`nonClients` (the listed entry wins).
 */
export function nodePeers(config: RrConfig, nodes: Iterable<NodeResource>): NodePeers {
  const ds = config.datastore;
  const out: NodePeers = { peers: [], skipped: [] };
  if (!ds) return out;
  const selector = new Selector(ds.nodeSelector);
  const listed = new Set([...config.clients, ...config.nonClients].map((p) => p.address));
  const listedNames = new Set([...config.clients, ...config.nonClients].map((p) => p.name));
  const own = new Set([config.routerId, config.listen.address]);
  const seen = new Set<string>();
  const sorted = [...nodes].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  for (const n of sorted) {
    const name = n.metadata.name;
    if (!selector.matches(n.metadata.labels ?? {})) continue;
    const asn = nodeAsn(n);
    if (asn !== undefined && asn !== config.asn) {
      out.skipped.push({ node: name, reason: `AS ${asn} is not the reflector's AS ${config.asn}` });
      continue;
    }
    const cluster = n.spec.bgp?.routeReflectorClusterID ?? '';
    const client = cluster !== config.clusterId;
    const v4 = stripLength(n.spec.bgp?.ipv4Address);
    const v6 = stripLength(n.spec.bgp?.ipv6Address);
    if (!v4 && !v6) {
      out.skipped.push({ node: name, reason: 'no spec.bgp.ipv4Address or ipv6Address' });
      continue;
    }
    // A session over IPv6 carries IPv6 unicast; over IPv4, the clients' families (default IPv4 unicast).
    for (const [address, families] of [
      [v4, undefined],
      [v6, ['ipv6-unicast'] as const],
    ] as const) {
      if (!address) continue;
      if (own.has(address)) {
        out.skipped.push({ node: name, reason: `${address} is this reflector` });
        continue;
      }
      if (listed.has(address)) {
        out.skipped.push({ node: name, reason: `${address} is listed in the config` });
        continue;
      }
      if (listedNames.has(nodePeerName(address))) {
        out.skipped.push({ node: name, reason: `${nodePeerName(address)} is the name of a listed peer` });
        continue;
      }
      if (seen.has(address)) {
        out.skipped.push({ node: name, reason: `${address} is also another node's address` });
        continue;
      }
      seen.add(address);
      out.peers.push(
        completePeer(
          config,
          {
            name: nodePeerName(address),
            address,
            routeReflectorClient: client,
            ...(families ? { families: [...families] } : {}),
            description: client
              ? `node ${name}${cluster ? ` (reflector of cluster ${cluster})` : ''}`
              : `node ${name} (reflector, same cluster)`,
          },
          client ? config.clientDefaults : {},
        ),
      );
    }
  }
  out.peers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

/** The speaker config without the reflector's own fields and without peers. */
export function speakerBase(config: RrConfig): SpeakerConfig {
  const { clientDefaults, clients, nonClients, datastore, ...speaker } = config;
  return { ...speaker, peers: [] };
}

/** The full speaker config: listed clients and non-clients, then the datastore's nodes. */
export function buildSpeakerConfig(config: RrConfig, fromNodes: PeerConfig[]): SpeakerConfig {
  return { ...speakerBase(config), peers: [...config.peers, ...fromNodes] };
}
