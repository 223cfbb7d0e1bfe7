import { bgpRoutes, bgpRouteTarget } from './bgp-routes.js';
import { blackholeRoutes } from './blackhole-routes.js';
import { addressOf, canonicalAddress, canonicalPrefix, isIpv6 } from './cidr.js';
import type { ClassRoutes } from './class-routes.js';
import { type Clock, systemClock } from './clock.js';
import { FibDefaults, NO_INTERFACE, RouteClass } from './constants.js';
import { InvalidInputError } from './errors.js';
import {
  type BgpBestRoute,
  type Block,
  EncapMode,
  type IpPool,
  type LocalNode,
  type LocalWorkload,
  type RemoteNode,
} from './inputs.js';
import type { LinkDriver, LinkState, VxlanDeviceSpec } from './link-driver.js';
import { type Logger, silentLogger } from './logger.js';
import { remoteBlockRoutes } from './remote-block-routes.js';
import type { ApplyResult, RouteTable } from './route-table.js';
import { workloadRoutes } from './workload-routes.js';

export interface FibDataplaneOptions {
  localNode: LocalNode;
  routeTable: RouteTable;
  links: LinkDriver;
  vxlan?: { device?: string; vni?: number; port?: number; mtu?: number };
  ipipDevice?: string;
  workloadMac?: string;
  /** Link state is re-applied (read back and repaired) at least this often (default 90 s). */
  linkResyncIntervalMs?: number;
  logger?: Logger;
  clock?: Clock;
}

const SEP = '\u0000';

/**
 * The Felix-style dataplane: update methods record plain input data and mark what changed (no
 * kernel access, O(1) each); `apply()` recalculates the affected managers (workloads, local block
 * blackholes, remote blocks with their tunnels, BGP routes), hands their routes to the
 * `RouteTable`, applies the link state (VXLAN device, neighbours, FDB, workload interfaces), then
 * applies the route table. Nothing is written before `markInSync()`.
 */
export class FibDataplane {
  private local: LocalNode;
  private readonly table: RouteTable;
  private readonly links: LinkDriver;
  private readonly log: Logger;
  private readonly vxlanName: string;
  private readonly vni: number;
  private readonly port: number;
  private readonly vxlanMtu: number | undefined;
  private readonly ipipDevice: string;
  private readonly workloadMac: string;

  private readonly remoteNodes = new Map<string, RemoteNode>();
  private readonly pools = new Map<string, IpPool>();
  private readonly blocks = new Map<string, Block>();
  private readonly workloads = new Map<string, LocalWorkload>();
  private readonly bgp = new Map<string, BgpBestRoute>();
  private readonly dirty = { workloads: true, blocks: true, remote: true, bgp: true };
  private readonly lastKeys = new Map<string, Set<string>>();
  private readonly bgpDirty = new Set<string>();
  private readonly wantedLinks: LinkState;
  private inSync = false;
  private linksDirty = true;
  private linksPending = 0;
  private linksAppliedAt = Number.NEGATIVE_INFINITY;
  private readonly linkResyncMs: number;
  private readonly clock: Clock;
  /** Warnings of the last calculation (unroutable blocks and the like). */
  warnings: string[] = [];

  constructor(opts: FibDataplaneOptions) {
    this.local = opts.localNode;
    this.table = opts.routeTable;
    this.links = opts.links;
    this.log = opts.logger ?? silentLogger;
    this.vxlanName = opts.vxlan?.device ?? FibDefaults.vxlanDevice;
    this.vni = opts.vxlan?.vni ?? FibDefaults.vxlanVni;
    this.port = opts.vxlan?.port ?? FibDefaults.vxlanPort;
    this.vxlanMtu = opts.vxlan?.mtu;
    this.ipipDevice = opts.ipipDevice ?? FibDefaults.ipipDevice;
    this.workloadMac = opts.workloadMac ?? FibDefaults.workloadMac;
    this.linkResyncMs = opts.linkResyncIntervalMs ?? FibDefaults.resyncIntervalMs;
    this.clock = opts.clock ?? systemClock;
    this.wantedLinks = {
      vxlan: undefined,
      vxlanName: this.vxlanName,
      vxlanPeers: [],
      workloadInterfaces: [],
      workloadMac: this.workloadMac,
    };
  }

