import type { VxlanPeer } from './remote-block-routes.js';

/** The VXLAN device this node wants. */
export interface VxlanDeviceSpec {
  name: string;
  vni: number;
  port: number;
  /** This node's underlay address: the tunnel's source. */
  localIp: string;
  uplink: string;
  /** VTEP address, assigned as /32 to the device. */
  vtepIp: string;
  mac?: string;
  /** Explicit MTU; omitted: the uplink's MTU minus `overhead`. */
  mtu?: number;
  overhead: number;
}

/** Everything besides routes that the dataplane managers want in the kernel. */
export interface LinkState {
  /** Undefined: no VXLAN device (an existing one of this name is removed). */
  vxlan: VxlanDeviceSpec | undefined;
  /** Name the VXLAN device has, wanted or not (so a stale one can be found). */
  vxlanName: string;
  vxlanPeers: VxlanPeer[];
  /** Host-side workload interfaces to configure (proxy ARP, forwarding, MAC). */
  workloadInterfaces: string[];
  workloadMac: string;
}

export interface LinkApplyResult {
  /** Wanted workload interfaces not configured yet (most often: not created yet). */
  pending: number;
}

/** Applies a `LinkState`: devices, neighbour and FDB entries, interface settings. */
export interface LinkDriver {
  apply(state: LinkState): Promise<LinkApplyResult>;
}

/** Records the state it is given; for tests and the in-process lab. */
export class MemoryLinkDriver implements LinkDriver {
  last: LinkState | undefined;
  applies = 0;
  async apply(state: LinkState): Promise<LinkApplyResult> {
    this.applies += 1;
    this.last = structuredClone(state);
    return { pending: 0 };
  }
}
