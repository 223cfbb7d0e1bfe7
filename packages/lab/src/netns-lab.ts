import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonCommand } from '@tabby/bgp';
import { exec, type NetLab, type Netns, type NsProcess, waitFor } from '@tabby/test-helpers';

// Same depth from src/ and dist/.
const repo = fileURLToPath(new URL('../../..', import.meta.url));
export const TABBY = join(repo, 'packages/cli/bin/tabby.js');
export const BGPCTL = join(repo, 'packages/bgpctl/bin/bgpctl.js');
export const CNI = join(repo, 'packages/cni/bin/tabby-cni.js');
export const DS_ADDRESS = '198.18.0.254';
export const DS_URL = `redis://${DS_ADDRESS}:6379/0`;
/**
 * IPv6 in a dual-stack lab comes from the documentation prefix (RFC 3849), which no real network
 * routes, as 198.18.0.0/15 for IPv4: node underlay 2001:db8:18::N/64, pods from 2001:db8:19::/48.
 */
export const V6_UNDERLAY = '2001:db8:18::';
export const V6_POOL = '2001:db8:19::/48';

export interface ClusterNode {
  name: string;
  ns: Netns;
  address: string;
  /** The node's IPv6 underlay address in a dual-stack lab. */
  address6?: string;
  socket: string;
  proc: NsProcess | null;
}

export interface Pod {
  name: string;
  node: ClusterNode;
  ns: Netns;
  ip: string;
  /** The pod's IPv6 address in a dual-stack lab. */
  ip6?: string;
}

/**
 * A cluster in network namespaces: a switch (bridge), a datastore host running a real Redis at
 * 198.18.0.254, and node hosts at 198.18.0.1, .2, ... each running `tabby node` with the kernel
 * FIB. Pods are namespaces plugged into their node by the CNI plugin (`addPodCni`), or by hand
 * (`addPod`: a veth, an IPAM address and a WorkloadEndpoint). Used by `tabby lab up --netns` and
 * the end-to-end tests; everything lives in namespaces the NetLab made (198.18.0.0/15).
 */
export class NetnsLab {
  readonly dir = mkdtempSync(join(tmpdir(), 'tabby-netns-lab-'));
  nodes: ClusterNode[] = [];
  ds!: Netns;
  redis: NsProcess | null = null;
  private plug!: (host: Netns, ifname: string, cidr: string | null) => Promise<void>;

  /** `dualStack`: nodes get IPv6 underlay addresses too and pods an IPv6 address (see V6_POOL). */
  constructor(
    readonly lab: NetLab,
    readonly dualStack = false,
  ) {}

  /** Plugs another host into the cluster's switch. */
  get bridgePlug(): (host: Netns, ifname: string, cidr: string | null) => Promise<void> {
    return this.plug;
  }

  /** Stops Redis (its data stays on disk: append-only file, fsync always). */
  async stopDatastore(): Promise<void> {
    await this.redis?.kill('SIGTERM');
  }

  /**
   * Saves the datastore's data as `name` (an operator's backup): Redis is stopped for the copy
   * and started again on the same data.
   */
  async backupDatastore(name: string): Promise<void> {
    await this.stopDatastore();
    cpSync(join(this.dir, 'appendonlydir'), join(this.dir, `backup-${name}`), { recursive: true });
    await this.startDatastore();
  }

  /**
   * Stops Redis and starts it again on the data saved as `name`, or on no data at all (`null`: a
   * server that comes back empty).
   */
  async restoreDatastore(name: string | null): Promise<void> {
    await this.stopDatastore();
    rmSync(join(this.dir, 'appendonlydir'), { recursive: true, force: true });
    if (name !== null) cpSync(join(this.dir, `backup-${name}`), join(this.dir, 'appendonlydir'), { recursive: true });
    await this.startDatastore();
  }

  /** Starts Redis (again) on the same data. */
  async startDatastore(): Promise<void> {
    this.redis = this.ds.spawn([
      'redis-server',
      '--bind',
      DS_ADDRESS,
      '127.0.0.1',
      '--protected-mode',
      'no',
      '--port',
      '6379',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--dir',
      this.dir,
    ]);
    await waitFor(
      'redis',
      async () =>
        (await this.ds.exec(['redis-cli', '-h', '127.0.0.1', 'ping'], { allowFailure: true })).stdout.includes('PONG'),
      15_000,
    );
  }

