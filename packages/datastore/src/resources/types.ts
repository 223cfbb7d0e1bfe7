/** The API version of every resource document. */
export const API_VERSION = 'projectcalico.org/v3';

/** Resource kinds and their plural (the key segment and the `tabby get` name). */
export const KINDS = {
  Node: 'nodes',
  BGPConfiguration: 'bgpconfigurations',
  BGPPeer: 'bgppeers',
  IPPool: 'ippools',
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
  allowedUses?: ('Workload' | 'Tunnel' | 'LoadBalancer')[];
  assignmentMode?: 'Automatic' | 'Manual';
}
export type IPPoolResource = Doc<'IPPool', IPPoolSpec>;

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
  | IPPoolResource
  | WorkloadEndpointResource;

/** The resource type of a kind. */
export type ResourceOf<K extends Kind> = Extract<Resource, { kind: K }>;
