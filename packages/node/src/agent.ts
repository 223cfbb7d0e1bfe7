import {
  type BestRouteEvent,
  ControlHandler,
  ControlServer,
  type Logger,
  Speaker,
  type SpeakerConfig,
  silentLogger,
  type Transport,
} from '@tabby/bgp';
import type { ConfdMetrics } from '@tabby/confd';
import {
  type BGPConfigurationResource,
  type BGPDaemonStatus,
  type BGPFilterResource,
  type BGPPeerResource,
  type CalicoNodePeer,
  type CalicoNodeStatusResource,
  type CalicoNodeStatusStatus,
  contains,
  type Datastore,
  type DatastoreHealth,
  effectiveBGPConfiguration,
  type IPPoolResource,
  Ipam,
  IpamExhaustedError,
  KEY_PREFIX,
  type NodeResource,
  parseCidr,
  parseResource,
  parseResourceKey,
  type Resource,
  ResourceStore,
  segmentCidr,
  serviceRouteCidrs,
  type WorkloadEndpointResource,
} from '@tabby/datastore';
import type { FibDataplane, LocalNode } from '@tabby/fib';
import { isoSeconds, NodeStatusReporter, type NodeStatusSource, peerType, RouteTally } from './node-status.js';
import { computePeerings, type Peering } from './peering.js';
import { SpeakerConfigRenderer } from './speaker-config.js';
import { interfaceOf } from './uplink.js';

export interface NodeAgentOptions {
  nodeName: string;
  datastore: Datastore;
  /** How the speaker reaches its peers (`tcpTransport` in production). */
  transport: Transport;
  /** Builds the FIB programmer once the node's own address is known; absent: no FIB. */
  dataplane?: (local: LocalNode) => FibDataplane;
  /**
   * Interface facing the other nodes (routes to them and their blocks go out of it). Default: the
   * interface that holds this node's address, or whose subnet does (`lo` for 127.0.0.11), else `eth0`.
   */
  uplink?: string;
  /** Control socket for bgpctl. */
  controlSocket?: string;
  logger?: Logger;
  /** Session timers (s); the lab uses short ones. */
  holdTime?: number;
  connectRetryTime?: number;
  /** This start is a graceful restart (the kernel routes were kept). */
  restarting?: boolean;
  version?: string;
  /** The confd template the speaker config is rendered from (default: the shipped bgpd.yaml.template). */
  speakerTemplate?: string;
  /** Counts the speaker config's renders (the daemon's `/metrics`). */
  confdMetrics?: ConfdMetrics;
}

/** What `bgpctl node status` and `/readiness` answer. */
export interface NodeStatus {
  node: string;
  ready: boolean;
  /** Why not ready (absent when ready). */
  reason?: string;
  /** The last pass's error ('' when it succeeded). */
  error: string;
  datastore: DatastoreHealth & { description: string; synced: boolean };
  peers: NodePeerStatus[];
}

/** `bgpctl node status` / readiness: Calico's table. */
export interface NodePeerStatus {
  peer_address: string;
  peer_type: string;
  state: string;
  since: string;
  info: string;
}

/**
 * The agent cannot start as configured: its speaker config does not render, its BGP port or control
 * socket is taken. Raised by `start()` only (later, the same problems are logged and retried).
 */
export class AgentStartError extends Error {
  readonly code = 'AGENT_START';
}

const BLOCK_KEY = /^\/calico\/ipam\/v2\/host\/([^/]+)\/ipv([46])\/block\/(.+)$/;

/**
 * The per-node agent: watches the datastore, claims an IPAM block, computes the node's peerings
 * (mesh, reflectors, explicit peers), runs the speaker with the resulting config (reloading it
 * on change: unchanged peers keep their sessions), originates the node's blocks, and feeds the
 * speaker's best routes plus the cluster's blocks and this node's workloads to the FIB.
 * Nothing is announced or programmed before the datastore's first in-sync.
 */
