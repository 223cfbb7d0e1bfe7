import { canonicalAddress, canonicalPrefix, isIpv6, kernelPrefix } from './cidr.js';
import { NO_INTERFACE, RouteType, Scope } from './constants.js';
import { InvalidRouteError } from './errors.js';
import type { KernelRoute, NextHop, RouteTarget } from './types.js';

/**
 * Turns a caller's route into the kernel route the table will program: canonical prefix,
 * interface, protocol and scope (direct routes are scope link, gateway routes global).
 */
export function toKernelRoute(target: RouteTarget, iface: string, protocol: number): KernelRoute {
  const dst = canonicalPrefix(target.dst);
  const type = target.type ?? RouteType.Unicast;
  if (type !== RouteType.Unicast) {
    if (target.via || target.nextHops?.length)
      throw new InvalidRouteError(dst, `a ${type} route has no gateway or next hops`);
    return { dst, type, protocol, scope: Scope.Global };
  }
  const r: KernelRoute = { dst, type, protocol, scope: Scope.Global };
  if (target.src) r.src = canonicalAddress(target.src);
  if (target.nextHops && target.nextHops.length > 0) {
    if (iface !== NO_INTERFACE) throw new InvalidRouteError(dst, 'ECMP routes must be set with interface NO_INTERFACE');
    const hops = target.nextHops.map((h) => normaliseHop(dst, h));
    if (hops.length === 1) {
      const h = hops[0]!;
      r.dev = h.dev;
      if (h.via) r.via = h.via;
      else if (!isIpv6(dst)) r.scope = Scope.Link;
      if (h.onlink) r.onlink = true;
      return r;
    }
    r.nextHops = sortHops(hops);
    return r;
  }
  if (iface === NO_INTERFACE) throw new InvalidRouteError(dst, 'a unicast route needs an interface or next hops');
  if (target.via && !target.src) {
    // The common shape (a gateway on an interface), made in one go.
    const via = canonicalAddress(target.via);
    const v6 = isIpv6(dst);
    if (isIpv6(via) !== v6) throw new InvalidRouteError(dst, `gateway ${target.via} is of another family`);
    return target.onlink
      ? { dst, type, protocol, scope: Scope.Global, dev: iface, via, onlink: true }
      : { dst, type, protocol, scope: Scope.Global, dev: iface, via };
  }
  r.dev = iface;
  if (target.via) {
    r.via = canonicalAddress(target.via);
    if (isIpv6(r.via) !== isIpv6(dst)) throw new InvalidRouteError(dst, `gateway ${target.via} is of another family`);
  } else if (!isIpv6(dst)) r.scope = Scope.Link; // IPv6 routes have no scope
  if (target.onlink) r.onlink = true;
  return r;
}

function normaliseHop(dst: string, h: NextHop): NextHop {
  if (!h.dev) throw new InvalidRouteError(dst, 'every next hop needs a device');
  const out: NextHop = { dev: h.dev };
  if (h.via) out.via = canonicalAddress(h.via);
  if (h.onlink) out.onlink = true;
  if (h.weight !== undefined && h.weight !== 1) {
    if (!Number.isInteger(h.weight) || h.weight < 1 || h.weight > 256)
      throw new InvalidRouteError(dst, `next-hop weight ${h.weight} is not 1..256`);
    out.weight = h.weight;
  }
  return out;
}

export function sortHops(hops: NextHop[]): NextHop[] {
  return hops.sort((a, b) => hopKey(a).localeCompare(hopKey(b)));
}

function hopKey(h: NextHop): string {
  return `${h.via ?? ''}@${h.dev}${h.onlink ? '!' : ''}*${h.weight ?? 1}`;
}

/** Content identity of a route (everything the table programs, except the metric). */
export function routeSignature(r: KernelRoute): string {
  let s = `${r.type} ${r.dst} p${r.protocol}`;
  if (r.type !== RouteType.Unicast) return s;
  if (r.nextHops) return `${s} ${r.nextHops.map(hopKey).join(' ')}${r.src ? ` s${r.src}` : ''}`;
  s += ` ${r.via ?? ''}@${r.dev ?? ''}${r.onlink ? '!' : ''} ${r.scope}`;
  return r.src ? `${s} s${r.src}` : s;
}

