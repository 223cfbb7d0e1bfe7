import { longestMatch, type RouteDecision } from './trace.js';

/** A route as the FIB drivers hold it (`KernelRoute` in @tabby/fib has this shape). */
export interface RouteLike {
  dst: string;
  type: string;
  protocol: number | string;
  scope?: string;
  dev?: string;
  via?: string;
  onlink?: boolean;
  nextHops?: readonly { via?: string; dev?: string }[];
}

/** A route as `ip route` prints it. */
export function routeLine(r: RouteLike): string {
  if (r.type === 'blackhole') return `blackhole ${r.dst} proto ${r.protocol}`;
  const hops = r.nextHops?.length
    ? r.nextHops.map((h) => `nexthop via ${h.via}${h.dev ? ` dev ${h.dev}` : ''}`).join(' ')
    : `${r.via ? `via ${r.via} ` : ''}dev ${r.dev}`;
  return `${r.dst} ${hops}${r.onlink ? ' onlink' : ''} proto ${r.protocol}${r.scope === 'link' ? ' scope link' : ''}`;
}

/** What a memory FIB does with a packet for `dst`: longest-prefix match over its routes. */
export function memoryRouteGet(table: string, routes: RouteLike[], dst: string): RouteDecision {
  const from = `${table}: longest prefix match for ${dst}`;
  const r = longestMatch(routes, dst);
  if (!r) return { type: 'error', from, error: 'no route' };
  const hop = r.nextHops?.[0];
  const dev = r.dev ?? hop?.dev;
  const gateway = r.via ?? hop?.via;
  return { type: r.type, from, route: routeLine(r), ...(dev ? { dev } : {}), ...(gateway ? { gateway } : {}) };
}

/**
 * A pod's first hop when its namespace is not read (no pod namespaces, or none this map can find):
 * the route the CNI plugin gives every pod, `default via 169.254.1.1 dev eth0`, and why.
 */
export function cniPodRoute(why: string): RouteDecision {
  return {
    type: 'unicast',
    dev: 'eth0',
    gateway: '169.254.1.1',
    from: `${why}: the route the CNI plugin gives every pod`,
  };
}
