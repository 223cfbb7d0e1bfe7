import type { NetConf } from './config.js';
import { HOST_SIDE_MAC, IPV4_GATEWAY, IPV6_GATEWAY } from './veth.js';

/** The CNI ADD result (spec 1.0 shape; `version` on each IP for 0.3.x and 0.4.0). */
export interface CniResult {
  cniVersion: string;
  interfaces: { name: string; mac: string; sandbox?: string }[];
  ips: { address: string; gateway?: string; interface: number; version?: '4' | '6' }[];
  routes: { dst: string; gw?: string }[];
  dns: Record<string, unknown>;
}

export interface AddOutcome {
  hostIf: string;
  podIf: string;
  podMac: string;
  netns: string;
  ipv4?: string;
  ipv6?: string;
}

/** Builds the ADD result for the config's CNI version. */
export function buildResult(conf: NetConf, o: AddOutcome): CniResult {
  const legacy = conf.cniVersion !== '1.0.0';
  const ips: CniResult['ips'] = [];
  const routes: CniResult['routes'] = [];
  if (o.ipv4) {
    ips.push({ address: `${o.ipv4}/32`, gateway: IPV4_GATEWAY, interface: 1, ...(legacy ? { version: '4' } : {}) });
    routes.push({ dst: '0.0.0.0/0', gw: IPV4_GATEWAY });
  }
  if (o.ipv6) {
    ips.push({ address: `${o.ipv6}/128`, gateway: IPV6_GATEWAY, interface: 1, ...(legacy ? { version: '6' } : {}) });
    routes.push({ dst: '::/0', gw: IPV6_GATEWAY });
  }
  return {
    cniVersion: conf.cniVersion,
    interfaces: [
      { name: o.hostIf, mac: HOST_SIDE_MAC },
      { name: o.podIf, mac: o.podMac, sandbox: o.netns },
    ],
    ips,
    routes,
    dns: conf.dns ?? {},
  };
}