export class NodeAgent implements NodeStatusSource {
  readonly name: string;
  speaker: Speaker | null = null;
  dataplane: FibDataplane | null = null;
  peerings: Peering[] = [];
  /** The datastore has been read completely (false again from a resync until its snapshot is in). */
  synced = false;
  private resyncing = false;
  lastError = '';
  private readonly log: Logger;
  private readonly renderer: SpeakerConfigRenderer;
  private readonly resources = new Map<string, Resource>();
  private readonly affinities = new Map<
    string,
    { key: string; value: string; node: string; family: 4 | 6; cidr: string; state: string }
  >();
  private watchers: { close(): void }[] = [];
  private syncedParts = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 1000;
  private chain: Promise<void> = Promise.resolve();
  private control: ControlServer | null = null;
  /** Answers the control socket's commands from the current speaker. */
  private handler: ControlHandler | null = null;
  private configSignature = '';
  /** Bumped by every change of a resource other than a WorkloadEndpoint (what peerings read). */
  private bgpVersion = 0;
  /** The speaker inputs last applied: resources version, own blocks, borrowed addresses. */
  private speakerInputs = '';
  /** Some IP pool uses IPIP or VXLAN: other nodes' blocks are then routed by this node's FIB. */
  private encapPools = false;
  private claimAttempted = false;
  private stopped = false;
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private failStart!: (err: Error) => void;
  private started = false;
  /** Writes the CalicoNodeStatus resources of this node. */
  private readonly nodeStatus: NodeStatusReporter;
  /** The speaker's best routes, counted (and the first ones kept) for CalicoNodeStatus. */
  private readonly routeTally = new RouteTally();
  private speakerStartedAt = '';
  private speakerReconfiguredAt = '';

  constructor(private readonly opts: NodeAgentOptions) {
    this.name = opts.nodeName;
    this.log = opts.logger ?? silentLogger;
    this.nodeStatus = new NodeStatusReporter({
      node: opts.nodeName,
      store: new ResourceStore(opts.datastore),
      source: this,
      logger: this.log,
    });
    this.renderer = new SpeakerConfigRenderer({
      nodeName: opts.nodeName,
      ...(opts.speakerTemplate ? { templatePath: opts.speakerTemplate } : {}),
      ...(opts.holdTime !== undefined ? { holdTime: opts.holdTime } : {}),
      ...(opts.connectRetryTime !== undefined ? { connectRetryTime: opts.connectRetryTime } : {}),
      ...(opts.confdMetrics ? { metrics: opts.confdMetrics } : {}),
    });
    this.ready = new Promise((resolve, reject) => {
      this.markReady = () => {
        this.started = true;
        resolve();
      };
      this.failStart = reject;
    });
  }

  /**
   * Starts watching; resolves after the first full reconciliation. Rejects with AgentStartError
   * when that pass finds the agent cannot run (see there); the caller then stops the agent.
   */
  async start(): Promise<void> {
    // Each callback stores the change and says whether this node must reconcile for it: another
    // node's pod never matters, another node's block only when a pool encapsulates (the FIB
    // routes those blocks itself; BGP carries the others).
    this.watch('resources', KEY_PREFIX.resources, (ev) => {
      const id = parseResourceKey(ev.key);
      const kind = id?.kind;
      if (!id || !kind) return false;
      // Status requests go to the reporter; reservations concern IPAM only (read when claiming).
      if (kind === 'CalicoNodeStatus') {
        this.nodeStatus.update(
          id.name,
          ev.type === 'deleted' ? undefined : parseResource<CalicoNodeStatusResource>(ev.key, ev.value, ev.revision),
        );
        return false;
      }
      if (kind === 'IPReservation') return false;
      const old = this.resources.get(ev.key);
      if (ev.type === 'deleted') this.resources.delete(ev.key);
      else this.resources.set(ev.key, parseResource(ev.key, ev.value, ev.revision));
      if (kind !== 'WorkloadEndpoint') {
        this.bgpVersion += 1;
        return true;
      }
      const mine = (r: Resource | undefined) => (r as WorkloadEndpointResource | undefined)?.spec.node === this.name;
      return mine(old) || mine(this.resources.get(ev.key));
    });
    this.watch('affinities', `${KEY_PREFIX.ipam}host/`, (ev) => {
      const m = BLOCK_KEY.exec(ev.key);
      const relevant = !m || m[1] === this.name || this.encapPools;
      if (ev.type === 'deleted') {
        this.affinities.delete(ev.key);
        return relevant;
      }
      if (!m) return false;
      let state = 'confirmed';
      try {
        state = (JSON.parse(ev.value || '{}') as { state?: string }).state ?? 'confirmed';
      } catch {
        // an empty or odd value: Calico treats it as confirmed
      }
      this.affinities.set(ev.key, {
        key: ev.key,
        value: ev.value,
        node: m[1]!,
        family: Number(m[2]) as 4 | 6,
        cidr: segmentCidr(m[3]!),
        state,
      });
      return relevant;
    });
    await this.ready;
  }

