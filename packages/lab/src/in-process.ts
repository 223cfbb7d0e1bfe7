import { mkdirSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, MemoryNetwork, silentLogger, type Transport, tcpTransport } from '@tabby/bgp';
import { Ipam, MemoryDatastore, type Resource, ResourceStore } from '@tabby/datastore';
import { FibDataplane, MemoryDriver, MemoryLinkDriver, RouteTable, workloadInterfaceName } from '@tabby/fib';
import { NodeAgent } from '@tabby/node';
import { checkLabFree } from './preflight.js';

export interface InProcessLabOptions {
  nodes: number;
  topology: 'mesh' | 'rr';
  /** Route reflectors among the nodes (topology rr). */
  reflectors: number;
  /** Pods per node, simulated by datastore entries and memory interfaces. */
  pods: number;
  /** `tcp`: real BGP over TCP on loopback addresses 127.0.0.11, .12, ...; `memory`: in-memory pipes. */
  transport: 'tcp' | 'memory';
  /** BGP port every node listens on (each on its own loopback address). */
  port: number;
  /** Where the control sockets go (one per node, for bgpctl -s). */
  socketDir: string;
  logger: Logger;
  holdTime: number;
}

export const LAB_DEFAULTS: InProcessLabOptions = {
  nodes: 3,
  topology: 'mesh',
  reflectors: 2,
  pods: 2,
  transport: 'tcp',
  port: 17179,
  socketDir: join(tmpdir(), 'tabby-lab'),
  logger: silentLogger,
  holdTime: 9,
};

export const LAB_POOL = '198.19.0.0/16';

export interface LabNode {
  name: string;
  address: string;
  socket: string;
  agent: NodeAgent;
  routes: MemoryDriver;
}

/**
 * A whole cluster in one process: the memory datastore, one node agent per node (each with its
 * own BGP speaker and a memory FIB), pods simulated by IPAM assignments, WorkloadEndpoints and
 * memory interfaces. Sessions are real BGP, over TCP on loopback by default.
 */
export class InProcessLab {
  readonly opts: InProcessLabOptions;
  readonly datastore = new MemoryDatastore();
  readonly store = new ResourceStore(this.datastore);
  readonly ipam = new Ipam(this.datastore);
  readonly nodes: LabNode[] = [];
  private readonly memoryNet = new MemoryNetwork();

  constructor(opts: Partial<InProcessLabOptions> = {}) {
    this.opts = { ...LAB_DEFAULTS, ...opts };
    if (this.opts.nodes < 1 || this.opts.nodes > 200) throw new RangeError('nodes: 1 to 200');
    if (this.opts.topology === 'rr' && (this.opts.reflectors < 1 || this.opts.reflectors >= this.opts.nodes)) {
      throw new RangeError('reflectors: at least 1 and fewer than the nodes');
    }
  }

  private address(i: number): string {
    return this.opts.transport === 'tcp' ? `127.0.0.${11 + i}` : `198.18.0.${11 + i}`;
  }

  private transport(address: string): Transport {
    return this.opts.transport === 'tcp' ? tcpTransport : this.memoryNet.transport(address);
  }

