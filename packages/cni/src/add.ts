import { Ipam, ResourceStore } from '@tabby/datastore';
import type { CniContext } from './context.js';
import { toCniError } from './datastore-errors.js';
import { CniError, CniErrorCode } from './errors.js';
import { buildResult, type CniResult } from './result.js';
import { configureHostSide, configurePodSide, createVeth, deleteLink, readLink } from './veth.js';
import { workloadEndpoint } from './workload.js';

/**
 * ADD: assigns the addresses, creates and configures the veth pair, writes the WorkloadEndpoint.
 * On any failure it undoes what it did (in reverse order) and rethrows.
 */
export async function cmdAdd(ctx: CniContext): Promise<CniResult> {
  const { env, conf, ds, node, host, pod, id } = ctx;
  if (!pod?.exists()) throw new CniError(CniErrorCode.UnknownContainer, `CNI_NETNS ${env.netns} does not exist`);
  const ipam = new Ipam(ds);
  const resources = new ResourceStore(ds);
  const undo: { what: string; run: () => Promise<unknown> }[] = [];
  try {
    let ipv4: string | undefined;
    let ipv6: string | undefined;
    undo.push({ what: 'release addresses', run: () => ipam.releaseByHandle(id.handle) });
    try {
      if (conf.ipam.assignIpv4)
        ipv4 = await ipam.assign({
          node,
          handle: id.handle,
          family: 4,
          ...(conf.ipam.ipv4Pools ? { pools: conf.ipam.ipv4Pools } : {}),
        });
      if (conf.ipam.assignIpv6)
        ipv6 = await ipam.assign({
          node,
          handle: id.handle,
          family: 6,
          ...(conf.ipam.ipv6Pools ? { pools: conf.ipam.ipv6Pools } : {}),
        });
    } catch (err) {
      throw toCniError(err, `IPAM for ${id.handle} on node ${node}`);
    }

    await createVeth({
      host,
      pod,
      hostIf: id.hostInterface,
      podIf: env.ifname,
      ...(conf.mtu ? { mtu: conf.mtu } : {}),
    });
    undo.push({ what: `delete ${id.hostInterface}`, run: () => deleteLink(host, id.hostInterface) });
    await configureHostSide(host, id.hostInterface, ipv6 !== undefined);
    await configurePodSide(pod, env.ifname, ipv4, ipv6);
    const podMac = (await readLink(pod, env.ifname))?.address;
    if (!podMac) throw new CniError(CniErrorCode.InterfaceFailure, `${env.ifname} vanished from ${pod} during ADD`);

    const ipNetworks = [...(ipv4 ? [`${ipv4}/32`] : []), ...(ipv6 ? [`${ipv6}/128`] : [])];
    const wep = workloadEndpoint(id, env, node, ipNetworks, podMac);
    try {
      // apply: replaces a WorkloadEndpoint left by an earlier sandbox of the same pod.
      await resources.apply(wep);
    } catch (err) {
      throw toCniError(err, `writing WorkloadEndpoint ${id.namespace}/${id.endpointName}`);
    }
    undo.push({
      what: 'delete WorkloadEndpoint',
      run: () => resources.delete('WorkloadEndpoint', id.endpointName, id.namespace),
    });
    return buildResult(conf, { hostIf: id.hostInterface, podIf: env.ifname, podMac, netns: env.netns, ipv4, ipv6 });
  } catch (err) {
    const failures: string[] = [];
    for (const step of undo.reverse()) {
      try {
        await step.run();
      } catch (e) {
        failures.push(`${step.what}: ${(e as Error).message}`);
      }
    }
    const cni = toCniError(err, 'ADD');
    if (failures.length)
      throw new CniError(
        cni.code,
        cni.message,
        [cni.details, `cleanup failed: ${failures.join('; ')}`].filter(Boolean).join('\n'),
      );
    throw cni;
  }
}
