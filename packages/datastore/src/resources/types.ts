/** The API version of every resource document. */
export const API_VERSION = 'projectcalico.org/v3';

/** Resource kinds and their plural (the key segment and the `tabby get` name). */
export const KINDS = {
  Node: 'nodes',
  BGPConfiguration: 'bgpconfigurations',
  BGPPeer: 'bgppeers',
  BGPFilter: 'bgpfilters',
  IPPool: 'ippools',
  IPReservation: 'ipreservations',
  CalicoNodeStatus: 'caliconodestatuses',
  WorkloadEndpoint: 'workloadendpoints',
} as const;
export type Kind = keyof typeof KINDS;

/** Kinds whose names live inside a namespace. */
export const NAMESPACED_KINDS: ReadonlySet<Kind> = new Set<Kind>(['WorkloadEndpoint']);

/** Encapsulation modes of an IPPool. */
export const EncapMode = { Never: 'Never', Always: 'Always', CrossSubnet: 'CrossSubnet' } as const;
export type EncapMode = (typeof EncapMode)[keyof typeof EncapMode];

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** The datastore revision this document was read at (set on read; compare-and-swap on update). */
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
}

interface Doc<K extends Kind, S> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
}

/** What an IP pool may be used for (Calico's default when unset: Workload and Tunnel). */
export const PoolUse = { Workload: 'Workload', Tunnel: 'Tunnel', LoadBalancer: 'LoadBalancer' } as const;
export type PoolUse = (typeof PoolUse)[keyof typeof PoolUse];

export interface SecretKeyRef {
  secretKeyRef: { name: string; key: string };
}

export interface NodeSpec {
  bgp?: {
    /** Address with prefix length (`10.192.0.2/16`): the prefix is the node's subnet. */
    ipv4Address?: string;
    ipv6Address?: string;
    asNumber?: number | string;
    /** Non-empty: the node is a route reflector with this cluster ID (dotted quad). */
    routeReflectorClusterID?: string;
    ipv4IPIPTunnelAddr?: string;
  };
  ipv4VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  ipv6VXLANTunnelAddr?: string;
  vxlanTunnelMACAddrV6?: string;
  addresses?: { address: string; type?: string }[];
  orchRefs?: { nodeName?: string; orchestrator: string }[];
}
export type NodeResource = Doc<'Node', NodeSpec>;

export interface BGPConfigurationSpec {
  nodeToNodeMeshEnabled?: boolean;
  asNumber?: number | string;
  listenPort?: number;
  logSeverityScreen?: string;
  bindMode?: 'None' | 'NodeIP';
  serviceClusterIPs?: { cidr: string }[];
  serviceExternalIPs?: { cidr: string }[];
  serviceLoadBalancerIPs?: { cidr: string }[];
  communities?: { name: string; value: string }[];
  prefixAdvertisements?: { cidr: string; communities?: string[] }[];
  nodeMeshPassword?: SecretKeyRef;
  nodeMeshMaxRestartTime?: string;
  ignoredInterfaces?: string[];
  localWorkloadPeeringIPV4?: string;
  localWorkloadPeeringIPV6?: string;
}
export type BGPConfigurationResource = Doc<'BGPConfiguration', BGPConfigurationSpec>;

export interface BGPPeerSpec {
  node?: string;
  nodeSelector?: string;
  peerIP?: string;
  peerSelector?: string;
  asNumber?: number | string;
  localASNumber?: number | string;
  keepOriginalNextHop?: boolean;
  nextHopMode?: 'Auto' | 'Self' | 'Keep';
  password?: SecretKeyRef;
  sourceAddress?: 'UseNodeIP' | 'None';
  maxRestartTime?: string;
  keepaliveTime?: string;
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  reversePeering?: 'Auto' | 'Manual';
  filters?: string[];
  reachableBy?: string;
}
export type BGPPeerResource = Doc<'BGPPeer', BGPPeerSpec>;

export interface IPPoolSpec {
  cidr: string;
  blockSize?: number;
  ipipMode?: EncapMode;
  vxlanMode?: EncapMode;
  natOutgoing?: boolean;
  disabled?: boolean;
  disableBGPExport?: boolean;
  nodeSelector?: string;
  /** Stored with Calico's default, `[Workload, Tunnel]`. Pods get addresses only from Workload pools. */
  allowedUses?: PoolUse[];
  /** Stored with Calico's default, `Automatic`. `Manual` pools are used only when asked for by name. */
  assignmentMode?: 'Automatic' | 'Manual';
}
export type IPPoolResource = Doc<'IPPool', IPPoolSpec>;

