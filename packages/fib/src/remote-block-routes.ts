import { addressOf, ipv4InPrefix, isIpv6, prefixContains } from './cidr.js';
import type { ClassRoutes } from './class-routes.js';
import { FibDefaults, RouteClass } from './constants.js';
import { type Block, EncapMode, type IpPool, type LocalNode, type RemoteNode } from './inputs.js';
import type { RouteTarget } from './types.js';

/** A remote node's VXLAN tunnel endpoint: the neighbour (VTEP IP -> MAC) and FDB (MAC -> node IP) entries. */
export interface VxlanPeer {
  node: string;
  vtepIp: string;
  mac: string;
  nodeIp: string;
}

export interface RemoteBlockPlan {
  /** Routes per (class, interface); every class this manager owns is present, possibly empty. */
  routes: ClassRoutes[];
  /** Remote VTEPs to program when the VXLAN device exists. */
  vxlanPeers: VxlanPeer[];
  /** An enabled pool uses VXLAN: the VXLAN device is wanted. */
  needsVxlan: boolean;
  /** An enabled pool uses IPIP: the IPIP device (tunl0) is wanted. */
  needsIpip: boolean;
  /** Blocks that could not be routed, with why (unknown node, missing VTEP). */
  warnings: string[];
}

export interface RemoteBlockOptions {
  vxlanDevice?: string;
  ipipDevice?: string;
}

/** The enabled pool that contains `block` (longest match), if any. */
export function poolOf(block: string, pools: Iterable<IpPool>): IpPool | undefined {
  let best: IpPool | undefined;
  let bestLen = -1;
  for (const p of pools) {
    if (p.disabled || !prefixContains(p.cidr, block)) continue;
    const len = Number(p.cidr.split('/')[1] ?? 0);
    if (len > bestLen) {
      best = p;
      bestLen = len;
    }
  }
  return best;
}

/** Whether a remote node's IPv4 address lies in the local node's subnet (CrossSubnet). */
export function sameSubnet(local: LocalNode, remoteIp: string): boolean {
  return ipv4InPrefix(addressOf(remoteIp), local.ipv4Address);
}

/**
 * Routes to other nodes' blocks, by pool mode (pure):
 * - no encapsulation: `via <nodeIP> dev <uplink> onlink` (class no-encap);
 * - IPIP: `via <nodeIP> dev tunl0 onlink` (ipip-tunnel), or direct on the same subnet with
 *   CrossSubnet (ipip-same-subnet);
 * - VXLAN: `via <VTEP IP> dev vxlan.tabby onlink` (vxlan-tunnel) plus the peer's neighbour and
 *   FDB entries, or direct on the same subnet with CrossSubnet (vxlan-same-subnet).
 * Blocks outside every enabled pool are routed without encapsulation. IPv6 blocks are routed
 * without encapsulation via the node's IPv6 address.
 */
export function remoteBlockRoutes(
  local: LocalNode,
  remoteNodes: ReadonlyMap<string, RemoteNode>,
  pools: Iterable<IpPool>,
  blocks: Iterable<Block>,
  opts: RemoteBlockOptions = {},
): RemoteBlockPlan {
  const vxlanDev = opts.vxlanDevice ?? FibDefaults.vxlanDevice;
  const ipipDev = opts.ipipDevice ?? FibDefaults.ipipDevice;
  const poolList = [...pools];
  const out = {
    noEncap: [] as RouteTarget[],
    ipip: [] as RouteTarget[],
    ipipSame: [] as RouteTarget[],
    vxlan: [] as RouteTarget[],
    vxlanSame: [] as RouteTarget[],
  };
  const warnings: string[] = [];
  for (const b of blocks) {
    if (b.node === local.name) continue;
    const node = remoteNodes.get(b.node);
    if (!node) {
      warnings.push(`block ${b.cidr}: node ${b.node} is unknown`);
      continue;
    }
    if (isIpv6(b.cidr)) {
      if (node.ipv6Address) out.noEncap.push({ dst: b.cidr, via: addressOf(node.ipv6Address), onlink: true });
      else warnings.push(`block ${b.cidr}: node ${b.node} has no IPv6 address`);
      continue;
    }
    const nodeIp = addressOf(node.ipv4Address);
    const pool = poolOf(b.cidr, poolList);
    const vx = pool?.vxlanMode ?? EncapMode.Never;
    const ip = pool?.ipipMode ?? EncapMode.Never;
    const direct: RouteTarget = { dst: b.cidr, via: nodeIp, onlink: true };
    if (vx !== EncapMode.Never) {
      if (vx === EncapMode.CrossSubnet && sameSubnet(local, nodeIp)) out.vxlanSame.push(direct);
      else if (node.vxlanTunnelAddress && node.vxlanTunnelMac)
        out.vxlan.push({ dst: b.cidr, via: addressOf(node.vxlanTunnelAddress), onlink: true });
      else warnings.push(`block ${b.cidr}: node ${b.node} has no VXLAN tunnel address or MAC yet`);
    } else if (ip !== EncapMode.Never) {
      if (ip === EncapMode.CrossSubnet && sameSubnet(local, nodeIp)) out.ipipSame.push(direct);
      else out.ipip.push(direct);
    } else out.noEncap.push(direct);
  }
  const enabled = poolList.filter((p) => !p.disabled);
  const needsVxlan = enabled.some((p) => p.vxlanMode !== EncapMode.Never);
  const needsIpip = enabled.some((p) => p.ipipMode !== EncapMode.Never);
  const vxlanPeers: VxlanPeer[] = [];
  if (needsVxlan) {
    for (const n of remoteNodes.values()) {
      if (n.vxlanTunnelAddress && n.vxlanTunnelMac)
        vxlanPeers.push({
          node: n.name,
          vtepIp: addressOf(n.vxlanTunnelAddress),
          mac: n.vxlanTunnelMac.toLowerCase(),
          nodeIp: addressOf(n.ipv4Address),
        });
    }
    vxlanPeers.sort((a, b) => a.node.localeCompare(b.node));
  }
  return {
    routes: [
      { cls: RouteClass.NoEncap, iface: local.uplink, routes: out.noEncap },
      { cls: RouteClass.IpipSameSubnet, iface: local.uplink, routes: out.ipipSame },
      { cls: RouteClass.IpipTunnel, iface: ipipDev, routes: out.ipip },
      { cls: RouteClass.VxlanSameSubnet, iface: local.uplink, routes: out.vxlanSame },
      { cls: RouteClass.VxlanTunnel, iface: vxlanDev, routes: out.vxlan },
    ],
    vxlanPeers,
    needsVxlan,
    needsIpip,
    warnings,
  };
}
