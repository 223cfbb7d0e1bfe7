import type { ClassRoutes } from './class-routes.js';
import { NO_INTERFACE, RouteClass } from './constants.js';
import type { BgpBestRoute } from './inputs.js';
import type { RouteTarget } from './types.js';

/**
 * BGP-learned routes from the speaker's best-route stream, with ECMP sets as multipath routes,
 * programmed with the BGP protocol number. Routes without next hops are skipped. Pure.
 */
export function bgpRoutes(best: Iterable<BgpBestRoute>, uplink: string): ClassRoutes {
  const routes: RouteTarget[] = [];
  for (const b of best) if (b.nextHops.length > 0) routes.push(bgpRouteTarget(b, uplink));
  return { cls: RouteClass.Bgp, iface: NO_INTERFACE, routes };
}

/** One best route as a route target (class `bgp`, interface `NO_INTERFACE`). */
export function bgpRouteTarget(b: BgpBestRoute, uplink: string): RouteTarget {
  return {
    dst: b.prefix,
    nextHops: b.nextHops.map((h) => ({ via: h.via, dev: h.dev ?? uplink, ...(h.onlink ? { onlink: true } : {}) })),
  };
}