  private watch(
    part: string,
    prefix: string,
    apply: (ev: { type: 'added' | 'updated' | 'deleted'; key: string; value: string; revision: number }) => boolean,
  ): void {
    const w = this.opts.datastore.watch(prefix);
    this.watchers.push(w);
    void (async () => {
      try {
        for await (const ev of w) {
          if (this.stopped) return;
          if (ev.type === 'resync') {
            // A fresh snapshot follows. Until it is complete the agent is not in sync: no pass
            // runs, so a half-read store withdraws nothing (routes and sessions stay as they are).
            this.log.warn(
              { part, reason: ev.reason },
              'datastore resync: keeping routes and sessions until it is read again',
            );
            if (part === 'resources') {
              this.resources.clear();
              this.nodeStatus.clear();
            } else this.affinities.clear();
            this.syncedParts.delete(part);
            this.synced = false;
            this.resyncing = true;
            continue;
          }
          if (ev.type === 'in-sync') {
            this.syncedParts.add(part);
            if (this.syncedParts.size === 2) {
              this.synced = true;
              this.nodeStatus.activate();
              if (this.resyncing) this.log.info({}, 'datastore read again after a resync');
              this.resyncing = false;
            }
            this.schedule();
            continue;
          }
          const relevant = apply(ev.type === 'deleted' ? { ...ev, value: '' } : ev);
          if (this.synced && relevant) this.schedule();
        }
      } catch (err) {
        if (!this.stopped) this.log.error({ part, err: (err as Error).message }, 'datastore watch failed');
      }
    })();
  }