  async start(nodeCount: number): Promise<void> {
    const sw = await this.lab.bridge();
    this.plug = sw.plug;
    this.ds = await this.lab.netns('ds');
    await sw.plug(this.ds, 'eth0', `${DS_ADDRESS}/24`);
    await this.startDatastore();
    for (let i = 1; i <= nodeCount; i++) {
      const name = `n${i}`;
      const ns = await this.lab.netns(name);
      await sw.plug(ns, 'eth0', `198.18.0.${i}/24`);
      await ns.ip(['route', 'add', 'default', 'via', DS_ADDRESS]);
      await ns.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      const node: ClusterNode = {
        name,
        ns,
        address: `198.18.0.${i}`,
        socket: join(this.dir, `${name}.sock`),
        proc: null,
      };
      if (this.dualStack) {
        node.address6 = `${V6_UNDERLAY}${i}`;
        await ns.exec(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
        // No duplicate address detection: the address is usable at once (the lab made every address).
        await ns.ip(['-6', 'addr', 'add', `${node.address6}/64`, 'dev', 'eth0', 'nodad']);
      }
      this.nodes.push(node);
    }
  }

  /** `tabby CMD ... --datastore redis://...`, run from the datastore host. */
  async tabby(args: string[], input?: string) {
    return this.ds.exec(
      [process.execPath, TABBY, ...args, '--datastore', 'redis://127.0.0.1:6379/0'],
      input === undefined ? {} : { input },
    );
  }

  async apply(yaml: string): Promise<string> {
    const file = join(this.dir, `apply-${Date.now()}.yaml`);
    writeFileSync(file, yaml);
    return (await this.tabby(['apply', '-f', file])).stdout;
  }

  async startNode(n: ClusterNode, extra: string[] = []): Promise<void> {
    n.proc = n.ns.spawn(
      [
        ...daemonCommand(TABBY),
        'node',
        '--name',
        n.name,
        '--datastore',
        DS_URL,
        '-s',
        n.socket,
        '--hold-time',
        '9',
        ...extra,
      ],
      { env: { ...process.env, TABBY_LOG_LEVEL: 'debug' } },
    );
    await waitFor(
      `${n.name} control socket`,
      async () => (await this.ctl(n, ['show', 'status'], true)).exitCode === 0,
      60_000,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${n.proc?.output}`);
    });
  }

  ctl(n: ClusterNode, args: string[], allowFailure = false) {
    return exec([process.execPath, BGPCTL, '-s', n.socket, ...args], { allowFailure });
  }

  async nodeStatus(
    n: ClusterNode,
  ): Promise<{ ready: boolean; peers: { peer_address: string; peer_type: string; info: string }[] }> {
    return JSON.parse((await this.ctl(n, ['--json', 'node', 'status'])).stdout);
  }

  /** Kernel routes of a node (main table). */
  async routes(
    n: ClusterNode,
  ): Promise<{ dst: string; gateway?: string; dev?: string; protocol?: string; type?: string; flags?: string[] }[]> {
    return JSON.parse((await n.ns.ip(['-json', 'route', 'show'])).stdout || '[]');
  }

  /**
   * A pod: a namespace with eth0 (veth to the node's cali interface), an address from IPAM, the
   * 169.254.1.1 gateway, and its WorkloadEndpoint (so the node agent routes it).
   */
  async addPod(node: ClusterNode, name: string): Promise<Pod> {
    const ns = await this.lab.netns(`p${name.replace(/[^a-z0-9]/gi, '').slice(0, 8)}`);
    const script = `
      import { Ipam, openDatastore, ResourceStore } from '@tabby/datastore';
      import { workloadInterfaceName } from '@tabby/fib';
      const ds = openDatastore('redis://127.0.0.1:6379/0');
      const ip = await new Ipam(ds).assign({ node: ${JSON.stringify(node.name)}, handle: 'default.${name}' });
      console.log(JSON.stringify({ ip, ifname: workloadInterfaceName('default', ${JSON.stringify(name)}) }));
      await ds.close();`;
    const out = await this.ds.exec([process.execPath, '--input-type=module', '-e', script], {
      env: { ...process.env },
    });
    const { ip, ifname } = JSON.parse(out.stdout.trim().split('\n').pop()!) as { ip: string; ifname: string };
    await this.lab.link(node.ns, ifname, null, ns, 'eth0', null);
    await ns.ip(['addr', 'add', `${ip}/32`, 'dev', 'eth0']);
    await ns.ip(['route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
    await ns.ip(['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    await this.apply(`apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: { name: ${node.name}-k8s-${name}-eth0, namespace: default }
spec: { node: ${node.name}, pod: ${name}, interfaceName: ${ifname}, ipNetworks: ["${ip}/32"] }
`);
    return { name, node, ns, ip };
  }

  /** A pod plugged in by the real CNI plugin (`tabby-cni` ADD, run in the node's namespace). */
  async addPodCni(node: ClusterNode, name: string): Promise<Pod> {
    const ns = await this.lab.netns(`p${name.replace(/[^a-z0-9]/gi, '').slice(0, 8)}`);
    const config = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      type: 'tabby-cni',
      datastore: DS_URL,
      nodename: node.name,
      ipam: { type: 'tabby-ipam', ...(this.dualStack ? { assign_ipv4: 'true', assign_ipv6: 'true' } : {}) },
    });
    const env = {
      ...process.env,
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: `lab-${name}`,
      CNI_NETNS: `/var/run/netns/${ns.name}`,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}`,
      CNI_PATH: '/opt/cni/bin',
    };
    const r = await node.ns.exec([process.execPath, CNI], { env, input: config, allowFailure: true });
    if (r.exitCode !== 0) throw new Error(`CNI ADD for ${name} on ${node.name} failed: ${r.stdout}${r.stderr}`);
    const result = JSON.parse(r.stdout) as { ips: { address: string }[] };
    const addrs = result.ips.map((i) => i.address.split('/')[0]!);
    const ip = addrs.find((a) => !a.includes(':'))!;
    const ip6 = addrs.find((a) => a.includes(':'));
    return { name, node, ns, ip, ...(ip6 ? { ip6 } : {}) };
  }

  /** One ping (IPv4 or IPv6, by the address) from a pod; whether it was answered. */
  async ping(from: Pod, to: string): Promise<boolean> {
    const r = await from.ns.exec(['ping', to.includes(':') ? '-6' : '-4', '-c', '1', '-W', '1', to], {
      allowFailure: true,
    });
    return r.exitCode === 0;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.proc?.kill('SIGTERM')));
    await this.redis?.kill('SIGKILL');
  }
}

