import type { BestRouteEvent, Logger, Speaker } from '@tabby/bgp';
import {
  type CalicoNodePeer,
  type CalicoNodeRoute,
  type CalicoNodeStatusResource,
  type CalicoNodeStatusStatus,
  type NodeStatusClass,
  NotFoundError,
  type ResourceStore,
} from '@tabby/datastore';

/** A time as RFC 3339 in UTC to the second, as Calico writes times in a status. */
export function isoSeconds(at = new Date()): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Routes listed per family in a CalicoNodeStatus (the counts cover them all). */
export const ROUTE_LIST_LIMIT = 1000;

interface RouteEntry {
  nextHops: string[];
  blackhole: boolean;
  sources: string[];
}

/**
 * The speaker's best routes as CalicoNodeStatus reports them: a count per family, and the first
 * `ROUTE_LIST_LIMIT` prefixes of each family in detail (a full Internet table stays out of the
 * agent's memory and out of the datastore).
 */
export class RouteTally {
  readonly count = { 4: 0, 6: 0 };
  private readonly listed = { 4: new Map<string, RouteEntry>(), 6: new Map<string, RouteEntry>() };

  constructor(private readonly limit = ROUTE_LIST_LIMIT) {}

  onBestRoute(e: BestRouteEvent): void {
    const listed = this.listed[e.family];
    if (e.type === 'withdraw') {
      this.count[e.family] = Math.max(0, this.count[e.family] - 1);
      listed.delete(e.prefix);
      return;
    }
    if (e.type === 'add') this.count[e.family] += 1;
    if (listed.has(e.prefix) || listed.size < this.limit)
      listed.set(e.prefix, { nextHops: e.nextHops, blackhole: e.blackhole, sources: e.sources });
  }

  /** Forgets everything (a new speaker announces its routes from scratch). */
  clear(): void {
    this.count[4] = 0;
    this.count[6] = 0;
    this.listed[4].clear();
    this.listed[6].clear();
  }

  /** Calico's route entries for a family: one per next hop, `FIB` (best routes are what is used). */
  routes(family: 4 | 6, speaker: Speaker | null, uplink: string): CalicoNodeRoute[] {
    const out: CalicoNodeRoute[] = [];
    for (const [prefix, r] of [...this.listed[family]].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const source = r.sources[0] ?? 'local';
      const peer = source === 'local' ? undefined : speaker?.peers.get(source);
      const learnedFrom: CalicoNodeRoute['learnedFrom'] =
        source === 'local'
          ? { sourceType: 'Static' }
          : {
              sourceType: source.startsWith('Mesh_') ? 'NodeMesh' : 'BGPPeer',
              ...(peer ? { peerIP: peer.config.address } : {}),
            };
      if (r.blackhole || !r.nextHops.length) {
        out.push({ type: 'FIB', destination: prefix, learnedFrom });
        continue;
      }
      for (const gateway of r.nextHops)
        out.push({ type: 'FIB', destination: prefix, gateway, interface: uplink, learnedFrom });
    }
    return out;
  }
}

/** What the agent knows that a CalicoNodeStatus reports, class by class. */
export interface NodeStatusSource {
  /** `status.agent` (Calico reports BIRD per family; Tabby's one speaker serves both). */
  agent(): NonNullable<CalicoNodeStatusStatus['agent']>;
  bgp(): NonNullable<CalicoNodeStatusStatus['bgp']>;
  routes(): NonNullable<CalicoNodeStatusStatus['routes']>;
}

/** Calico's peer type from Tabby's session names (`Mesh_...`, `Global_...`, `Node_...`). */
export function peerType(name: string): CalicoNodePeer['type'] {
  if (name.startsWith('Mesh_')) return 'NodeMesh';
  if (name.startsWith('Global_')) return 'GlobalPeer';
  return 'NodePeer';
}

interface Reporting {
  spec: string;
  resource: CalicoNodeStatusResource;
  timer: NodeJS.Timeout | undefined;
  chain: Promise<void>;
}

/**
 * Writes `status` into the CalicoNodeStatus resources whose `spec.node` is this node, as
 * calico/node does: at once when one appears or its spec changes, then every
 * `updatePeriodSeconds` (0: only then), with only the classes it asks for. The agent's own status
 * writes come back through the watch with an unchanged spec and are ignored. Nothing is written
 * before `activate()` (the datastore's first in-sync).
 */
export class NodeStatusReporter {
  private readonly reporting = new Map<string, Reporting>();
  private active = false;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly opts: { node: string; store: ResourceStore; source: NodeStatusSource; logger: Logger },
  ) {}

  /** A CalicoNodeStatus as the watch delivers it (`undefined`: deleted). */
  update(name: string, resource: CalicoNodeStatusResource | undefined): void {
    const cur = this.reporting.get(name);
    if (!resource || resource.spec.node !== this.opts.node) {
      if (cur) this.forget(name, cur);
      return;
    }
    const spec = JSON.stringify(resource.spec);
    if (cur && cur.spec === spec) return;
    if (cur) clearInterval(cur.timer);
    const r: Reporting = { spec, resource, timer: undefined, chain: cur?.chain ?? Promise.resolve() };
    this.reporting.set(name, r);
    if (this.active) this.start(name, r);
  }

  /** Starts reporting (after the datastore's first in-sync). */
  activate(): void {
    if (this.active) return;
    this.active = true;
    for (const [name, r] of this.reporting) this.start(name, r);
  }

  /** Forgets every resource (a datastore resync: the snapshot that follows brings them back). */
  clear(): void {
    for (const [name, r] of this.reporting) this.forget(name, r);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const chains = [...this.reporting.values()].map((r) => r.chain);
    this.clear();
    await Promise.all(chains);
  }

  private start(name: string, r: Reporting): void {
    this.report(name, r);
    const period = r.resource.spec.updatePeriodSeconds;
    if (period > 0) r.timer = setInterval(() => this.report(name, r), period * 1000);
  }

  private forget(name: string, r: Reporting): void {
    clearInterval(r.timer);
    this.reporting.delete(name);
  }

  /** One write, after the previous one for this resource (a slow store never stacks them up). */
  private report(name: string, r: Reporting): void {
    r.chain = r.chain.then(() => this.write(name, r));
  }

  private async write(name: string, r: Reporting): Promise<void> {
    if (this.stopped || this.reporting.get(name) !== r) return;
    const classes = new Set<NodeStatusClass>(r.resource.spec.classes);
    const { source } = this.opts;
    const status: CalicoNodeStatusStatus = {
      lastUpdated: isoSeconds(),
      ...(classes.has('Agent') ? { agent: source.agent() } : {}),
      ...(classes.has('BGP') ? { bgp: source.bgp() } : {}),
      ...(classes.has('Routes') ? { routes: source.routes() } : {}),
    };
    try {
      await this.opts.store.updateStatus('CalicoNodeStatus', name, status);
      if (this.failing) this.opts.logger.info({ name }, 'CalicoNodeStatus written again');
      this.failing = false;
    } catch (err) {
      if (err instanceof NotFoundError) {
        // Deleted since: the watch will say so too.
        if (this.reporting.get(name) === r) this.forget(name, r);
        return;
      }
      // Logged once per run of failures; the next period tries again.
      if (!this.failing)
        this.opts.logger.warn({ name, err: (err as Error).message }, 'cannot write CalicoNodeStatus; retrying');
      this.failing = true;
    }
  }
}
