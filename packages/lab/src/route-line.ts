import type { KernelRoute } from '@tabby/fib';

/** A route as `ip route` prints it. */
export function routeLine(r: KernelRoute): string {
  if (r.type === 'blackhole') return `blackhole ${r.dst} proto ${r.protocol}`;
  const hops = r.nextHops?.length
    ? r.nextHops.map((h) => `nexthop via ${h.via}${h.dev ? ` dev ${h.dev}` : ''}`).join(' ')
    : `${r.via ? `via ${r.via} ` : ''}dev ${r.dev}`;
  return `${r.dst} ${hops}${r.onlink ? ' onlink' : ''} proto ${r.protocol}${r.scope === 'link' ? ' scope link' : ''}`;
}