  setLocalNode(n: LocalNode): void {
    this.local = n;
    this.markAll();
  }
  /** Throws `InvalidCidrError` for an address that does not parse (checked here, not at apply). */
  upsertRemoteNode(n: RemoteNode): void {
    for (const a of [n.ipv4Address, n.ipv6Address, n.vxlanTunnelAddress]) if (a) canonicalAddress(addressOf(a));
    this.remoteNodes.set(n.name, n);
    this.dirty.remote = true;
  }
  removeRemoteNode(name: string): void {
    if (this.remoteNodes.delete(name)) this.dirty.remote = true;
  }
  /** Throws `InvalidInputError` for a pool with both IPIP and VXLAN, or IPIP on IPv6. */
  upsertPool(p: IpPool): void {
    if (p.ipipMode !== EncapMode.Never && p.vxlanMode !== EncapMode.Never)
      throw new InvalidInputError(`pool ${p.cidr}: ipipMode and vxlanMode cannot both be enabled`);
    if (p.ipipMode !== EncapMode.Never && isIpv6(p.cidr))
      throw new InvalidInputError(`pool ${p.cidr}: IPIP is IPv4 only`);
    this.pools.set(canonicalPrefix(p.cidr), p);
    this.dirty.remote = true;
  }
  removePool(cidr: string): void {
    if (this.pools.delete(canonicalPrefix(cidr))) this.dirty.remote = true;
  }
  upsertBlock(b: Block): void {
    const key = canonicalPrefix(b.cidr);
    const prev = this.blocks.get(key);
    this.blocks.set(key, { cidr: key, node: b.node });
    if (b.node === this.local.name || prev?.node === this.local.name) this.dirty.blocks = true;
    this.dirty.remote = true;
  }
  removeBlock(cidr: string): void {
    const key = canonicalPrefix(cidr);
    const prev = this.blocks.get(key);
    if (!prev) return;
    this.blocks.delete(key);
    if (prev.node === this.local.name) this.dirty.blocks = true;
    this.dirty.remote = true;
  }
  /** Throws `InvalidCidrError` for an address that does not parse (checked here, not at apply). */
  upsertWorkload(w: LocalWorkload): void {
    for (const ip of w.ips) canonicalAddress(addressOf(ip));
    this.workloads.set(w.id, w);
    this.dirty.workloads = true;
  }
  removeWorkload(id: string): void {
    if (this.workloads.delete(id)) this.dirty.workloads = true;
  }
  /**
   * One best-route change from the speaker; `nextHops` empty withdraws the prefix. Only the
   * changed prefixes are recalculated at `apply()`.
   */
  setBgpRoute(r: BgpBestRoute): void {
    const key = canonicalPrefix(r.prefix);
    for (const h of r.nextHops) canonicalAddress(h.via);
    if (r.nextHops.length === 0) this.bgp.delete(key);
    else this.bgp.set(key, { prefix: key, nextHops: r.nextHops });
    this.bgpDirty.add(key);
  }
  /** Replaces every BGP route (a full table from the speaker). */
  replaceBgpRoutes(routes: Iterable<BgpBestRoute>): void {
    this.bgp.clear();
    for (const r of routes) if (r.nextHops.length) this.bgp.set(canonicalPrefix(r.prefix), r);
    this.dirty.bgp = true;
  }

  /** The speaker has relearned its routes: stale BGP routes may go (see `RouteTable.endGracefulRestart`). */
  endGracefulRestart(): void {
    this.table.endGracefulRestart();
  }

  /** Stops the route table's timers and kernel watch; routes stay where they are. */
  async close(): Promise<void> {
    await this.table.close();
  }

  /** The datastore is in sync: writes may start (see `RouteTable.markInSync`). */
  markInSync(): void {
    this.inSync = true;
    this.table.markInSync();
  }

  /**
   * Work the last `apply()` could not finish because an interface is missing (a workload
   * interface not yet configured, a route waiting for its device): call `apply()` again later.
   */
  get pending(): number {
    return this.linksPending + this.table.status().waitingForInterface;
  }

  /** The route table the dataplane programs (status and metrics). */
  get routeTable(): RouteTable {
    return this.table;
  }

  /** The link state of the last calculation (for status and tests). */
  get linkState(): LinkState {
    return this.wantedLinks;
  }

