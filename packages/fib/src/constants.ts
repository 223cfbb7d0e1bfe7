/**
 * Route classes, in priority order: when two classes want the same prefix, the lower rank wins
 * (a local workload beats a tunnel route beats a BGP-learned route beats a blackhole).
 */
export const RouteClass = {
  LocalWorkload: 'local-workload',
  VxlanSameSubnet: 'vxlan-same-subnet',
  VxlanTunnel: 'vxlan-tunnel',
  IpipSameSubnet: 'ipip-same-subnet',
  IpipTunnel: 'ipip-tunnel',
  NoEncap: 'no-encap',
  Bgp: 'bgp',
  Blackhole: 'blackhole',
} as const;
export type RouteClass = (typeof RouteClass)[keyof typeof RouteClass];

/** Rank of each class: lower wins a conflict on one prefix. */
export const ROUTE_CLASS_RANK: Readonly<Record<RouteClass, number>> = {
  'local-workload': 0,
  'vxlan-same-subnet': 1,
  'vxlan-tunnel': 2,
  'ipip-same-subnet': 3,
  'ipip-tunnel': 4,
  'no-encap': 5,
  bgp: 6,
  blackhole: 7,
};

export const ROUTE_CLASSES: readonly RouteClass[] = Object.values(RouteClass);

/** Interface name for routes that carry no single output interface (blackholes, ECMP sets). */
export const NO_INTERFACE = '*' as const;

/** Linux route types (rtnetlink `RTN_*`). */
export const RouteType = {
  Unicast: 'unicast',
  Blackhole: 'blackhole',
  Unreachable: 'unreachable',
  Prohibit: 'prohibit',
} as const;
export type RouteType = (typeof RouteType)[keyof typeof RouteType];

/** rtnetlink `RTN_*` numbers as `ip -N` prints them. */
export const RTN_NUMBER: Readonly<Record<RouteType, number>> = {
  unicast: 1,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
};

export const Scope = {
  Global: 'global',
  Link: 'link',
  Host: 'host',
} as const;
export type Scope = (typeof Scope)[keyof typeof Scope];

/** rtnetlink `RT_SCOPE_*` numbers. */
export const SCOPE_NUMBER: Readonly<Record<Scope, number>> = { global: 0, link: 253, host: 254 };

/** Well-known protocol numbers (`/etc/iproute2/rt_protos`). */
export const Protocol = {
  Kernel: 2,
  Boot: 3,
  Static: 4,
  Bird: 12,
  /** Default for Felix-like routes (Calico uses 80 as well). */
  Felix: 80,
  /** RTPROT_BGP: default for BGP-learned routes. */
  Bgp: 186,
} as const;

export const FibDefaults = {
  table: 254,
  felixProtocol: Protocol.Felix,
  bgpProtocol: Protocol.Bgp,
  interfacePrefixes: ['cali'] as readonly string[],
  resyncIntervalMs: 90_000,
  newInterfaceGraceMs: 10_000,
  gracefulRestartMs: 120_000,
  monitorDebounceMs: 50,
  vxlanDevice: 'vxlan.tabby',
  vxlanVni: 4096,
  vxlanPort: 4789,
  vxlanOverhead: 50,
  ipipDevice: 'tunl0',
  ipipOverhead: 20,
  workloadMac: 'ee:ee:ee:ee:ee:ee',
  workloadInterfacePrefix: 'cali',
} as const;