/**
 * A cluster's resources: nodes n1..nN at 198.18.0.N, AS 64512, an IPv4 pool. `reflectors`: the
 * first nodes are route reflectors (label route-reflector=true, a cluster ID each), the mesh is
 * off and every node peers with them; `dualStack`: each node's IPv6 address and an IPv6 pool.
 */
export function clusterYaml(
  nodes: number,
  extra = '',
  opts: { dualStack?: boolean; reflectors?: number } = {},
): string {
  const reflectors = opts.reflectors ?? 0;
  const docs = [
    `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { nodeToNodeMeshEnabled: ${reflectors === 0}, asNumber: 64512 }`,
    `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: pods }
spec: { cidr: 198.19.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never, natOutgoing: false }`,
  ];
  if (opts.dualStack) {
    docs.push(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: pods-v6 }
spec: { cidr: ${V6_POOL}, blockSize: 122, ipipMode: Never, vxlanMode: Never, natOutgoing: false }`);
  }
  if (reflectors > 0) {
    docs.push(`apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: { name: peer-with-route-reflectors }
spec: { nodeSelector: all(), peerSelector: route-reflector == 'true' }`);
  }
  for (let i = 1; i <= nodes; i++) {
    const v6 = opts.dualStack ? `, ipv6Address: ${V6_UNDERLAY}${i}/64` : '';
    const rr = i <= reflectors;
    docs.push(`apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: n${i}${rr ? ', labels: { route-reflector: "true" }' : ''} }
spec: { bgp: { ipv4Address: 198.18.0.${i}/24${v6}${rr ? `, routeReflectorClusterID: 224.0.0.${i}` : ''} } }`);
  }
  return `${docs.join('\n---\n')}\n${extra}`;
}
