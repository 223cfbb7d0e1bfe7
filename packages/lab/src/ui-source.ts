import { ControlClient } from '@tabby/bgpctl';
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
  type NodeView,
  type PodView,
  routeLine,
  sessionsOf,
  tracePath,
} from '@tabby/ui';
import type { InProcessLab } from './in-process.js';
import type { NetnsLab, Pod } from './netns-lab.js';

/** A node's `bgpctl node status`: its peers, and why it is not ready; null peers when it does not answer. */
async function nodeStatus(socket: string): Promise<{ peers: NodePeers['peers']; note?: string }> {
  let client: ControlClient | undefined;
  try {
    client = await ControlClient.connect(socket, 1000);
    const st = await client.request<{ reason?: string; peers: { peer_address: string; info: string }[] }>(
      'node status',
    );
    return { peers: st.peers, ...(st.reason ? { note: st.reason } : {}) };
  } catch (err) {
    return { peers: null, note: (err as Error).message };
  } finally {
    client?.close();
  }
}

interface NodeRead {
  name: string;
  address: string;
  address6?: string;
  reflector: boolean;
  socket: string;
  routes: () => Promise<string[]>;
}

async function readView(title: string, routesFrom: string, nodes: NodeRead[], pods: PodView[]): Promise<ClusterView> {
  const read = await Promise.all(
    nodes.map(async (n) => {
      const [st, routes] = await Promise.all([nodeStatus(n.socket), n.routes().catch(() => [] as string[])]);
      return { n, st, routes };
    }),
  );
  const views: NodeView[] = read.map(({ n, st, routes }) => ({
    name: n.name,
    address: n.address,
    role: n.reflector ? 'reflector' : 'node',
    up: st.peers !== null,
    ...(st.note ? { note: st.note } : {}),
    blocks: blocksOf(routes),
    routes,
  }));
  const peers: NodePeers[] = read.map(({ n, st }) => ({
    name: n.name,
    address: n.address,
    ...(n.address6 ? { address6: n.address6 } : {}),
    peers: st.peers,
  }));
  return { title, routesFrom, nodes: views, sessions: sessionsOf(peers), pods };
}

/**
 * The map's view of a netns lab: sessions from each node's control socket, routes from each
 * node's kernel table (`ip -n NS route`), paths from `ip -j route get` in the pod's and each
 * node's namespace.
 */
export function netnsLabSource(lab: NetnsLab, pods: Pod[], reflectors: number): ClusterSource {
  const podViews = (): PodView[] =>
    pods.map((p) => ({ name: p.name, node: p.node.name, ip: p.ip, ...(p.ip6 ? { ip6: p.ip6 } : {}) }));
  return {
    view: () =>
      readView(
        `netns lab: ${lab.nodes.length} nodes, ${pods.length} pods`,
        'each node namespace’s kernel table (ip -n NS route)',
        lab.nodes.map((n, i) => ({
          name: n.name,
          address: n.address,
          ...(n.address6 ? { address6: n.address6 } : {}),
          reflector: i < reflectors,
          socket: n.socket,
          routes: () => kernelRoutes(n.ns.name, lab.dualStack),
        })),
        podViews(),
      ),
    trace: (from, to, family) =>
      tracePath(
        { nodes: lab.nodes, pods: podViews(), ifname: (p) => workloadInterfaceName('default', p.name) },
        {
          pod: (p, dst) => kernelRouteGet(pods.find((x) => x.name === p.name)!.ns.name, dst),
          node: (name, dst, src, iif) =>
            kernelRouteGet(lab.nodes.find((n) => n.name === name)!.ns.name, dst, { src, iif }),
        },
        from,
        to,
        family,
      ),
  };
}

/**
 * The map's view of the in-process lab: sessions from each agent's control socket, routes from
 * each node's memory FIB (what the kernel would get), paths by longest-prefix match in those
 * FIBs. Pods have no namespace here: their first hop is the CNI plugin's route.
 */
export function inProcessLabSource(lab: InProcessLab): ClusterSource {
  const o = lab.opts;
  const pods = async (): Promise<PodView[]> =>
    (await lab.store.list('WorkloadEndpoint')).items.map((w) => ({
      name: w.spec.pod,
      node: w.spec.node,
      ip: (w.spec.ipNetworks[0] ?? '').split('/')[0]!,
    }));
  const fib = async (name: string) => (await lab.nodes.find((n) => n.name === name)!.routes.read()).routes;
  return {
    view: async () =>
      readView(
        `in-process lab: ${o.nodes} nodes, ${o.topology === 'rr' ? `${o.reflectors} route reflectors` : 'full mesh'}`,
        'each node’s memory FIB (what the kernel would get; nothing is programmed)',
        lab.nodes.map((n, i) => ({
          name: n.name,
          address: n.address,
          reflector: o.topology === 'rr' && i < o.reflectors,
          socket: n.socket,
          routes: async () => (await fib(n.name)).map(routeLine).sort(),
        })),
        await pods(),
      ),
    trace: async (from, to, family) =>
      tracePath(
        { nodes: lab.nodes, pods: await pods(), ifname: (p) => workloadInterfaceName('default', p.name) },
        {
          pod: async () => cniPodRoute('in-process lab, no pod namespaces'),
          node: async (name, dst) => memoryRouteGet(`${name}'s memory FIB`, await fib(name), dst),
        },
        from,
        to,
        family,
      ),
  };
}
