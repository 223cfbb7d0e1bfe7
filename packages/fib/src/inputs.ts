/**
 * Plain data the node agent gives the dataplane managers. Nothing here depends on other Tabby
 * packages: the agent maps its datastore resources (Node, IPPool, block affinities, workload
 * endpoints) and the speaker's best routes onto these shapes.
 */

/** Pool encapsulation mode, as in Calico's IPPool `ipipMode` / `vxlanMode`. */
export const EncapMode = {
  Never: 'Never',
  Always: 'Always',
  CrossSubnet: 'CrossSubnet',
} as const;
export type EncapMode = (typeof EncapMode)[keyof typeof EncapMode];

/** This node. */
export interface LocalNode {
  name: string;
  /** IPv4 address with the subnet's prefix length (`198.18.0.1/24`): the prefix decides CrossSubnet. */
  ipv4Address: string;
  /** Optional IPv6 address with prefix length. */
  ipv6Address?: string;
  /** Interface facing the other nodes (`eth0`). */
  uplink: string;
  /** This node's VXLAN tunnel address (VTEP IP), needed when any pool uses VXLAN. */
  vxlanTunnelAddress?: string;
  /** MAC of this node's VXLAN device; omitted: the kernel picks one. */
  vxlanTunnelMac?: string;
}

/** Another node of the cluster. */
export interface RemoteNode {
  name: string;
  /** IPv4 address, with or without prefix length (`198.18.0.2/24`). */
  ipv4Address: string;
  ipv6Address?: string;
  /** VTEP IP and MAC: both needed to reach this node's VXLAN-mode blocks. */
  vxlanTunnelAddress?: string;
  vxlanTunnelMac?: string;
}

/** An IP pool. `ipipMode` and `vxlanMode` are not both other than Never. */
export interface IpPool {
  cidr: string;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  disabled?: boolean;
}

/** An IPAM block and the node it is affine to (only confirmed affinities). */
export interface Block {
  cidr: string;
  node: string;
}

/** A pod on this node: its host-side interface and its addresses. */
export interface LocalWorkload {
  /** Identifies the workload (e.g. `namespace/pod`); used in logs only. */
  id: string;
  /** Host side of the pod's veth (`cali` + 11 hex, see `workloadInterfaceName`). */
  interfaceName: string;
  /** Addresses (`198.19.1.5` or `198.19.1.5/32`, IPv6 too). */
  ips: readonly string[];
}

/** One best route from the BGP speaker; two or more next hops make an ECMP set. */
export interface BgpBestRoute {
  prefix: string;
  nextHops: readonly {
    /** Next-hop address (must be directly reachable, or `onlink`). */
    via: string;
    /** Output interface; omitted: the local node's uplink. */
    dev?: string;
    onlink?: boolean;
  }[];
}