/**
 * True when `target`, set on `iface`, is exactly `route` already, as given (canonical spelling).
 * Allocation-free: lets `setRoutes` skip converting the unchanged bulk of a large set. A false
 * answer only means "convert and compare properly".
 */
export function targetMatches(t: RouteTarget, iface: string, r: KernelRoute): boolean {
  if (t.dst !== r.dst || (t.type ?? RouteType.Unicast) !== r.type || (t.src ?? undefined) !== r.src) return false;
  if (r.type !== RouteType.Unicast) return !t.via && !t.nextHops?.length;
  if (r.nextHops) {
    const hops = t.nextHops;
    if (iface !== NO_INTERFACE || !hops || hops.length !== r.nextHops.length) return false;
    for (let i = 0; i < hops.length; i++) {
      const h = hops[i]!;
      const k = r.nextHops[i]!;
      if (h.dev !== k.dev || h.via !== k.via || !h.onlink !== !k.onlink || (h.weight ?? 1) !== (k.weight ?? 1))
        return false;
    }
    return true;
  }
  return !t.nextHops?.length && r.dev === iface && t.via === r.via && !t.onlink === !r.onlink;
}

/** Same content as `routeSignature(a) === routeSignature(b)`, without building strings. */
export function routeEquals(a: KernelRoute, b: KernelRoute): boolean {
  if (a.dst !== b.dst || a.type !== b.type || a.protocol !== b.protocol) return false;
  if (a.type !== RouteType.Unicast) return true;
  if ((a.src ?? '') !== (b.src ?? '')) return false;
  if (a.nextHops || b.nextHops) {
    const x = a.nextHops;
    const y = b.nextHops;
    if (!x || !y || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) {
      const h = x[i]!;
      const k = y[i]!;
      if (
        h.dev !== k.dev ||
        (h.via ?? '') !== (k.via ?? '') ||
        !h.onlink !== !k.onlink ||
        (h.weight ?? 1) !== (k.weight ?? 1)
      )
        return false;
    }
    return true;
  }
  return (
    (a.via ?? '') === (b.via ?? '') && (a.dev ?? '') === (b.dev ?? '') && !a.onlink === !b.onlink && a.scope === b.scope
  );
}

/** True when the route's metric is the family default (the one the table programs). */
export function hasDefaultMetric(r: KernelRoute): boolean {
  return r.metric === undefined || r.metric === (isIpv6(r.dst) ? 1024 : 0);
}

/** Devices a route uses. */
export function routeDevices(r: KernelRoute): string[] {
  if (r.nextHops) return r.nextHops.map((h) => h.dev);
  return r.dev ? [r.dev] : [];
}

/** The `ip route` arguments after the verb: `198.18.1.0/26 via 198.18.0.2 dev eth0 onlink proto 80`. */
export function routeArgs(r: KernelRoute, table: number): string {
  let s = r.type === RouteType.Unicast ? kernelPrefix(r.dst) : `${r.type} ${kernelPrefix(r.dst)}`;
  if (!r.nextHops && r.type === RouteType.Unicast) {
    if (r.via) s += ` via ${r.via}`;
    if (r.dev) s += ` dev ${r.dev}`;
    if (r.onlink) s += ' onlink';
    if (r.scope !== Scope.Global) s += ` scope ${r.scope}`;
  }
  if (r.src) s += ` src ${r.src}`;
  if (r.metric !== undefined) s += ` metric ${r.metric}`;
  if (table !== 254) s += ` table ${table}`;
  s += ` proto ${r.protocol}`;
  // `nexthop` clauses must come last on the command line.
  if (r.nextHops) {
    for (const h of r.nextHops) {
      s += ' nexthop';
      if (h.via) s += ` via ${h.via}`;
      s += ` dev ${h.dev}`;
      if (h.weight !== undefined) s += ` weight ${h.weight}`;
      if (h.onlink) s += ' onlink';
    }
  }
  return s;
}