/** One BGPFilter rule: the first rule that matches a route decides (`action`). */
export interface BGPFilterRule {
  action: 'Accept' | 'Reject';
  /** With `cidr`: how the route's prefix compares with it. */
  matchOperator?: 'Equal' | 'NotEqual' | 'In' | 'NotIn';
  cidr?: string;
  /** With `In`/`NotIn`: the prefix lengths that match (bounded by `cidr`'s own length and the family's width). */
  prefixLength?: { min?: number; max?: number };
  /** `RemotePeers`: only routes learned over BGP. */
  source?: 'RemotePeers';
  /** Only routes through interfaces matching this pattern (`*` wildcards), e.g. `eth*`. */
  interface?: string;
}

/** Ordered import and export rules per family; a route no rule matches goes on (Calico's default `Accept`). */
export interface BGPFilterSpec {
  exportV4?: BGPFilterRule[];
  importV4?: BGPFilterRule[];
  exportV6?: BGPFilterRule[];
  importV6?: BGPFilterRule[];
}
export type BGPFilterResource = Doc<'BGPFilter', BGPFilterSpec>;

/** Addresses IPAM never hands out (existing allocations stay). */
export interface IPReservationSpec {
  /** CIDRs or single addresses. */
  reservedCIDRs?: string[];
}
export type IPReservationResource = Doc<'IPReservation', IPReservationSpec>;

/** What a CalicoNodeStatus asks the node agent to report. */
export const NodeStatusClass = { Agent: 'Agent', BGP: 'BGP', Routes: 'Routes' } as const;
export type NodeStatusClass = (typeof NodeStatusClass)[keyof typeof NodeStatusClass];

export interface CalicoNodeStatusSpec {
  node: string;
  classes: NodeStatusClass[];
  /** How often the agent writes `status` (s); 0: once per spec change only. At most a day. */
  updatePeriodSeconds: number;
}

/** The BGP daemon's state (Calico reports BIRD's; Tabby's speaker serves both families). */
export interface BGPDaemonStatus {
  state?: 'Ready' | 'NotReady';
  version?: string;
  routerID?: string;
  lastBootTime?: string;
  lastReconfigurationTime?: string;
}

export interface CalicoNodePeer {
  peerIP?: string;
  type?: 'NodeMesh' | 'NodePeer' | 'GlobalPeer';
  state?: 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established' | 'Close';
  /** When the session entered its state (RFC 3339). */
  since?: string;
}

export interface CalicoNodeRoute {
  /** `FIB`: the best route, used for forwarding; `RIB`: known but not used. */
  type?: 'FIB' | 'RIB';
  destination?: string;
  gateway?: string;
  interface?: string;
  learnedFrom?: { sourceType?: 'Kernel' | 'Static' | 'Direct' | 'NodeMesh' | 'BGPPeer'; peerIP?: string };
}

/** Written by the node agent, never by `tabby apply` (an applied `status` is ignored). */
export interface CalicoNodeStatusStatus {
  lastUpdated?: string;
  agent?: { birdV4?: BGPDaemonStatus; birdV6?: BGPDaemonStatus };
  bgp?: {
    numberEstablishedV4: number;
    numberNotEstablishedV4: number;
    numberEstablishedV6: number;
    numberNotEstablishedV6: number;
    peersV4?: CalicoNodePeer[];
    peersV6?: CalicoNodePeer[];
  };
  routes?: {
    routesV4?: CalicoNodeRoute[];
    routesV6?: CalicoNodeRoute[];
    /** Tabby: how many routes there are in all (the lists stop at a bound). */
    numberOfRoutesV4?: number;
    numberOfRoutesV6?: number;
  };
}
export type CalicoNodeStatusResource = Doc<'CalicoNodeStatus', CalicoNodeStatusSpec> & {
  status?: CalicoNodeStatusStatus;
};

/** Tabby's pod endpoint: written by the CNI plugin, read by the FIB programmer. */
export interface WorkloadEndpointSpec {
  node: string;
  pod: string;
  /** Host-side veth name (`cali` + 11 hex digits). */
  interfaceName: string;
  /** Pod addresses as host prefixes (`10.0.0.5/32`). */
  ipNetworks: string[];
  mac?: string;
  containerID?: string;
  orchestrator?: string;
  workload?: string;
  endpoint?: string;
  profiles?: string[];
}
export type WorkloadEndpointResource = Doc<'WorkloadEndpoint', WorkloadEndpointSpec>;

/** Any resource document. */
export type Resource =
  | NodeResource
  | BGPConfigurationResource
  | BGPPeerResource
  | BGPFilterResource
  | IPPoolResource
  | IPReservationResource
  | CalicoNodeStatusResource
  | WorkloadEndpointResource;

/** The resource type of a kind. */
export type ResourceOf<K extends Kind> = Extract<Resource, { kind: K }>;
