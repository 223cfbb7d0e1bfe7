import type { Hop, PodView } from './model.js';

/** What one routing table does with a packet. */
export interface RouteDecision {
  /**
   * `unicast`, `local`, `blackhole`, `unreachable`, ... as `ip route get` says; `error` when the
   * lookup failed; `beyond` for a table this map cannot read (another host's, from `tabby node --ui`).
   */
  type: string;
  dev?: string;
  gateway?: string;
  /** The table entry that matched, as `ip route` prints it, when known. */
  route?: string;
  /** The command or lookup that decided. */
  from: string;
  /** Why there is no route (the kernel's answer). */
  error?: string;
}

/** Looks up routes where a packet is: in a pod's table, or in a node's table as it arrives. */
export interface RouteTables {
  pod(pod: PodView, dst: string): Promise<RouteDecision>;
  /** A packet from `src` arriving at `node` on interface `iif`. */
  node(node: string, dst: string, src: string, iif: string): Promise<RouteDecision>;
}

export interface TraceTopology {
  nodes: { name: string; address: string; address6?: string }[];
  pods: PodView[];
  /** The node's end of a pod's veth (`cali...`). */
  ifname(pod: PodView): string;
  /** The nodes' interface towards each other (default eth0). */
  uplink?: string;
}

const TUNNEL = /^(tunl|vxlan|wireguard|wg|ip6tnl)/;
/** More hops than any path through a cluster takes: a routing loop. */
const MAX_NODE_HOPS = 8;

function via(d: RouteDecision): string {
  return `${d.gateway ? `via ${d.gateway} ` : ''}dev ${d.dev}`;
}

function drop(at: string, d: RouteDecision, why: string): Hop {
  return { at, kind: 'drop', text: `${why}: ${d.error ?? d.route ?? d.type}`, from: d.from };
}

/**
 * The path a packet from pod `fromName` to pod `toName` takes, hop by hop, as each routing table
 * on the way decides: the pod's eth0 and its gateway, the node's cali veth, the node's route and
 * next hop (or tunnel), the next node, its cali route, the pod. A drop (no route, a blackhole, a
 * loop) ends the path with a `drop` hop saying why.
 */
export async function tracePath(
  topo: TraceTopology,
  tables: RouteTables,
  fromName: string,
  toName: string,
  family: 4 | 6 = 4,
): Promise<Hop[]> {
  const from = topo.pods.find((p) => p.name === fromName);
  const to = topo.pods.find((p) => p.name === toName);
  if (!from) throw new Error(`no pod ${fromName}`);
  if (!to) throw new Error(`no pod ${toName}`);
  const src = family === 6 ? from.ip6 : from.ip;
  const dst = family === 6 ? to.ip6 : to.ip;
  if (!src || !dst) throw new Error(`${!src ? fromName : toName} has no IPv${family} address`);
  const uplink = topo.uplink ?? 'eth0';
  const byAddress = new Map<string, string>();
  for (const n of topo.nodes) {
    byAddress.set(n.address, n.name);
    if (n.address6) byAddress.set(n.address6, n.name);
  }
  const hops: Hop[] = [];
  const first = await tables.pod(from, dst);
  if (first.type !== 'unicast' || first.dev !== 'eth0') {
    hops.push(drop(from.name, first, 'the pod has no route'));
    return hops;
  }
  hops.push({ at: from.name, kind: 'pod', text: `${src} → ${dst} ${via(first)}`, from: first.from });
  let node = from.node;
  let iif = topo.ifname(from);
  hops.push({ at: node, kind: 'veth', text: `in on ${iif} (the node's end of ${from.name}'s eth0)` });
  for (let i = 0; i < MAX_NODE_HOPS; i++) {
    const d = await tables.node(node, dst, src, iif);
    if (d.type === 'beyond') {
      hops.push({
        at: node,
        kind: 'beyond',
        text: d.error ?? `${node}'s table is not visible from here`,
        from: d.from,
      });
      return hops;
    }
    if (d.type !== 'unicast' || !d.dev) {
      hops.push(drop(node, d, 'dropped'));
      return hops;
    }
    const local = topo.pods.find((p) => p.node === node && topo.ifname(p) === d.dev);
    if (local) {
      hops.push({ at: node, kind: 'cali-route', text: d.route ?? `${dst} ${via(d)}`, from: d.from });
      if (local !== to) {
        hops.push({ at: local.name, kind: 'drop', text: `delivered to ${local.name}, not ${to.name}` });
        return hops;
      }
      hops.push({ at: to.name, kind: 'pod', text: `in on eth0 (${dst})` });
      return hops;
    }
    const next = d.gateway ? byAddress.get(d.gateway) : undefined;
    const tunnel = TUNNEL.test(d.dev);
    hops.push({ at: node, kind: 'host-route', text: d.route ?? `${dst} ${via(d)}`, from: d.from });
    if (!next) {
      hops.push(drop(node, d, `next hop ${d.gateway ?? `on ${d.dev}`} is no node of the cluster`));
      return hops;
    }
    hops.push({
      at: node,
      kind: tunnel ? 'tunnel' : 'next-hop',
      text: tunnel ? `encapsulated on ${d.dev} to ${d.gateway} (${next})` : `out ${d.dev} to ${d.gateway} (${next})`,
    });
    node = next;
    iif = tunnel ? d.dev : uplink;
  }
  hops.push({ at: node, kind: 'drop', text: `more than ${MAX_NODE_HOPS} nodes: a routing loop` });
  return hops;
}

/** Longest-prefix match of an IPv4 or IPv6 address in route lines (`DST ...`, `default ...`). */
export function longestMatch<R extends { dst: string }>(routes: R[], address: string): R | undefined {
  const v6 = address.includes(':');
  const bits = toBits(address);
  let best: R | undefined;
  let bestLen = -1;
  for (const r of routes) {
    const dst = r.dst === 'default' ? (v6 ? '::/0' : '0.0.0.0/0') : r.dst;
    if (dst.includes(':') !== v6) continue;
    const [net, lenText] = dst.split('/') as [string, string | undefined];
    const len = lenText === undefined ? (v6 ? 128 : 32) : Number(lenText);
    if (len <= bestLen) continue;
    if (toBits(net).slice(0, len) === bits.slice(0, len)) {
      best = r;
      bestLen = len;
    }
  }
  return best;
}

function toBits(address: string): string {
  if (!address.includes(':'))
    return address
      .split('.')
      .map((o) => Number(o).toString(2).padStart(8, '0'))
      .join('');
  const [head, tail] = address.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups
    .map((g) =>
      Number.parseInt(g || '0', 16)
        .toString(2)
        .padStart(16, '0'),
    )
    .join('');
}
