import { parseConfig, type SpeakerConfig } from '@tabby/bgp';
import {
  type BGPConfigurationSpec,
  contains,
  type IPPoolResource,
  type NodeResource,
  parseCidr,
} from '@tabby/datastore';
import { clusterId, nodeAddress, type Peering } from './peering.js';

export interface SpeakerConfigInput {
  node: NodeResource;
  asn: number;
  peerings: readonly Peering[];
  pools: readonly IPPoolResource[];
  /** This node's confirmed IPAM blocks (announced, with a blackhole behind them). */
  blocks: readonly string[];
  /** Addresses of local pods borrowed from other nodes' blocks: announced as /32 (/128). */
  borrowed?: readonly string[];
  /** The `default` BGPConfiguration spec (communities, prefix advertisements, bind mode). */
  bgpSpec: BGPConfigurationSpec | undefined;
  listenPort: number;
  controlSocket?: string;
  /** Timers (s) for every session; Calico's BIRD defaults when absent. */
  holdTime?: number;
  connectRetryTime?: number;
  /** Graceful restart time (s) to announce: the mesh's `nodeMeshMaxRestartTime`; 0 or absent: 120. */
  restartTime?: number;
}

/** Communities for a prefix from `prefixAdvertisements` (names resolved through `communities`). */
export function advertisedCommunities(
  spec: BGPConfigurationSpec | undefined,
  prefix: string,
): { std: string[]; large: string[] } {
  const named = new Map((spec?.communities ?? []).map((c) => [c.name, c.value]));
  const std: string[] = [];
  const large: string[] = [];
  const p = parseCidr(prefix);
  for (const adv of spec?.prefixAdvertisements ?? []) {
    const a = parseCidr(adv.cidr);
    if (!a || !p || !contains(a, p)) continue;
    for (const c of adv.communities ?? []) {
      const v = named.get(c) ?? c;
      (v.split(':').length === 3 ? large : std).push(v);
    }
  }
  return { std: [...new Set(std)], large: [...new Set(large)] };
}

/**
 * The speaker config for a node: its blocks originated with blackholes, one peer per peering, and
 * the export policy Calico's BIRD template applies (pool routes only, never pools with
 * `disableBGPExport`, communities from `prefixAdvertisements`). Built as a document and run
 * through the speaker's own validation, so the node agent and `tabby bgpd` read the same thing.
 */
export function buildSpeakerConfig(input: SpeakerConfigInput): SpeakerConfig {
  const { node, bgpSpec } = input;
  const v4 = nodeAddress(node, 4);
  const v6 = nodeAddress(node, 6);
  const routerId = v4 ?? '0.0.0.0';
  const bindNodeIp = bgpSpec?.bindMode === 'NodeIP';
  const enabledPools = input.pools.filter((p) => !p.spec.disabled);
  const rules: unknown[] = [];
  for (const p of input.pools.filter((x) => x.spec.disableBGPExport)) {
    rules.push({ match: { prefix: [`${p.spec.cidr} le ${p.spec.cidr.includes(':') ? 128 : 32}`] }, action: 'reject' });
  }
  for (const adv of bgpSpec?.prefixAdvertisements ?? []) {
    const c = advertisedCommunities(bgpSpec, adv.cidr);
    const set: Record<string, unknown> = {};
    if (c.std.length) set.addCommunities = c.std;
    if (c.large.length) set.addLargeCommunities = c.large;
    if (Object.keys(set).length) {
      rules.push({ match: { prefix: [`${adv.cidr} le ${adv.cidr.includes(':') ? 128 : 32}`] }, set, action: 'next' });
    }
  }
  for (const p of enabledPools.filter((x) => !x.spec.disableBGPExport)) {
    rules.push({ match: { prefix: [`${p.spec.cidr} le ${p.spec.cidr.includes(':') ? 128 : 32}`] }, action: 'accept' });
  }
  const doc = {
    routerId,
    asn: input.asn,
    listen: { address: bindNodeIp ? (v4 ?? v6 ?? '::') : '::', port: input.listenPort },
    ...(input.controlSocket ? { controlSocket: input.controlSocket } : {}),
    ...(input.holdTime !== undefined ? { holdTime: input.holdTime } : {}),
    connectRetryTime: input.connectRetryTime ?? 5,
    ...(clusterId(node) ? { clusterId: clusterId(node) } : {}),
    // The restart time this node announces; sessions with graceful restart off say so per peer.
    gracefulRestart: { enabled: true, restartTime: Math.min(input.restartTime || 120, 4095) },
    originate: [
      ...input.blocks.map((b) => {
        const c = advertisedCommunities(bgpSpec, b);
        return { prefix: b, blackhole: true, communities: c.std, largeCommunities: c.large };
      }),
      // Longest-prefix match lets a borrowed address beat the owner's block (calico-model rule 5).
      ...(input.borrowed ?? []).map((ip) => {
        const prefix = ip.includes('/') ? ip : `${ip}/${ip.includes(':') ? 128 : 32}`;
        const c = advertisedCommunities(bgpSpec, prefix);
        return { prefix, blackhole: false, communities: c.std, largeCommunities: c.large };
      }),
    ],
    policies: [
      { name: 'tabby-export', rules, default: 'reject' },
      { name: 'tabby-import', rules: [], default: 'accept' },
    ],
    peers: input.peerings.map((p) => ({
      name: p.name,
      address: p.address,
      port: p.port,
      asn: p.asn,
      passive: p.passive,
      ...((p.family === 4 ? v4 : v6) ? { localAddress: p.family === 4 ? v4 : v6 } : {}),
      routeReflectorClient: p.routeReflectorClient,
      nextHop: p.keepNextHop ? 'keep' : 'auto',
      gracefulRestart: p.gracefulRestart,
      families: [p.family === 4 ? 'ipv4-unicast' : 'ipv6-unicast'],
      import: ['tabby-import'],
      export: ['tabby-export'],
      description: p.peerIsReflector ? 'route reflector' : p.type,
    })),
  };
  return parseConfig(JSON.stringify(doc, null, 1), `speaker config of node ${node.metadata.name}`);
}
