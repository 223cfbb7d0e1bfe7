import { canonicalPrefix } from './cidr.js';
import type { ClassRoutes } from './class-routes.js';
import { NO_INTERFACE, RouteClass, RouteType } from './constants.js';
import type { Block } from './inputs.js';

/**
 * Blackhole routes for this node's blocks, so traffic to an unassigned address in a local block
 * is dropped here instead of following a default route. A /32 (or /128) block is a single
 * address and gets none. Pure.
 */
export function blackholeRoutes(localNode: string, blocks: Iterable<Block>): ClassRoutes {
  const routes = [];
  for (const b of blocks) {
    if (b.node !== localNode) continue;
    const dst = canonicalPrefix(b.cidr);
    if (dst.endsWith('/32') || dst.endsWith('/128')) continue;
    routes.push({ dst, type: RouteType.Blackhole });
  }
  return { cls: RouteClass.Blackhole, iface: NO_INTERFACE, routes };
}
