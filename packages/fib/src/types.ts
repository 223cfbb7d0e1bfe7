import type { RouteType, Scope } from './constants.js';

/** One next hop of an ECMP route. */
export interface NextHop {
  /** Gateway address; omitted for a next hop that is just an interface. */
  via?: string;
  dev: string;
  onlink?: boolean;
  /** ECMP weight, 1 to 256 (default 1). */
  weight?: number;
}

/**
 * A route as a caller wants it, given to `RouteTable.setRoutes(class, interface, routes)`. The
 * output interface is the one passed to `setRoutes`, unless it is `NO_INTERFACE` (blackholes,
 * ECMP routes whose next hops name their own devices).
 */
export interface RouteTarget {
  /** Destination prefix (`198.18.1.0/26`, `198.18.1.5` meaning /32, `2001:db8::/64`). */
  dst: string;
  /** Default `unicast`. */
  type?: RouteType;
  /** Gateway on the interface. Without it the route is a direct (scope link) route. */
  via?: string;
  /** Treat the gateway as directly reachable even if no address covers it. */
  onlink?: boolean;
  /** ECMP: two or more next hops. Only with interface `NO_INTERFACE`. */
  nextHops?: readonly NextHop[];
  /** Preferred source address. */
  src?: string;
}

/** A route in the kernel's form: what drivers read back and write. */
export interface KernelRoute {
  /** Canonical prefix, always with a length. */
  dst: string;
  type: RouteType;
  protocol: number;
  scope: Scope;
  /** Set for single-path unicast routes. */
  dev?: string;
  via?: string;
  onlink?: boolean;
  src?: string;
  /** Set (two or more) for multipath routes; then dev/via are unset. */
  nextHops?: NextHop[];
  /** Omitted means the family default (0 for IPv4, 1024 for IPv6). */
  metric?: number;
}