  /** Reconciles soon (changes arriving together are handled once). */
  private schedule(): void {
    if (!this.synced || this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.chain = this.chain
        .then(() => this.reconcile())
        .then(() => {
          this.retryMs = 1000;
        })
        .catch((err) => {
          if (err instanceof AgentStartError && !this.started) {
            this.failStart(err);
            return;
          }
          this.lastError = (err as Error).message;
          this.log.error({ err: this.lastError, retryInMs: this.retryMs }, 'reconcile failed');
          // Passes run only for changes that concern this node: come back by ourselves, backing
          // off (1 s doubling to 30 s) so that a lasting problem does not flood the log.
          if (!this.stopped) this.retryTimer = setTimeout(() => this.schedule(), this.retryMs);
          this.retryMs = Math.min(this.retryMs * 2, 30_000);
        });
    }, 5);
  }

  /** Resolves once no reconciliation is scheduled or running (datastore changes handled). */
  async idle(): Promise<void> {
    for (;;) {
      const chain = this.chain;
      await chain;
      if (this.timer === undefined && chain === this.chain) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private ofKind<K extends Resource['kind']>(kind: K): Extract<Resource, { kind: K }>[] {
    return [...this.resources.values()].filter((r) => r.kind === kind) as Extract<Resource, { kind: K }>[];
  }

  /** One pass: datastore state in, speaker config and FIB state out. */
  async reconcile(): Promise<void> {
    if (this.stopped) return;
    const nodes = this.ofKind('Node') as NodeResource[];
    const self = nodes.find((n) => n.metadata.name === this.name);
    if (!self) {
      this.lastError = `no Node resource named "${this.name}" in ${this.opts.datastore.description}`;
      this.log.warn({}, this.lastError);
      this.markReady();
      return;
    }
    const bgpSpec = (this.ofKind('BGPConfiguration') as BGPConfigurationResource[]).find(
      (c) => c.metadata.name === 'default',
    )?.spec;
    const bgp = effectiveBGPConfiguration(bgpSpec);
    const pools = this.ofKind('IPPool') as IPPoolResource[];
    const myBlocks = [...this.affinities.values()].filter((a) => a.node === this.name && a.state === 'confirmed');
    if (!myBlocks.length && !this.claimAttempted && pools.some((p) => !p.spec.disabled)) {
      this.claimAttempted = true;
      try {
        const cidr = await new Ipam(this.opts.datastore).claimBlock(this.name);
        this.log.info({ block: cidr }, 'claimed an IPAM block');
      } catch (err) {
        if (!(err instanceof IpamExhaustedError)) throw err;
        this.log.warn({ err: err.message }, 'no IPAM block available');
      }
      // The affinity arrives through the watch and triggers the next pass.
    }
    // The speaker's config depends on the cluster's BGP resources and on this node's own blocks
    // and pods only: another node's pod or block (the common change) skips building it.
    const blocks = myBlocks.map((b) => b.cidr).sort();
    const borrowed = this.borrowedAddresses(blocks);
    const inputs = `${this.bgpVersion}|${blocks.join(',')}|${borrowed.join(',')}`;
    let config: SpeakerConfig | undefined;
    if (inputs !== this.speakerInputs || !this.speaker) {
      const peers = this.ofKind('BGPPeer') as BGPPeerResource[];
      const bgpConfigurations = this.ofKind('BGPConfiguration') as BGPConfigurationResource[];
      const listenPorts = new Map<string, number>();
      for (const c of bgpConfigurations) {
        if (c.metadata.name.startsWith('node.') && c.spec.listenPort !== undefined)
          listenPorts.set(c.metadata.name.slice('node.'.length), c.spec.listenPort);
      }
      this.peerings = computePeerings({ nodes, peers, bgp, listenPorts }, this.name);
      // Rendered through confd's speaker template from the flat view of what concerns this node.
      config = this.startStep('the speaker config', () =>
        this.renderer.render({
          nodes,
          bgpConfigurations,
          bgpPeers: peers,
          bgpFilters: this.ofKind('BGPFilter') as BGPFilterResource[],
          ipPools: pools,
          affinities: myBlocks.map((a) => ({ key: a.key, value: a.value })),
          workloadEndpoints: (this.ofKind('WorkloadEndpoint') as WorkloadEndpointResource[]).filter(
            (w) => w.spec.node === this.name,
          ),
        }),
      ).config;
      this.checkPeerings(config);
      this.warnInterfaceRules(peers);
    }
    this.setServiceRanges(bgpSpec);
    // The FIB first, so the speaker's best routes have somewhere to go from the start.
    this.applyDataplane(self, nodes, pools);
    if (config) {
      await this.applySpeaker(config);
      this.speakerInputs = inputs;
    }
    this.lastError = '';
    this.markReady();
  }

  /** Local pods' addresses outside this node's own blocks (borrowed from another node's block). */
  private borrowedAddresses(blocks: string[]): string[] {
    const own = blocks.map((b) => parseCidr(b)).filter((c): c is NonNullable<typeof c> => c !== undefined);
    const out: string[] = [];
    for (const w of this.ofKind('WorkloadEndpoint') as WorkloadEndpointResource[]) {
      if (w.spec.node !== this.name) continue;
      for (const net of w.spec.ipNetworks) {
        const c = parseCidr(net.includes('/') ? net : `${net}/${net.includes(':') ? 128 : 32}`);
        if (c && !own.some((b) => contains(b, c))) out.push(net);
      }
    }
    return out.sort();
  }

  /** What `warnInterfaceRules` last said, so that it says each thing once per change. */
  private interfaceRules = '[]';

  /**
   * BGPFilter rules on `interface` match routes by their outgoing interface, which the speaker's
   * routes do not have (its own blocks and service ranges are blackholes or nothing, learned routes
   * are not resolved to an interface): the speaker template renders such a rule as one that
   * matches no route. Say so, once per change, naming the filter and rule, for this node's peers.
   */
  private warnInterfaceRules(peers: BGPPeerResource[]): void {
    if (this.opts.speakerTemplate) return;
    const filters = new Map(this.ofKind('BGPFilter').map((f) => [f.metadata.name, f as BGPFilterResource]));
    const names = new Set(
      this.peerings.flatMap((p) => peers.find((x) => x.metadata.name === p.resource)?.spec.filters ?? []),
    );
    const rules: string[] = [];
    for (const name of [...names].sort()) {
      const spec = filters.get(name)?.spec;
      for (const dir of ['exportV4', 'importV4', 'exportV6', 'importV6'] as const) {
        spec?.[dir]?.forEach((r, i) => {
          if (r.interface) rules.push(`${name} ${dir}[${i}] (interface ${r.interface})`);
        });
      }
    }
    const said = JSON.stringify(rules);
    if (said !== this.interfaceRules && rules.length)
      this.log.warn(
        { rules },
        "BGPFilter rules on interface match no route in Tabby's speaker (its routes carry no interface; the BIRD template applies them)",
      );
    this.interfaceRules = said;
  }

  /** Calico's rejectcidrs: the service ranges, for which no learned route is programmed. */
  private serviceRanges: NonNullable<ReturnType<typeof parseCidr>>[] = [];
  private serviceRangesText = '';

  private setServiceRanges(bgpSpec: BGPConfigurationResource['spec'] | undefined): void {
    const cidrs = serviceRouteCidrs(bgpSpec);
    if (cidrs.join(',') === this.serviceRangesText) return;
    this.serviceRangesText = cidrs.join(',');
    this.serviceRanges = cidrs.map((c) => parseCidr(c)).filter((c): c is NonNullable<typeof c> => c !== undefined);
    // The speaker replays its best routes: those in or out of the new ranges are (un)programmed.
    this.speaker?.subscribe((e) => this.program(e))();
  }

  /**
   * The rendered sessions against the peerings computed from Calico's rules: they agree with the
   * shipped template (a test proves it); a custom template that differs is reported, not fixed.
   */
  private checkPeerings(config: SpeakerConfig): void {
    const rendered = new Set(config.peers.map((p) => p.name));
    const computed = new Set(this.peerings.map((p) => p.name));
    const missing = [...computed].filter((n) => !rendered.has(n));
    const extra = [...rendered].filter((n) => !computed.has(n));
    if (missing.length || extra.length) {
      this.log.warn({ missing, extra }, "the speaker template's peers differ from Calico's peering rules");
    }
  }

  private async applySpeaker(config: SpeakerConfig): Promise<void> {
    const signature = JSON.stringify({ ...config, policies: [...config.policies] });
    if (signature === this.configSignature) return;
    const cur = this.speaker;
    if (cur && (cur.config.routerId !== config.routerId || cur.config.asn !== config.asn)) {
      this.log.warn({}, 'router ID or AS changed: restarting the speaker');
      await cur.stop('router ID or AS changed');
      this.speaker = null;
    }
    this.configSignature = signature;
    if (this.speaker) {
      const r = this.speaker.reload(config);
      this.speakerReconfiguredAt = isoSeconds();
      this.log.info({ added: r.peers_added, removed: r.peers_removed, reset: r.peers_reset }, 'speaker reconfigured');
      return;
    }
    const speaker = new Speaker(config, {
      transport: this.opts.transport,
      logger: this.log,
      restarting: this.opts.restarting ?? false,
    });
    this.routeTally.clear();
    speaker.subscribe((e) => this.onBestRoute(e));
    try {
      await speaker.start();
    } catch (err) {
      await speaker.stop('start-up failed').catch(() => {});
      throw this.started ? err : new AgentStartError(`the BGP speaker: ${(err as Error).message}`);
    }
    this.speaker = speaker;
    this.speakerStartedAt = isoSeconds();
    this.speakerReconfiguredAt = '';
    if (this.opts.restarting) {
      // After -R the kernel's BGP routes stay until the speaker has relearned everything.
      void speaker.selectionDone.then(() => {
        if (this.stopped || !this.dataplane) return;
        this.dataplane.endGracefulRestart();
        this.log.info({}, 'graceful restart over: stale kernel routes may be swept');
        this.scheduleApply();
      });
    }
    // A new speaker (first start, or a router ID or AS change) gets a new handler; the socket stays.
    this.handler = new ControlHandler(speaker, { version: this.opts.version ?? '0.1.0' });
    if (this.opts.controlSocket && !this.control) {
      this.control = new ControlServer(
        this.opts.controlSocket,
        (command, args) => (command === 'node status' ? this.status() : this.handler!.handle(command, args)),
        { logger: this.log },
      );
      await this.control.start().catch((err: Error) => {
        this.control = null;
        throw this.started ? err : new AgentStartError(err.message);
      });
    }
  }

  /** `step()`; before the first pass is over, its failure means the agent cannot start. */
  private startStep<T>(what: string, step: () => T): T {
    try {
      return step();
    } catch (err) {
      throw this.started ? err : new AgentStartError(`${what}: ${(err as Error).message}`);
    }
  }

  private onBestRoute(e: BestRouteEvent): void {
    this.routeTally.onBestRoute(e);
    this.program(e);
  }

  /**
   * A best route into the FIB; not one within a service range (Calico's rejectcidrs): kube-proxy
   * serves those addresses on every node, what other nodes announce for them is for routers.
   */
  private program(e: BestRouteEvent): void {
    if (!this.dataplane || e.blackhole) return; // local blocks: the dataplane has their blackholes
    const dev = this.uplink();
    const net = this.serviceRanges.length ? parseCidr(e.prefix) : undefined;
    const rejected = net !== undefined && this.serviceRanges.some((r) => contains(r, net));
    this.dataplane.setBgpRoute({
      prefix: e.prefix,
      nextHops: rejected ? [] : e.nextHops.map((via) => ({ via, dev })),
    });
    this.scheduleApply();
  }

  private applyTimer: NodeJS.Timeout | undefined;
  /**
   * Applies the FIB soon. Passes hand the dataplane only changes, so the agent itself comes back
   * while an interface is still missing (a pod's veth not there yet) or after a failure.
   */
  private scheduleApply(delayMs = 5): void {
    clearTimeout(this.applyTimer);
    this.applyTimer = setTimeout(() => {
      const dp = this.dataplane;
      if (!dp || this.stopped) return;
      dp.apply().then(
        () => {
          if (dp.pending > 0) this.scheduleApply(500);
        },
        (err) => {
          this.log.error({ err: (err as Error).message }, 'FIB apply failed; retrying in 1 s');
          this.scheduleApply(1000);
        },
      );
    }, delayMs);
  }

  private detectedUplink: { address: string; name: string } | null = null;

  /** `opts.uplink`, else the interface of this node's address (looked up when the address changes), else eth0. */
  private uplink(address?: string): string {
    if (this.opts.uplink) return this.opts.uplink;
    if (address && this.detectedUplink?.address !== address)
      this.detectedUplink = { address, name: interfaceOf(address) ?? 'eth0' };
    return this.detectedUplink?.name ?? 'eth0';
  }

  private localNode(self: NodeResource): LocalNode | undefined {
    const v4 = self.spec?.bgp?.ipv4Address;
    if (!v4) return undefined;
    return {
      name: this.name,
      ipv4Address: v4,
      ...(self.spec?.bgp?.ipv6Address ? { ipv6Address: self.spec.bgp.ipv6Address } : {}),
      uplink: this.uplink(v4),
      ...(self.spec?.ipv4VXLANTunnelAddr ? { vxlanTunnelAddress: self.spec.ipv4VXLANTunnelAddr } : {}),
      ...(self.spec?.vxlanTunnelMACAddr ? { vxlanTunnelMac: self.spec.vxlanTunnelMACAddr } : {}),
    };
  }

  private applyDataplane(self: NodeResource, nodes: NodeResource[], pools: IPPoolResource[]): void {
    const local = this.localNode(self);
    if (!local || !this.opts.dataplane) return;
    const localSig = JSON.stringify(local);
    if (!this.dataplane) {
      this.dataplane = this.opts.dataplane(local);
      this.dataplane.markInSync();
      // A fresh start has nothing to preserve; after a graceful restart the kernel's BGP routes
      // stay until the speaker's selection deferral is over (speaker.selectionDone).
      if (!this.opts.restarting) this.dataplane.endGracefulRestart();
    } else if (localSig !== this.known.local) this.dataplane.setLocalNode(local);
    this.known.local = localSig;
    const dp = this.dataplane;
    // Only what changed since the last pass reaches the dataplane (every agent runs this on every
    // datastore change, and an unchanged input must not make the dataplane recalculate).
    let changed = false;
    const sync = <T>(
      known: Map<string, string>,
      wanted: Map<string, T>,
      upsert: (v: T) => void,
      remove: (k: string) => void,
    ) => {
      for (const [k, v] of wanted) {
        const sig = JSON.stringify(v);
        if (known.get(k) === sig) continue;
        upsert(v);
        known.set(k, sig);
        changed = true;
      }
      for (const k of known.keys()) {
        if (wanted.has(k)) continue;
        remove(k);
        known.delete(k);
        changed = true;
      }
    };
    const remote = new Map<string, Parameters<FibDataplane['upsertRemoteNode']>[0]>();
    for (const n of nodes) {
      const v4 = n.spec?.bgp?.ipv4Address;
      if (n.metadata.name === this.name || !v4) continue;
      remote.set(n.metadata.name, {
        name: n.metadata.name,
        ipv4Address: v4,
        ...(n.spec?.ipv4VXLANTunnelAddr ? { vxlanTunnelAddress: n.spec.ipv4VXLANTunnelAddr } : {}),
        ...(n.spec?.vxlanTunnelMACAddr ? { vxlanTunnelMac: n.spec.vxlanTunnelMACAddr } : {}),
      });
    }
    sync(
      this.known.nodes,
      remote,
      (n) => dp.upsertRemoteNode(n),
      (k) => dp.removeRemoteNode(k),
    );
    const poolMap = new Map<string, Parameters<FibDataplane['upsertPool']>[0]>();
    for (const p of pools) {
      poolMap.set(p.spec.cidr, {
        cidr: p.spec.cidr,
        ipipMode: p.spec.ipipMode ?? 'Never',
        vxlanMode: p.spec.vxlanMode ?? 'Never',
        disabled: p.spec.disabled ?? false,
      });
    }
    sync(
      this.known.pools,
      poolMap,
      (p) => dp.upsertPool(p),
      (k) => dp.removePool(k),
    );
    // Like Calico: remote blocks of pools without encapsulation are reached through BGP-learned
    // routes (so they go when the peer goes); the dataplane programs local blocks (blackholes)
    // and remote blocks of IPIP / VXLAN pools (tunnels, and same-subnet routes for CrossSubnet).
    const encap = (spec: IPPoolResource['spec']) =>
      (spec.ipipMode ?? 'Never') !== 'Never' || (spec.vxlanMode ?? 'Never') !== 'Never';
    const encapPools = pools
      .filter((p) => encap(p.spec))
      .map((p) => parseCidr(p.spec.cidr))
      .filter((c): c is NonNullable<typeof c> => c !== undefined);
    this.encapPools = encapPools.length > 0;
    const encapsulated = (cidr: string) => {
      const block = parseCidr(cidr);
      return !!block && encapPools.some((c) => contains(c, block));
    };
    const blocks = new Map<string, { cidr: string; node: string }>();
    for (const a of this.affinities.values()) {
      if (a.state !== 'confirmed') continue;
      if (a.node === this.name || (this.encapPools && encapsulated(a.cidr)))
        blocks.set(a.cidr, { cidr: a.cidr, node: a.node });
    }
    sync(
      this.known.blocks,
      blocks,
      (b) => dp.upsertBlock(b),
      (k) => dp.removeBlock(k),
    );
    const workloads = new Map<string, Parameters<FibDataplane['upsertWorkload']>[0]>();
    for (const w of this.ofKind('WorkloadEndpoint') as WorkloadEndpointResource[]) {
      if (w.spec.node !== this.name) continue;
      const id = `${w.metadata.namespace ?? 'default'}/${w.metadata.name}`;
      workloads.set(id, { id, interfaceName: w.spec.interfaceName, ips: w.spec.ipNetworks });
    }
    sync(
      this.known.workloads,
      workloads,
      (w) => dp.upsertWorkload(w),
      (k) => dp.removeWorkload(k),
    );
    if (changed || !this.known.applied) this.scheduleApply();
    this.known.applied = true;
  }

  /** What the dataplane was last given (JSON signatures by key), so passes send only changes. */
  private known = {
    local: '',
    applied: false,
    nodes: new Map<string, string>(),
    pools: new Map<string, string>(),
    blocks: new Map<string, string>(),
    workloads: new Map<string, string>(),
  };

  /**
   * Calico's `node status` rows, from the speaker's sessions, and readiness: ready when the
   * datastore answers and has been read completely, the last pass succeeded, and every session is
   * Established; otherwise `reason` says which of these is not so (the first that fails).
   */
  status(): NodeStatus {
    const peers: NodePeerStatus[] = [];
    for (const p of this.speaker?.peers.values() ?? []) {
      const since = new Date(Date.now() - (this.speaker!.clock.now() - p.stateSince)).toISOString();
      peers.push({
        peer_address: p.config.address,
        peer_type: p.config.description || 'node specific',
        state: p.adminDown ? 'down' : p.state === 'Established' ? 'up' : 'start',
        since,
        info: p.state + (p.lastError && p.state !== 'Established' ? ` ${p.lastError}` : ''),
      });
    }
    const health = this.opts.datastore.health();
    const down = peers.filter((p) => !p.info.startsWith('Established'));
    let reason = '';
    if (!health.connected)
      reason = `datastore ${this.opts.datastore.description} unreachable: ${health.lastError ?? 'no answer'}`;
    else if (!this.synced)
      reason = this.resyncing ? 'datastore being read again after a resync' : 'datastore not read completely yet';
    else if (this.lastError) reason = this.lastError;
    else if (!this.speaker) reason = 'speaker not started';
    else if (down.length)
      reason = `sessions not Established: ${down.map((p) => `${p.peer_address} (${p.info})`).join(', ')}`;
    return {
      node: this.name,
      ready: reason === '',
      ...(reason ? { reason } : {}),
      error: this.lastError,
      datastore: { description: this.opts.datastore.description, ...health, synced: this.synced },
      peers,
    };
  }

  /** CalicoNodeStatus `agent`: the speaker, for each family the node has an address of. */
  agent(): NonNullable<CalicoNodeStatusStatus['agent']> {
    const spec = (this.ofKind('Node') as NodeResource[]).find((n) => n.metadata.name === this.name)?.spec.bgp;
    const sp = this.speaker;
    const daemon: BGPDaemonStatus = sp
      ? {
          state: 'Ready',
          version: this.opts.version ?? '0.1.0',
          routerID: sp.config.routerId,
          lastBootTime: this.speakerStartedAt,
          ...(this.speakerReconfiguredAt ? { lastReconfigurationTime: this.speakerReconfiguredAt } : {}),
        }
      : { state: 'NotReady' };
    const v6 = !!spec?.ipv6Address;
    return { ...(v6 && !spec?.ipv4Address ? {} : { birdV4: daemon }), ...(v6 ? { birdV6: daemon } : {}) };
  }

  /** CalicoNodeStatus `bgp`: every session, by family, with its state and since when. */
  bgp(): NonNullable<CalicoNodeStatusStatus['bgp']> {
    const peers: Record<4 | 6, CalicoNodePeer[]> = { 4: [], 6: [] };
    const sp = this.speaker;
    for (const p of sp?.peers.values() ?? []) {
      const since = new Date(Date.now() - ((sp as Speaker).clock.now() - p.stateSince));
      peers[p.config.address.includes(':') ? 6 : 4].push({
        peerIP: p.config.address,
        type: peerType(p.config.name),
        state: p.state,
        since: isoSeconds(since),
      });
    }
    const up = (l: CalicoNodePeer[]) => l.filter((p) => p.state === 'Established').length;
    const sort = (l: CalicoNodePeer[]) => l.sort((a, b) => ((a.peerIP ?? '') < (b.peerIP ?? '') ? -1 : 1));
    return {
      numberEstablishedV4: up(peers[4]),
      numberNotEstablishedV4: peers[4].length - up(peers[4]),
      numberEstablishedV6: up(peers[6]),
      numberNotEstablishedV6: peers[6].length - up(peers[6]),
      ...(peers[4].length ? { peersV4: sort(peers[4]) } : {}),
      ...(peers[6].length ? { peersV6: sort(peers[6]) } : {}),
    };
  }

  /** CalicoNodeStatus `routes`: the speaker's best routes (the first ROUTE_LIST_LIMIT listed) and their counts. */
  routes(): NonNullable<CalicoNodeStatusStatus['routes']> {
    const uplink = this.uplink();
    const v4 = this.routeTally.routes(4, this.speaker, uplink);
    const v6 = this.routeTally.routes(6, this.speaker, uplink);
    return {
      ...(v4.length ? { routesV4: v4 } : {}),
      ...(v6.length ? { routesV6: v6 } : {}),
      numberOfRoutesV4: this.routeTally.count[4],
      numberOfRoutesV6: this.routeTally.count[6],
    };
  }

  /** Blocks this node announces. */
  get blocks(): string[] {
    return [...this.affinities.values()]
      .filter((a) => a.node === this.name && a.state === 'confirmed')
      .map((a) => a.cidr);
  }

  /**
   * Stops watching, the speaker (Cease to peers) and the FIB programmer's watch of the kernel (its
   * `ip monitor` helpers); FIB routes stay where they are.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.applyTimer);
    for (const w of this.watchers) w.close();
    await this.nodeStatus.stop();
    await this.chain.catch(() => {});
    await this.speaker?.stop();
    await this.control?.stop();
    await this.dataplane?.close();
  }
}