  /** Recalculates what changed; pure, no kernel access. Called by `apply()`. */
  calculate(): void {
    if (this.dirty.workloads) {
      this.dirty.workloads = false;
      this.push('workloads', workloadRoutes(this.workloads.values()));
      this.linksDirty = true;
      this.wantedLinks.workloadInterfaces = [
        ...new Set([...this.workloads.values()].map((w) => w.interfaceName)),
      ].sort();
    }
    if (this.dirty.blocks) {
      this.dirty.blocks = false;
      this.push('blocks', [blackholeRoutes(this.local.name, this.blocks.values())]);
    }
    if (this.dirty.remote) {
      this.dirty.remote = false;
      const plan = remoteBlockRoutes(this.local, this.remoteNodes, this.pools.values(), this.blocks.values(), {
        vxlanDevice: this.vxlanName,
        ipipDevice: this.ipipDevice,
      });
      this.warnings = plan.warnings;
      for (const w of plan.warnings.slice(0, 10)) this.log.warn({ node: this.local.name }, w);
      this.push('remote', plan.routes);
      let vxlan: VxlanDeviceSpec | undefined;
      if (plan.needsVxlan) {
        if (!this.local.vxlanTunnelAddress)
          this.log.warn({ node: this.local.name }, 'a pool uses VXLAN but this node has no VXLAN tunnel address');
        else
          vxlan = {
            name: this.vxlanName,
            vni: this.vni,
            port: this.port,
            localIp: addressOf(this.local.ipv4Address),
            uplink: this.local.uplink,
            vtepIp: addressOf(this.local.vxlanTunnelAddress),
            overhead: FibDefaults.vxlanOverhead,
            ...(this.local.vxlanTunnelMac ? { mac: this.local.vxlanTunnelMac.toLowerCase() } : {}),
            ...(this.vxlanMtu ? { mtu: this.vxlanMtu } : {}),
          };
      }
      this.linksDirty = true;
      this.wantedLinks.vxlan = vxlan;
      this.wantedLinks.vxlanPeers = vxlan ? plan.vxlanPeers : [];
    }
    if (this.dirty.bgp) {
      this.dirty.bgp = false;
      this.bgpDirty.clear();
      this.push('bgp', [bgpRoutes(this.bgp.values(), this.local.uplink)]);
    } else if (this.bgpDirty.size) {
      for (const prefix of this.bgpDirty) {
        const r = this.bgp.get(prefix);
        if (r) this.table.setRoute(RouteClass.Bgp, NO_INTERFACE, bgpRouteTarget(r, this.local.uplink));
        else this.table.removeRoute(RouteClass.Bgp, NO_INTERFACE, prefix);
      }
      this.bgpDirty.clear();
    }
  }

  /**
   * Calculates, then does all kernel work: link state first (tunnel devices), then routes. Link
   * state is applied when it changed, while a workload interface is still missing, and on the
   * link resync interval; call `apply()` again when interfaces appear.
   */
  async apply(): Promise<ApplyResult> {
    this.calculate();
    const now = this.clock.now();
    if (this.inSync && (this.linksDirty || this.linksPending > 0 || now - this.linksAppliedAt >= this.linkResyncMs)) {
      this.linksDirty = false;
      try {
        this.linksPending = (await this.links.apply(this.wantedLinks)).pending;
        this.linksAppliedAt = now;
      } catch (err) {
        this.linksDirty = true;
        throw err;
      }
    }
    return this.table.apply();
  }

  private push(manager: string, sets: ClassRoutes[]): void {
    const prev = this.lastKeys.get(manager) ?? new Set<string>();
    const next = new Set<string>();
    for (const s of sets) {
      this.table.setRoutes(s.cls, s.iface, s.routes);
      next.add(`${s.cls}${SEP}${s.iface}`);
    }
    for (const k of prev) {
      if (next.has(k)) continue;
      const [cls, iface] = k.split(SEP) as [ClassRoutes['cls'], string];
      this.table.setRoutes(cls, iface, []);
    }
    this.lastKeys.set(manager, next);
  }

  private markAll(): void {
    this.dirty.workloads = this.dirty.blocks = this.dirty.remote = this.dirty.bgp = true;
  }
}
