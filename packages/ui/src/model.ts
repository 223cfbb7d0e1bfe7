/** What the map draws: one snapshot of the cluster, sent to the page whenever it changes. */
export interface ClusterView {
  /** A title for the page (which lab, which node). */
  title: string;
  /** Where the routes come from, said on the page (kernel tables, or a memory FIB). */
  routesFrom: string;
  nodes: NodeView[];
  sessions: SessionView[];
  pods: PodView[];
}

export interface NodeView {
  name: string;
  address: string;
  role: 'node' | 'reflector';
  /** The node's agent answers (its control socket, or the in-process agent is running). */
  up: boolean;
  /** Why the node is not up, or its agent's reason for not being ready. */
  note?: string;
  /** The node's own pod blocks (its blackhole routes). */
  blocks: string[];
  /** Its routing table, one line per route as `ip route` prints it. */
  routes: string[];
}

/** How a session is coloured: green, amber (on its way up), red. */
export const SESSION_CLASS = { established: 'established', connecting: 'connecting', down: 'down' } as const;
export type SessionClass = (typeof SESSION_CLASS)[keyof typeof SESSION_CLASS];

/** One BGP session between two nodes, as both ends see it. */
export interface SessionView {
  /** Node names, `a` < `b`. */
  a: string;
  b: string;
  /** The BGP state each end reports (`-` when that end does not answer). */
  stateA: string;
  stateB: string;
  class: SessionClass;
}

export interface PodView {
  name: string;
  node: string;
  ip: string;
  ip6?: string;
}

/** One step of a packet's path, as the routing table at that place decides it. */
export interface Hop {
  /** Node or pod name. */
  at: string;
  kind: 'pod' | 'veth' | 'host-route' | 'next-hop' | 'tunnel' | 'cali-route' | 'drop' | 'beyond';
  /** What happens here, in `ip route` words. */
  text: string;
  /** The command or table lookup that says so. */
  from?: string;
}

/** What the UI server reads: a lab or a node supplies one. */
export interface ClusterSource {
  view(): Promise<ClusterView>;
  /** The hops from pod `from` to pod `to` (names from the view), over IPv4 or IPv6. */
  trace(from: string, to: string, family?: 4 | 6): Promise<Hop[]>;
}

/** One node's sessions as its agent reports them (`bgpctl node status`). */
export interface NodePeers {
  name: string;
  address: string;
  /** Also the node's IPv6 address, for sessions over IPv6. */
  address6?: string;
  /** Null when the node does not answer. */
  peers: { peer_address: string; info: string }[] | null;
}

function classOf(states: string[]): SessionClass {
  if (states.every((s) => s === 'Established')) return 'established';
  if (states.some((s) => s === 'OpenSent' || s === 'OpenConfirm') && !states.includes('-')) return 'connecting';
  return 'down';
}

/**
 * The sessions between nodes, once per pair, from each node's own list of peers: a session is
 * green only when both ends say Established (a node that does not answer makes its sessions red;
 * of a pair's IPv4 and IPv6 sessions, the one not Established shows).
 * Peers that are not nodes of the cluster (an external router) are left out.
 */
export function sessionsOf(nodes: NodePeers[]): SessionView[] {
  const byAddress = new Map<string, string>();
  for (const n of nodes) {
    byAddress.set(n.address, n.name);
    if (n.address6) byAddress.set(n.address6, n.name);
  }
  const seen = new Map<string, Map<string, string>>();
  for (const n of nodes) {
    for (const p of n.peers ?? []) {
      const other = byAddress.get(p.peer_address);
      if (!other || other === n.name) continue;
      const [a, b] = n.name < other ? [n.name, other] : [other, n.name];
      const key = `${a} ${b}`;
      if (!seen.has(key)) seen.set(key, new Map());
      // Two sessions between the same nodes (IPv4 and IPv6): the pair shows the one that is down.
      const state = p.info.split(' ')[0] ?? '';
      const ends = seen.get(key)!;
      const prev = ends.get(n.name);
      if (prev === undefined || prev === 'Established') ends.set(n.name, state);
    }
  }
  const answering = new Set(nodes.filter((n) => n.peers).map((n) => n.name));
  const out: SessionView[] = [];
  for (const [key, states] of seen) {
    const [a, b] = key.split(' ') as [string, string];
    const stateA = states.get(a) ?? (answering.has(a) ? 'Idle' : '-');
    const stateB = states.get(b) ?? (answering.has(b) ? 'Idle' : '-');
    out.push({ a, b, stateA, stateB, class: classOf([stateA, stateB]) });
  }
  return out.sort((x, y) => (x.a === y.a ? (x.b < y.b ? -1 : 1) : x.a < y.a ? -1 : 1));
}

/** The blocks a node owns: its blackhole routes (Calico programs one per local block). */
export function blocksOf(routes: string[]): string[] {
  return routes.filter((r) => r.startsWith('blackhole ')).map((r) => r.split(' ')[1]!);
}
