import { canonicalPrefix, isIpv6 } from './cidr.js';
import type { ClassRoutes } from './class-routes.js';
import { RouteClass } from './constants.js';
import type { LocalWorkload } from './inputs.js';

/**
 * Local workload routes: one host route per pod address on the pod's host-side interface
 * (`198.19.1.5/32 dev caliXXXXXXXXXXX scope link`, `/128` for IPv6). Pure.
 */
export function workloadRoutes(workloads: Iterable<LocalWorkload>): ClassRoutes[] {
  const byIface = new Map<string, ClassRoutes>();
  for (const w of workloads) {
    let entry = byIface.get(w.interfaceName);
    if (!entry) {
      entry = { cls: RouteClass.LocalWorkload, iface: w.interfaceName, routes: [] };
      byIface.set(w.interfaceName, entry);
    }
    for (const ip of w.ips) {
      const addr = ip.includes('/') ? ip.slice(0, ip.indexOf('/')) : ip;
      entry.routes.push({ dst: canonicalPrefix(`${addr}/${isIpv6(addr) ? 128 : 32}`) });
    }
  }
  return [...byIface.values()];
}
