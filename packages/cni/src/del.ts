import { Ipam, ResourceStore } from '@tabby/datastore';
import type { CniContext } from './context.js';
import { toCniError } from './datastore-errors.js';
import { deleteLink } from './veth.js';

/** What DEL found and removed (for logs and tests). */
export interface DelOutcome {
  releasedIps: string[];
  deletedEndpoint: boolean;
  deletedHostLink: boolean;
  deletedPodLink: boolean;
}

/**
 * DEL: releases the addresses held by the container's handle, deletes its WorkloadEndpoint and
 * the veth pair. Idempotent: whatever is already gone is skipped, and DEL of an unknown container
 * succeeds. A WorkloadEndpoint (and host veth) that now belongs to a newer sandbox of the same pod
 * (another container ID) is left alone.
 */
export async function cmdDel(ctx: CniContext): Promise<DelOutcome> {
  const { env, ds, host, pod, id } = ctx;
  const resources = new ResourceStore(ds);
  const out: DelOutcome = { releasedIps: [], deletedEndpoint: false, deletedHostLink: false, deletedPodLink: false };

  let ours = true;
  try {
    const wep = await resources.get('WorkloadEndpoint', id.endpointName, id.namespace);
    if (wep?.spec.containerID && wep.spec.containerID !== env.containerId) ours = false;
    else if (wep) {
      await resources.delete('WorkloadEndpoint', id.endpointName, id.namespace).catch((err: { code?: string }) => {
        if (err.code !== 'NOT_FOUND') throw err;
      });
      out.deletedEndpoint = true;
    }
  } catch (err) {
    throw toCniError(err, `deleting WorkloadEndpoint ${id.namespace}/${id.endpointName}`);
  }

  if (pod?.exists()) out.deletedPodLink = await deleteLink(pod, env.ifname);
  if (ours) out.deletedHostLink = await deleteLink(host, id.hostInterface);

  try {
    out.releasedIps = await new Ipam(ds).releaseByHandle(id.handle);
  } catch (err) {
    throw toCniError(err, `releasing the addresses of ${id.handle}`);
  }
  return out;
}