  /** The cluster's resources, as a user would apply them. */
  resources(): Resource[] {
    const rr = this.opts.topology === 'rr';
    const docs: Resource[] = [
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'BGPConfiguration',
        metadata: { name: 'default' },
        spec: { nodeToNodeMeshEnabled: !rr, asNumber: 64512, listenPort: this.opts.port, bindMode: 'NodeIP' },
      },
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'lab-pods' },
        spec: { cidr: LAB_POOL, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', nodeSelector: 'all()' },
      },
    ] as Resource[];
    for (let i = 0; i < this.opts.nodes; i++) {
      const reflector = rr && i < this.opts.reflectors;
      docs.push({
        apiVersion: 'projectcalico.org/v3',
        kind: 'Node',
        metadata: { name: `node-${i + 1}`, labels: reflector ? { 'route-reflector': 'true' } : {} },
        spec: {
          bgp: {
            ipv4Address: `${this.address(i)}/${this.opts.transport === 'tcp' ? 8 : 24}`,
            ...(reflector ? { routeReflectorClusterID: `224.0.0.${i + 1}` } : {}),
          },
        },
      } as Resource);
    }
    if (rr) {
      docs.push({
        apiVersion: 'projectcalico.org/v3',
        kind: 'BGPPeer',
        metadata: { name: 'peer-with-route-reflectors' },
        spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" },
      } as Resource);
    }
    return docs;
  }

  private socket(i: number): string {
    return join(this.opts.socketDir, `node-${i + 1}.sock`);
  }

  /**
   * Throws LabBusyError (one line naming the address or socket and its holder) when a BGP
   * address:port or a control socket of this lab is taken: another lab is running.
   */
  checkFree(): Promise<void> {
    const each = <T>(f: (i: number) => T) => Array.from({ length: this.opts.nodes }, (_, i) => f(i));
    return checkLabFree({
      addresses: this.opts.transport === 'tcp' ? each((i) => this.address(i)) : [],
      port: this.opts.port,
      sockets: each((i) => this.socket(i)),
    });
  }

  /** Checks nothing is taken, applies the resources, starts every node agent, then creates the pods. */
  async up(): Promise<void> {
    await this.checkFree();
    mkdirSync(this.opts.socketDir, { recursive: true });
    for (const doc of this.resources()) await this.store.apply(doc);
    for (let i = 0; i < this.opts.nodes; i++) {
      const name = `node-${i + 1}`;
      const address = this.address(i);
      // Links: the node's uplink (the agent finds it from the node's address: lo here) and its pods'.
      const routes = new MemoryDriver();
      const socket = this.socket(i);
      const agent = new NodeAgent({
        nodeName: name,
        datastore: this.datastore,
        transport: this.transport(address),
        controlSocket: socket,
        holdTime: this.opts.holdTime,
        connectRetryTime: 2,
        logger: this.opts.logger.child ? this.opts.logger.child({ node: name }) : this.opts.logger,
        dataplane: (local) => {
          routes.addLink(local.uplink);
          return new FibDataplane({
            localNode: local,
            routeTable: new RouteTable({ driver: routes }),
            links: new MemoryLinkDriver(),
          });
        },
      });
      this.nodes.push({ name, address, socket, agent, routes });
    }
    await Promise.all(this.nodes.map((n) => n.agent.start()));
    for (const n of this.nodes)
      for (let p = 0; p < this.opts.pods; p++) await this.addPod(n.name, 'default', `pod-${n.name}-${p + 1}`);
  }

  /** A simulated pod: an address from IPAM, a WorkloadEndpoint, and its interface in the memory FIB. */
  async addPod(nodeName: string, namespace: string, pod: string): Promise<string> {
    const node = this.nodes.find((n) => n.name === nodeName);
    if (!node) throw new Error(`no lab node ${nodeName}`);
    const ip = await this.ipam.assign({ node: nodeName, handle: `${namespace}.${pod}` });
    const interfaceName = workloadInterfaceName(namespace, pod);
    node.routes.addLink(interfaceName);
    await this.store.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: { name: `${nodeName}-k8s-${pod}-eth0`, namespace },
      spec: { node: nodeName, pod, interfaceName, ipNetworks: [`${ip}/32`] },
    } as Resource);
    return ip;
  }

  /**
   * True when every BGP session is up, no speaker has prefixes left to decide or to export
   * (`show status`'s pending selection and export backlog), and every node's FIB has a route for
   * every other node's blocks and every local pod.
   */
  async converged(): Promise<boolean> {
    const blocks = new Map(this.nodes.map((n) => [n.name, n.agent.blocks]));
    for (const n of this.nodes) {
      const st = n.agent.status();
      if (!st.peers.length || !st.peers.every((p) => p.info === 'Established')) return false;
      const backlog = n.agent.speaker?.backlog;
      if (!backlog || backlog.selection > 0 || backlog.export > 0) return false;
      const have = new Set((await n.routes.read()).routes.map((r) => r.dst));
      for (const [other, bs] of blocks) {
        if (!bs.length) return false;
        if (other !== n.name && !bs.every((b) => have.has(b))) return false;
      }
    }
    return true;
  }

  /** Resolves once every node agent has handled the datastore changes made so far. */
  async settled(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.agent.idle()));
  }

  /** Waits for convergence (polling), up to `timeoutMs`. */
  async waitConverged(timeoutMs = 30_000): Promise<number> {
    const start = Date.now();
    while (!(await this.converged())) {
      if (Date.now() - start > timeoutMs) throw new Error(`the lab did not converge within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return Date.now() - start;
  }

  async down(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.agent.stop()));
    await this.datastore.close();
    // The agents removed their control sockets; the folder goes too unless someone else uses it.
    try {
      rmdirSync(this.opts.socketDir);
    } catch {
      // not empty (another lab), or already gone
    }
  }
}
