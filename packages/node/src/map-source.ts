import { type Datastore, ResourceStore } from '@tabby/datastore';
import { workloadInterfaceName } from '@tabby/fib';
import {
  blocksOf,
  type ClusterSource,
  type ClusterView,
  cniPodRoute,
  kernelRouteGet,
  kernelRoutes,
  memoryRouteGet,
  type NodePeers,
  type PodView,
  type RouteLike,
  routeLine,
  sessionsOf,
  tracePath,
} from '@tabby/ui';
import type { NodeAgent } from './agent.js';

/** How often the map reads the cluster's Nodes and WorkloadEndpoints from the datastore. */
const CLUSTER_READ_MS = 5000;
/** Routes listed on the page at most (a host can carry a full table). */
const MAX_ROUTE_LINES = 2000;

export interface NodeMapOptions {
  agent: NodeAgent;
  datastore: Datastore;
  /** With `--fib memory`: the memory table (else the kernel's main table is read). */
  memoryRoutes?: () => Promise<RouteLike[]>;
}

const bare = (cidr: string | undefined) => cidr?.split('/')[0];

/**
 * `tabby node --ui`: the cluster as one node sees it. Its own sessions, routes (its kernel table)
 * and blocks; the other nodes from the datastore, each up as far as this node's session with it
 * says, with the blocks this node routes to it; paths traced through this node's table only (the
 * next node's table is that node's map to read).
 */
export function nodeMapSource(o: NodeMapOptions): ClusterSource {
  const store = new ResourceStore(o.datastore);
  let cluster: { at: number; nodes: { name: string; address: string; address6?: string; reflector: boolean }[] };
  let pods: { at: number; pods: (PodView & { ifname: string })[] } | undefined;
  const readCluster = async () => {
    if (cluster && Date.now() - cluster.at < CLUSTER_READ_MS) return cluster.nodes;
    const nodes = (await store.list('Node')).items.flatMap((n) => {
      const address = bare(n.spec.bgp?.ipv4Address) ?? bare(n.spec.bgp?.ipv6Address);
      const address6 = bare(n.spec.bgp?.ipv6Address);
      if (!address) return [];
      return [
        {
          name: n.metadata.name,
          address,
          ...(address6 ? { address6 } : {}),
          reflector: !!n.spec.bgp?.routeReflectorClusterID,
        },
      ];
    });
    cluster = { at: Date.now(), nodes };
    return nodes;
  };
  const readPods = async () => {
    if (pods && Date.now() - pods.at < CLUSTER_READ_MS) return pods.pods;
    const list = (await store.list('WorkloadEndpoint')).items.map((w) => {
      const ns = w.metadata.namespace ?? 'default';
      const v4 = w.spec.ipNetworks.find((n) => !n.includes(':'));
      const v6 = w.spec.ipNetworks.find((n) => n.includes(':'));
      return {
        name: ns === 'default' ? w.spec.pod : `${ns}/${w.spec.pod}`,
        node: w.spec.node,
        ip: bare(v4 ?? v6) ?? '',
        ...(v4 && v6 ? { ip6: bare(v6)! } : {}),
        ifname: w.spec.interfaceName || workloadInterfaceName(ns, w.spec.pod),
      };
    });
    pods = { at: Date.now(), pods: list };
    return list;
  };
  const routes = async (v6: boolean): Promise<string[]> =>
    (o.memoryRoutes ? (await o.memoryRoutes()).map(routeLine).sort() : await kernelRoutes(null, v6)).slice(
      0,
      MAX_ROUTE_LINES,
    );
  const self = o.agent.name;
  return {
    async view(): Promise<ClusterView> {
      const nodes = await readCluster();
      const me = nodes.find((n) => n.name === self);
      const st = o.agent.status();
      const mine = await routes(!!me?.address6);
      const ours = new Map(st.peers.map((p) => [p.peer_address, p.info]));
      const stateWith = (n: { address: string; address6?: string }) =>
        ours.get(n.address) ?? (n.address6 ? ours.get(n.address6) : undefined);
      const peers: NodePeers[] = nodes.map((n) => {
        if (n.name === self) return { ...n, peers: st.peers };
        // The other end as this node sees it: only this node's side of each session is known.
        const info = stateWith(n);
        return { ...n, peers: info && me ? [{ peer_address: me.address, info }] : [] };
      });
      return {
        title: `${self}: the cluster as this node sees it`,
        routesFrom: o.memoryRoutes ? `${self}'s memory FIB (--fib memory)` : `${self}'s kernel table (ip route)`,
        nodes: nodes.map((n) => {
          if (n.name === self)
            return {
              name: n.name,
              address: n.address,
              role: n.reflector ? 'reflector' : 'node',
              up: true,
              ...(st.reason ? { note: st.reason } : {}),
              blocks: blocksOf(mine),
              routes: mine,
            };
          const info = stateWith(n);
          const gateways = [n.address, n.address6].filter(Boolean);
          return {
            name: n.name,
            address: n.address,
            role: n.reflector ? 'reflector' : 'node',
            up: info === undefined || info.startsWith('Established'),
            note:
              info === undefined
                ? `no session with ${self}: its state is not visible from here`
                : `seen from ${self}: ${info}`,
            // The blocks this node routes to it.
            blocks: mine.filter((r) => gateways.some((g) => r.includes(` via ${g} `))).map((r) => r.split(' ')[0]!),
            routes: [],
          };
        }),
        sessions: sessionsOf(peers),
        pods: (await readPods()).map(({ ifname: _, ...p }) => p),
      };
    },
    async trace(from, to, family) {
      const all = await readPods();
      const nodes = await readCluster();
      return tracePath(
        { nodes, pods: all, ifname: (p) => all.find((x) => x.name === p.name)?.ifname ?? '' },
        {
          pod: async (p) =>
            cniPodRoute(p.node === self ? 'pod namespaces are not read by tabby node' : `a pod on ${p.node}`),
          node: async (name, dst, src, iif) => {
            if (name !== self)
              return {
                type: 'beyond',
                from: `${name}'s own map (tabby node --ui there) reads its table`,
                error: `on to ${name}: its table is not read from ${self}`,
              };
            return o.memoryRoutes
              ? memoryRouteGet(`${self}'s memory FIB`, await o.memoryRoutes(), dst)
              : kernelRouteGet(null, dst, { src, iif });
          },
        },
        from,
        to,
        family,
      );
    },
  };
}
