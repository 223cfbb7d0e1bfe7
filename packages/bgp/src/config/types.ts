/** Address families the speaker carries. */
export const Families = ['ipv4-unicast', 'ipv6-unicast'] as const;
export type FamilyName = (typeof Families)[number];

export const NextHopModes = ['auto', 'self', 'keep'] as const;
/** `auto`: self towards eBGP peers, unchanged towards iBGP peers (RFC 4271 5.1.3). */
export type NextHopMode = (typeof NextHopModes)[number];

export const MaxPrefixActions = ['warn', 'restart'] as const;
export type MaxPrefixAction = (typeof MaxPrefixActions)[number];

export interface MaxPrefix {
  limit: number;
  /** `warn` logs; `restart` sends Cease/Maximum Number of Prefixes Reached and reconnects after `restartTime`. */
  action: MaxPrefixAction;
  restartTime: number;
}

/** A prefix-list entry: `198.18.0.0/15`, optionally with `ge N`/`le N` length bounds. */
export interface PrefixMatch {
  prefix: string;
  ge?: number;
  le?: number;
}

export interface PolicyMatch {
  /** The route's prefix matches one of these. */
  prefix?: PrefixMatch[];
  /** The route's prefix matches none of these (BGPFilter `NotEqual`, `NotIn`). */
  notPrefix?: PrefixMatch[];
  /** `bgp`: learned from a peer (BGPFilter `source: RemotePeers`); `local`: originated by this speaker. */
  source?: RouteSource;
  community?: string[];
  largeCommunity?: string[];
  asPathContains?: number[];
  originAs?: number[];
  asPathLength?: { min?: number; max?: number };
  nextHop?: string[];
  peer?: string[];
}

export interface PolicySet {
  localPref?: number;
  med?: number;
  addCommunities?: string[];
  removeCommunities?: string[];
  addLargeCommunities?: string[];
  prepend?: number;
  nextHop?: 'self' | 'keep' | string;
}

export const RouteSources = ['bgp', 'local'] as const;
export type RouteSource = (typeof RouteSources)[number];

export const PolicyActions = ['accept', 'accept-final', 'reject', 'next'] as const;
export type PolicyAction = (typeof PolicyActions)[number];

export interface PolicyRule {
  match: PolicyMatch;
  set: PolicySet;
  /**
   * What to do with a route the rule matches (after `set`): `accept` (the peer's later policies
   * still run), `accept-final` (accepted, later policies skipped: BIRD's `accept` in a function,
   * a BGPFilter's `Accept`), `reject` (final), `next` (on to the next rule).
   */
  action: PolicyAction;
}

export const PolicyDefaults = ['accept', 'reject', 'next'] as const;

export interface Policy {
  name: string;
  rules: PolicyRule[];
  /**
   * What happens to a route no rule accepted or rejected; `next`: this policy leaves it to the
   * peer's next policy (a BIRD function that returns undecided, a BGPFilter no rule matched).
   */
  default: (typeof PolicyDefaults)[number];
}

/** BFD for a peer (RFC 5880/5881/5883): a Down closes the BGP session at once (Cease/10, RFC 9384). */
export interface BfdSettings {
  /** Required Min RX Interval, ms (10-60000). */
  minRx: number;
  /** Desired Min TX Interval once Up, ms (10-60000). */
  minTx: number;
  /** Detect Mult (1-255). */
  multiplier: number;
  /**
   * RFC 5883 multihop (UDP 4784) or RFC 5881 single hop. Absent: decided when the session starts,
   * multihop when the peer's address is on none of the host's connected subnets.
   */
  multihop?: boolean;
  /** Send nothing until the peer's BFD is heard (RFC 5880 6.1). */
  passive: boolean;
}

export interface PeerConfig {
  name: string;
  address: string;
  port: number;
  asn: number;
  /** Local AS towards this peer (default: the speaker's). */
  localAsn: number;
  passive: boolean;
  localAddress?: string;
  /** Maximum hops (eBGP multihop); 1 means directly connected. */
  multihop: number;
  holdTime: number;
  keepaliveTime: number;
  /** RFC 9687 send hold time (s); absent: the greater of 8 minutes and twice the negotiated hold time. */
  sendHoldTime?: number;
  connectRetryTime: number;
  nextHop: NextHopMode;
  /**
   * Our next hop for IPv6 routes when the session runs over IPv4 (one session for both families,
   * as FRR and GoBGP neighbours have): without it, IPv6 routes that need our own next hop are not
   * sent to this peer. `nextHopV4` is the same for IPv4 routes over an IPv6 session.
   */
  nextHopV6?: string;
  nextHopV4?: string;
  routeReflectorClient: boolean;
  families: FamilyName[];
  /** Policy names applied in order; an empty list means the default for the session type. */
  import: string[];
  export: string[];
  maxPrefix?: MaxPrefix;
  /** How often our own AS may appear in a received AS_PATH before the route is dropped. */
  allowLocalAs: number;
  /**
   * Keep every route's attributes as received, also where import policy changed them (BIRD's
   * `import table`, FRR's `soft-reconfiguration inbound`). Off: they are kept only where the peer
   * cannot send its routes again (no ROUTE-REFRESH); a policy change asks the others for them.
   */
  importTable: boolean;
  gracefulRestart: boolean;
  /** The restart time advertised to this peer (RFC 4724, s); absent: `gracefulRestart.restartTime`. */
  restartTime?: number;
  /**
   * RFC 7911. `send`: advertise several paths per prefix where the peer can receive them:
   * `select: ecmp` the ECMP set, `all` every usable path.
   */
  addPath: { send: boolean; receive: boolean; select: 'ecmp' | 'all' };
  description: string;
  /** BFD settings when BFD is enabled for the peer; absent: no BFD. */
  bfd?: BfdSettings;
}

export interface OriginatedPrefix {
  prefix: string;
  /** Install a blackhole for the prefix in the FIB (the node's own IPAM blocks). */
  blackhole: boolean;
  communities: string[];
  largeCommunities: string[];
}

export interface SpeakerConfig {
  /** The file it was read from, for messages. */
  source: string;
  routerId: string;
  asn: number;
  listen: { address: string; port: number; enabled: boolean };
  controlSocket?: string;
  holdTime: number;
  keepaliveTime: number;
  connectRetryTime: number;
  /** RFC 8212: eBGP sessions without an import/export policy accept/announce nothing. */
  ebgpRequiresPolicy: boolean;
  alwaysCompareMed: boolean;
  multipath: { enabled: boolean; relaxAsPath: boolean; maxPaths: number };
  clusterId?: string;
  gracefulRestart: {
    enabled: boolean;
    restartTime: number;
    stalePathTime: number;
    notification: boolean;
    /** After a restart, how long to wait for End-of-RIB from every peer before selecting routes (s). */
    selectionDeferral: number;
  };
  originate: OriginatedPrefix[];
  peers: PeerConfig[];
  policies: Map<string, Policy>;
  metricsPort?: number;
  /** How the BFD service runs (read when it starts, with the first peer that has `bfd`). */
  bfd?: BfdOptions;
}

/** Speaker-wide BFD settings (docs/bfd.md). */
export interface BfdOptions {
  /** `nftables`: the kernel drops single-hop BFD packets whose TTL is not 255 (RFC 5881 5). */
  gtsm: 'off' | 'nftables';
  /** `connected-subnet`: single-hop packets only from a local subnet; `off` for /32 addressing. */
  sourceCheck: 'connected-subnet' | 'off';
}
