import { CniError, CniErrorCode } from './errors.js';
import type { Netns } from './netns.js';

/** MAC of the host side of every pod veth (Calico's). */
export const HOST_SIDE_MAC = 'ee:ee:ee:ee:ee:ee';
/** The pod's IPv4 gateway: assigned nowhere, answered by proxy ARP on the host side. */
export const IPV4_GATEWAY = '169.254.1.1';
/** The pod's IPv6 gateway: the link-local address of the host side (EUI-64 of HOST_SIDE_MAC). */
export const IPV6_GATEWAY = 'fe80::ecee:eeff:feee:eeee';

export interface VethSpec {
  host: Netns;
  pod: Netns;
  hostIf: string;
  podIf: string;
  mtu?: number;
}

interface IpLink {
  ifname: string;
  address?: string;
  operstate?: string;
  flags?: string[];
  mtu?: number;
}

/**
 * Creates the veth pair with its host end in `host` and its pod end in `pod`, both named as
 * asked. A stale host end of the same name (an earlier sandbox of the same pod) is removed first.
 */
export async function createVeth(s: VethSpec): Promise<void> {
  if (!s.pod.exists()) throw new CniError(CniErrorCode.UnknownContainer, `the container's ${s.pod} does not exist`);
  if (!s.host.exists()) throw new CniError(CniErrorCode.InvalidNetworkConfig, `host ${s.host} does not exist`);
  if (await s.pod.linkExists(s.podIf))
    throw new CniError(
      CniErrorCode.InterfaceFailure,
      `interface ${s.podIf} already exists in the container's ${s.pod}`,
    );
  if (await s.host.linkExists(s.hostIf)) await s.host.ip(['link', 'del', s.hostIf]);
  const mtu = s.mtu === undefined ? [] : ['mtu', String(s.mtu)];
  if (s.pod.linkTarget !== undefined) {
    await s.host.ip([
      'link',
      'add',
      s.hostIf,
      ...mtu,
      'type',
      'veth',
      'peer',
      'name',
      s.podIf,
      ...mtu,
      'netns',
      s.pod.linkTarget,
    ]);
  } else if (s.host.linkTarget !== undefined) {
    await s.pod.ip([
      'link',
      'add',
      s.podIf,
      ...mtu,
      'type',
      'veth',
      'peer',
      'name',
      s.hostIf,
      ...mtu,
      'netns',
      s.host.linkTarget,
    ]);
  } else {
    throw new CniError(
      CniErrorCode.InvalidNetworkConfig,
      `cannot join ${s.host} and ${s.pod}: one of them must be a named namespace or the current one`,
    );
  }
}

/** Host side: Calico's MAC, proxy ARP (no delay), forwarding, IPv6 link-local gateway; then up. */
export async function configureHostSide(host: Netns, hostIf: string, ipv6: boolean): Promise<void> {
  await host.ip(['link', 'set', 'dev', hostIf, 'address', HOST_SIDE_MAC]);
  await host.sysctl(`net/ipv4/conf/${hostIf}/proxy_arp`, '1');
  await host.sysctl(`net/ipv4/neigh/${hostIf}/proxy_delay`, '0');
  await host.sysctl(`net/ipv4/conf/${hostIf}/forwarding`, '1');
  if (ipv6) {
    await host.sysctl(`net/ipv6/conf/${hostIf}/disable_ipv6`, '0');
    await host.sysctl(`net/ipv6/conf/${hostIf}/accept_ra`, '0');
    await host.sysctl(`net/ipv6/conf/${hostIf}/forwarding`, '1');
    await host.sysctl(`net/ipv6/conf/${hostIf}/proxy_ndp`, '1');
    // The pod's gateway: the EUI-64 link-local of the MAC, added now (no DAD) so that it is
    // usable at once whatever the kernel's addr_gen_mode.
    await host.ip(['-6', 'addr', 'add', `${IPV6_GATEWAY}/64`, 'dev', hostIf, 'nodad']);
  }
  await host.ip(['link', 'set', 'dev', hostIf, 'up']);
}

/** Pod side: addresses (host prefixes), link up, the gateway routes. */
export async function configurePodSide(pod: Netns, podIf: string, ipv4?: string, ipv6?: string): Promise<void> {
  const lines = [`link set dev ${podIf} up`];
  if (ipv4) {
    lines.push(`addr add ${ipv4}/32 dev ${podIf}`);
    lines.push(`route add ${IPV4_GATEWAY} dev ${podIf} scope link`);
    lines.push(`route add default via ${IPV4_GATEWAY} dev ${podIf}`);
  }
  if (ipv6) {
    await pod.sysctl(`net/ipv6/conf/${podIf}/disable_ipv6`, '0');
    await pod.sysctl(`net/ipv6/conf/${podIf}/accept_dad`, '0');
    lines.push(`addr add ${ipv6}/128 dev ${podIf} nodad`);
    lines.push(`route add ::/0 via ${IPV6_GATEWAY} dev ${podIf}`);
  }
  await pod.ipBatch(lines);
}

/** One link's state, or undefined when absent. */
export async function readLink(ns: Netns, ifname: string): Promise<IpLink | undefined> {
  if (!ns.exists() || !(await ns.linkExists(ifname))) return undefined;
  const [link] = await ns.ipJson<IpLink>(['link', 'show', 'dev', ifname]);
  return link;
}

/** Deletes a link (and so its veth peer); true if it was there. */
export async function deleteLink(ns: Netns, ifname: string): Promise<boolean> {
  if (!ns.exists() || !(await ns.linkExists(ifname))) return false;
  const r = await ns.ip(['link', 'del', 'dev', ifname], { allowFailure: true });
  if (r.exitCode !== 0 && (await ns.linkExists(ifname)))
    throw new CniError(CniErrorCode.InterfaceFailure, `cannot delete ${ifname} in ${ns}`, r.stderr.trim());
  return r.exitCode === 0;
}
