import { ipamKeys, ResourceStore } from '@tabby/datastore';
import type { CniContext } from './context.js';
import { toCniError } from './datastore-errors.js';
import { CniError, CniErrorCode } from './errors.js';
import { supportsCheck } from './versions.js';
import { HOST_SIDE_MAC, IPV4_GATEWAY, IPV6_GATEWAY, readLink } from './veth.js';

interface IpAddr {
  addr_info?: { local: string; prefixlen: number; family: string }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
}

function prevResultIps(prev: unknown): string[] {
  const ips = (prev as { ips?: { address?: unknown }[] } | undefined)?.ips;
  if (!Array.isArray(ips)) return [];
  return ips.map((i) => i.address).filter((a): a is string => typeof a === 'string');
}

/**
 * CHECK: the WorkloadEndpoint and the IPAM handle exist and belong to this container; the host
 * side exists, is up and has Calico's MAC; the pod side exists and is up, holds every address (of
 * the endpoint and of `prevResult`) and has the gateway routes. Every problem found is listed
 * in one CheckFailed error.
 */
export async function cmdCheck(ctx: CniContext): Promise<void> {
  const { env, conf, ds, host, pod, id } = ctx;
  if (!supportsCheck(conf.cniVersion))
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `CHECK needs cniVersion 0.4.0 or later, got ${conf.cniVersion}`,
    );
  if (!pod?.exists()) throw new CniError(CniErrorCode.UnknownContainer, `CNI_NETNS ${env.netns} does not exist`);
  const problems: string[] = [];

  let networks: string[] = [];
  try {
    const wep = await new ResourceStore(ds).get('WorkloadEndpoint', id.endpointName, id.namespace);
    if (!wep) problems.push(`WorkloadEndpoint ${id.namespace}/${id.endpointName} does not exist`);
    else {
      networks = wep.spec.ipNetworks;
      if (wep.spec.containerID !== env.containerId)
        problems.push(`WorkloadEndpoint belongs to container ${wep.spec.containerID}, not ${env.containerId}`);
      if (wep.spec.interfaceName !== id.hostInterface)
        problems.push(`WorkloadEndpoint names interface ${wep.spec.interfaceName}, expected ${id.hostInterface}`);
    }
    if (!(await ds.get(ipamKeys.handle(id.handle)))) problems.push(`IPAM handle ${id.handle} holds no address`);
  } catch (err) {
    throw toCniError(err, 'CHECK reading the datastore');
  }
  const expected = new Set([...networks, ...prevResultIps(conf.prevResult)]);

  const hostLink = await readLink(host, id.hostInterface);
  if (!hostLink) problems.push(`host interface ${id.hostInterface} does not exist in ${host}`);
  else {
    if (hostLink.address !== HOST_SIDE_MAC)
      problems.push(`host interface ${id.hostInterface} has MAC ${hostLink.address}, expected ${HOST_SIDE_MAC}`);
    if (!hostLink.flags?.includes('UP')) problems.push(`host interface ${id.hostInterface} is down`);
  }

  const podLink = await readLink(pod, env.ifname);
  if (!podLink) problems.push(`${env.ifname} does not exist in ${pod}`);
  else {
    if (!podLink.flags?.includes('UP')) problems.push(`${env.ifname} in ${pod} is down`);
    const [addrs] = await pod.ipJson<IpAddr>(['addr', 'show', 'dev', env.ifname]);
    const have = new Set((addrs?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
    for (const want of expected) if (!have.has(want)) problems.push(`${env.ifname} lacks address ${want}`);
    const hasV4 = [...expected].some((a) => !a.includes(':'));
    const hasV6 = [...expected].some((a) => a.includes(':'));
    if (hasV4) {
      const routes = await pod.ipJson<IpRoute>(['-4', 'route', 'show']);
      if (!routes.some((r) => r.dst === IPV4_GATEWAY && r.dev === env.ifname && r.scope === 'link'))
        problems.push(`route ${IPV4_GATEWAY} dev ${env.ifname} scope link is missing`);
      if (!routes.some((r) => r.dst === 'default' && r.gateway === IPV4_GATEWAY))
        problems.push(`route default via ${IPV4_GATEWAY} is missing`);
    }
    if (hasV6) {
      const routes = await pod.ipJson<IpRoute>(['-6', 'route', 'show']);
      if (!routes.some((r) => r.dst === 'default' && r.gateway === IPV6_GATEWAY && r.dev === env.ifname))
        problems.push(`route default via ${IPV6_GATEWAY} dev ${env.ifname} is missing`);
    }
  }
  if (problems.length)
    throw new CniError(
      CniErrorCode.CheckFailed,
      `CHECK failed for container ${env.containerId}: ${problems.join('; ')}`,
    );
}
