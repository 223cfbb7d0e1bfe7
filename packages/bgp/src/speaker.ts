import { BfdService, type BfdServiceOptions } from '@tabby/bfd';
import {
  CeaseSubcode,
  endOfRibFamily,
  notification,
  type OpenMessage,
  type RouteRefreshMessage,
  Safi,
  shutdownNotification,
  type UpdateMessage,
} from '@tabby/wire';
import { BfdLink, type BfdServiceLike } from './bfd-link.js';
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import type { OriginatedPrefix, PeerConfig, SpeakerConfig } from './config/types.js';
import type { ReloadResult, SessionState } from './control/api.js';
import { ExportStage } from './export/export.js';
import { type BestRouteEvent, type FibEntry, FibFeed } from './fib-feed.js';
import { ImportStage } from './import.js';
import { childLogger, type Logger, silentLogger } from './logger.js';
import { loopWatch } from './loop-delay.js';
import { localOpen } from './open.js';
import { Peer, type PeerHost } from './peer.js';
import { PolicySet } from './policy/policy-set.js';
import { RefusalLog } from './refusal-log.js';
import { decisionOptions, planReload } from './reload.js';
import { GracefulRestart } from './restart.js';
import { AttrTable } from './rib/attr-table.js';
import { type DestChange, LocRib, type RoutePath } from './rib/loc-rib.js';
import { LocalRoutes } from './rib/local-routes.js';
import type { PathSource } from './rib/path.js';
import type { PrefixKey } from './rib/prefix-key.js';
import { RouteDrops } from './rib/route-drops.js';
import type { CloseReason, Session } from './session.js';
import type { Connection, Listener, Transport } from './transport.js';

export type { BestRouteEvent, FibEntry } from './fib-feed.js';

export interface SpeakerDeps {
  transport: Transport;
  clock?: Clock;
  logger?: Logger;
  /** Prefixes per work slice (decision process, export, initial transfer); small values interleave more. */
  sliceSize?: number;
  /**
   * Whether a next hop can be reached (RFC 4271 9.1.2); routes through unreachable next hops are
   * not candidates. Default: every next hop is reachable. The daemon checks connected subnets.
   */
  nextHopReachable?: (nextHop: string) => boolean;
  /**
   * This start is a graceful restart (RFC 4724 4.1): forwarding state was kept, so set the Restart
   * bit, and defer best-path selection and updates until every peer sent End-of-RIB or the
   * selection deferral time passes.
   */
  restarting?: boolean;
  /**
   * Starts the BFD service when a peer first asks for BFD, with the config's speaker-wide `bfd`
   * options (default: `BfdService.start`, a worker thread).
   */
  startBfd?: (opts: BfdServiceOptions) => Promise<BfdServiceLike>;
  /**
   * Whether a peer address is on a connected subnet, for a `bfd` without `multihop` (single hop
   * when it is). Default: the host's interface addresses.
   */
  bfdOnLink?: (address: string) => boolean;
}

/** Routes per prefix in one slice of work before yielding to timers and I/O. */
const DEFAULT_SLICE = 2000;

/**
 * How long one turn of the work loop removes dropped routes and runs the decision process (ms).
 * Halved (from 8) with the other budgets of a turn (reading 5, output 5): a turn could take all
 * three and a collection besides; 10,000 reflector clients coming up held the loop 28-105 ms
 * (median 33) over six runs, against 41-64 (median 46), the full-table ingest unchanged.
 */
const PROCESS_MS = 4;

/**
 * Prefixes decided, or dropped routes removed, between two looks at the clock. Removing a
 * withdrawn prefix costs up to 10 µs: a slice of 2,000 held the loop 15 to 35 ms.
 */
const CLOCK_STEP = 256;

/**
 * The BGP speaker: a coordinator over stages that each own their state (see docs/architecture.md).
 * Peers and sessions receive messages; the import stage puts UPDATEs into the RIB; the decision
 * process runs over dirty prefixes a slice at a time; each change goes to the FIB feed and the
 * export stage, which sends UPDATEs; graceful restart keeps stale routes and defers selection;
 * reload diffs configs. Transport, clock and logger are injected.
 */
export class Speaker implements PeerHost {
  readonly clock: Clock;
  readonly transport: Transport;
  readonly log: Logger;
  config: SpeakerConfig;
  /** Received attribute sets, interned (the RIB's). */
  readonly attrs = new AttrTable();
  readonly rib: LocRib;
  readonly peers = new Map<string, Peer>();
  readonly startedAt: number;
  /** BFD sessions of the peers that ask for BFD (`show bfd`, `/metrics`). */
  readonly bfd: BfdLink;
  lastReload: number | null = null;
  private readonly local: LocalRoutes;
  private readonly drops: RouteDrops;
  private readonly importer: ImportStage;
  private readonly exporter: ExportStage;
  private readonly feed: FibFeed;
  private readonly restart: GracefulRestart;
  private readonly refusals: RefusalLog;
  private readonly onChange: (c: DestChange) => void;
  private listener: Listener | null = null;
  private running = false;
  private workScheduled = false;
  /** Wakes the work loop when the export stage's pause ends. */
  private exportWake: TimerHandle | null = null;
  private readonly slice: number;

  constructor(config: SpeakerConfig, deps: SpeakerDeps) {
    this.config = config;
    this.transport = deps.transport;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
    this.slice = deps.sliceSize ?? DEFAULT_SLICE;
    this.refusals = new RefusalLog(this.clock, this.log);
    this.startedAt = Date.now();
    const startBfd = deps.startBfd ?? ((o: BfdServiceOptions) => BfdService.start(o));
    this.bfd = new BfdLink(
      () =>
        startBfd({
          logger: this.log,
          gtsm: this.config.bfd?.gtsm ?? 'off',
          singleHopSourceCheck: this.config.bfd?.sourceCheck ?? 'connected-subnet',
        }),
      deps.bfdOnLink,
    );
    const rib = new LocRib(this.attrs, decisionOptions(config));
    this.rib = rib;
    const reachable = deps.nextHopReachable;
    if (reachable) rib.usable = (r) => this.nextHopUsable(r, reachable);
    const policies = new PolicySet(config.policies);
    const log = this.log;
    const clock = this.clock;
    this.local = new LocalRoutes(rib, this.attrs, config, () => Math.floor(clock.now() / 1000));
    this.drops = new RouteDrops(rib);
    this.importer = new ImportStage(
      { rib, attrs: this.attrs, clock, log, configured: (p) => this.peers.get(p.config.name) === p },
      config,
      policies,
    );
    this.exporter = new ExportStage(rib, log, config, policies, () => this.clock.now());
    this.feed = new FibFeed(rib, (key) => this.local.blackhole(key));
    this.restart = new GracefulRestart(
      { rib, clock, log, peers: () => this.peers.values(), changed: () => this.scheduleWork() },
      config,
      !!deps.restarting,
    );
    this.onChange = (c) => {
      this.feed.changed(c);
      this.exporter.changed(c.key);
    };
  }

  /** Multihop sessions resolve through routes Tabby does not know (no IGP): their next hops are trusted. */
  private nextHopUsable(r: number, reachable: (nh: string) => boolean): boolean {
    const source = this.rib.source(r);
    if (source.local) return true;
    const peer = this.peers.get(source.name);
    if (peer && peer.config.multihop > 1) return true;
    const nh = this.rib.attrs(r).nextHop;
    const i = nh.indexOf('%');
    return reachable(i < 0 ? nh : nh.slice(0, i));
  }

  /** Re-runs the decision for every prefix, e.g. after the host's interfaces changed. */
  revalidate(): void {
    this.rib.markAllDirty();
    this.scheduleWork();
  }

  get routerId(): string {
    return this.config.routerId;
  }

  /** RFC 4724 4.1: best-path selection is deferred after a restart. */
  get deferring(): boolean {
    return this.restart.deferring;
  }

  /** Resolves when route selection runs: at once, or when the restart's deferral ends. */
  get selectionDone(): Promise<void> {
    return this.restart.selectionDone;
  }

  /** Listens (when enabled), originates the configured prefixes and starts every peer. */
  async start(): Promise<void> {
    this.running = true;
    const { listen } = this.config;
    if (listen.enabled) {
      this.listener = await this.transport.listen({ host: listen.address, port: listen.port }, (c) =>
        this.onConnection(c),
      );
      this.log.info({ address: this.listener.host, port: this.listener.port }, 'listening');
    }
    for (const o of this.config.originate) this.local.add(o);
    for (const pc of this.config.peers) this.addPeer(pc).start();
    this.restart.start();
    this.scheduleWork();
    await this.bfd.sync(this.peers.values());
  }

  /** The port actually listened on (useful with port 0). */
  get listenPort(): number {
    return this.listener?.port ?? 0;
  }

  /**
   * Stops: Cease/Administrative Shutdown to every peer (RFC 8203 message optional), closes the
   * listener.
   */
  async stop(message = 'speaker shutting down'): Promise<void> {
    this.running = false;
    this.clock.clearTimeout(this.exportWake ?? undefined);
    const bfd = this.bfd.stop();
    this.refusals.stop();
    for (const p of this.peers.values()) p.stop(shutdownNotification(message, CeaseSubcode.AdministrativeShutdown));
    // After the peers: their sessions' ends may have armed stale-route timers.
    this.restart.stop();
    this.importer.stop();
    await this.listener?.close();
    this.listener = null;
    await bfd;
  }

  private addPeer(pc: PeerConfig): Peer {
    const peer = new Peer(pc, this, childLogger(this.log, { peer: pc.name }));
    this.peers.set(pc.name, peer);
    this.byAddress = null;
    return peer;
  }

  /** Peers by address (the first configured of each), rebuilt after the peers change. */
  private byAddress: Map<string, Peer> | null = null;

  private peerAt(address: string): Peer | undefined {
    if (!this.byAddress) {
      this.byAddress = new Map();
      for (const p of this.peers.values())
        if (!this.byAddress.has(p.config.address)) this.byAddress.set(p.config.address, p);
    }
    return this.byAddress.get(address);
  }

  /** Finds a peer by name or address. */
  findPeer(nameOrAddress: string): Peer | undefined {
    return this.peers.get(nameOrAddress) ?? this.peerAt(nameOrAddress);
  }

  /** A connection in: found by its address in a map (a reflector accepts 10,000 of them at once). */
  private onConnection(conn: Connection): void {
    const peer = this.peerAt(conn.remoteAddress);
    if (!peer) {
      this.refusals.refused(conn.remoteAddress, conn.remotePort);
      conn.destroy();
      return;
    }
    peer.accept(conn);
  }

  // ---- PeerHost: what sessions report, handed to the stages -------------------------------------

  localOpen(peer: Peer): OpenMessage {
    return localOpen(this.config, peer.config, this.restart.deferring);
  }

  onStateChange(_peer: Peer, _from: SessionState, _to: SessionState): void {}

  onEstablished(peer: Peer, _s: Session): void {
    this.restart.established(peer);
    this.exporter.established(peer);
    this.scheduleWork();
  }

  onDown(peer: Peer, _s: Session, reason: CloseReason): void {
    this.exporter.down(peer);
    if (!this.restart.sessionDown(peer, reason)) this.dropRoutes(peer);
    this.scheduleWork();
  }

  onUpdate(peer: Peer, m: UpdateMessage): void {
    const eor = endOfRibFamily(m);
    if (eor !== undefined) this.restart.endOfRib(peer, eor);
    else this.importer.update(peer, m);
    this.scheduleWork();
  }

  onRouteRefresh(peer: Peer, m: RouteRefreshMessage): void {
    this.exporter.routeRefresh(peer, m);
    this.scheduleWork();
  }

  onDrain(_peer: Peer): void {
    this.scheduleWork();
  }

  // ---- local origination ----------------------------------------------------------------------

  /** Announces a local prefix (the node agent's IPAM blocks), optionally with a blackhole behind it. */
  originate(
    prefix: string,
    opts: { blackhole?: boolean; communities?: string[]; largeCommunities?: string[] } = {},
  ): void {
    this.local.add({
      prefix,
      blackhole: opts.blackhole ?? false,
      communities: opts.communities ?? [],
      largeCommunities: opts.largeCommunities ?? [],
    });
    this.scheduleWork();
  }

  /** Withdraws a local prefix. */
  withdrawLocal(prefix: string): void {
    if (this.local.withdraw(prefix)) this.scheduleWork();
  }

  /** Locally originated prefixes. */
  get originated(): OriginatedPrefix[] {
    return this.local.list();
  }

  // ---- queries: the control socket and tests ---------------------------------------------------

  /** The peer's Adj-RIB-In (the routes of its current session, accepted or not) as plain objects. */
  adjRibIn(peer: Peer): RoutePath[] {
    return [...this.rib.routesOf(peer.source)].map((r) => this.rib.path(r));
  }

  /** Routes of the peer's current session that are stale (graceful restart). */
  staleCount(peer: Peer): number {
    return this.restart.staleCount(peer);
  }

  /** Calls `cb` for every best-route change; returns an unsubscribe function. Replays the current state first. */
  subscribe(cb: (e: BestRouteEvent) => void): () => void {
    return this.feed.subscribe(cb);
  }

  /** What the best-route feed last said for prefix number `d`, if anything. */
  fibAt(d: number): FibEntry | undefined {
    return this.feed.at(d);
  }

  /** The best-route feed's current state: prefix key to forwarding outcome. */
  get fib(): Map<PrefixKey, FibEntry> {
    return this.feed.table();
  }

  /** Where the path sent with ADD-PATH identifier `id` for `key` comes from (while it is a candidate). */
  addPathSource(key: PrefixKey, id: number): PathSource | undefined {
    return this.exporter.addPathSource(key, id);
  }

  // ---- the work loop: decision, FIB feed, export ------------------------------------------------

  /**
   * Work the loop has not done yet: prefixes waiting for the decision process (`selection`,
   * including a graceful restart's deferral; 1 while a dropped session's routes are still being
   * removed) and prefixes waiting to be exported (`export`). Both 0: converged.
   */
  get backlog(): { selection: number; export: number } {
    return { selection: this.rib.pending + (this.drops.pending ? 1 : 0), export: this.exporter.backlog };
  }

  /** Schedules a slice of RIB work for the next turn of the event loop. */
  scheduleWork(): void {
    if (this.workScheduled) return;
    this.workScheduled = true;
    loopWatch.busy();
    setImmediate(() => {
      this.workScheduled = false;
      this.work();
    });
  }

  private work(): void {
    if (this.restart.deferring) return; // resumed when the deferral ends
    // Dropped routes, then the decision process, a few ms per turn and a step of each at least: a
    // backlog of dirty prefixes (a full table arriving) costs memory; sessions read 5 ms per turn.
    const until = this.clock.now() + PROCESS_MS;
    const step = Math.min(this.slice, CLOCK_STEP);
    while (this.drops.pending) {
      this.drops.remove(step);
      if (this.clock.now() >= until) break;
    }
    const onChange = this.feed.listening || this.exporter.wantsChanges ? this.onChange : undefined;
    const onOther = this.exporter.otherChangeListener();
    while (this.rib.pending > 0) {
      this.rib.process(step, onChange, onOther);
      if (this.clock.now() >= until) break;
    }
    this.exporter.work(this.slice);
    // Output may be paused (`ExportStage.quietMs`): a timer wakes the loop when the pause is over.
    // Read before `busy`, which says no while it lasts: a pause that ends in between then reads as busy.
    const wait = this.exporter.quietMs;
    const more = this.rib.pending > 0 || this.drops.pending || this.exporter.busy;
    if (!this.running) return;
    if (more) this.scheduleWork();
    else if (wait > 0 && !this.exportWake) {
      this.exportWake = this.clock.setTimeout(() => {
        this.exportWake = null;
        this.scheduleWork();
      }, wait);
    }
  }

  /**
   * Drops a peer's routes: their source is marked dead at once (no longer a candidate; a new
   * session gets a new source), and the work loop removes them a slice at a time.
   */
  private dropRoutes(peer: Peer): void {
    const old = peer.source;
    peer.renewSource();
    this.restart.forget(peer);
    this.feed.forget(old);
    if (this.drops.drop(old)) this.scheduleWork();
  }

  // ---- reload and refresh -----------------------------------------------------------------------

  /**
   * Applies a new config, changing only what differs (see `planReload`): peers added, removed, or
   * reset when a session-level setting changed; policy changes re-evaluate stored routes.
   */
  reload(next: SpeakerConfig): ReloadResult {
    const plan = planReload(this.config, next, new Map([...this.peers].map(([n, p]) => [n, p.config])));
    const bfdOptionsChanged = JSON.stringify(this.config.bfd) !== JSON.stringify(next.bfd);
    this.config = next;
    this.rib.options = decisionOptions(next);
    const policies = new PolicySet(next.policies);
    this.importer.reconfigure(next, policies);
    this.exporter.reconfigure(next, policies);
    this.restart.reconfigure(next);
    for (const name of plan.remove) {
      const peer = this.peers.get(name)!;
      peer.stop(notification(6, CeaseSubcode.PeerDeconfigured));
      this.dropRoutes(peer);
      this.peers.delete(name);
      this.byAddress = null;
    }
    for (const step of plan.peers) {
      if (step.action === 'add') {
        this.addPeer(step.config).start();
        continue;
      }
      const peer = this.peers.get(step.config.name)!;
      peer.config = step.config;
      this.byAddress = null;
      this.importer.forget(peer);
      this.exporter.forget(peer);
      if (step.action === 'reset') {
        peer.stop(notification(6, CeaseSubcode.OtherConfigurationChange));
        this.dropRoutes(peer);
        peer.start();
      } else if (step.reimport && this.importer.reimport(peer)) this.askRoutes(peer);
    }
    for (const prefix of plan.withdraw) this.local.withdraw(prefix);
    for (const o of plan.originate) this.local.add(o);
    if (this.bfd.running && bfdOptionsChanged)
      this.log.warn({}, 'bfd: gtsm and sourceCheck take effect when the daemon restarts');
    this.bfd
      .sync(this.peers.values())
      .catch((err: Error) => this.log.error({ err: err.message }, 'bfd: cannot start; peers run without BFD'));
    this.exporter.regroup(plan.reshape);
    if (plan.reshape) this.rib.markAllDirty();
    this.lastReload = Date.now();
    this.scheduleWork();
    return plan.result;
  }

  /**
   * Asks the peer to re-send its routes (ROUTE-REFRESH, RFC 2918), for each negotiated family; a
   * peer that cannot gets its stored routes through import again. False when no refresh was sent.
   */
  refresh(peer: Peer): boolean {
    if (!peer.established) return false;
    if (this.askRoutes(peer)) return true;
    this.importer.reimport(peer);
    this.scheduleWork();
    return false;
  }

  /** Sends the peer ROUTE-REFRESH for each negotiated family; false when it cannot take one. */
  private askRoutes(peer: Peer): boolean {
    const s = peer.established;
    if (!s?.remoteOpen?.capabilities.some((c) => c.kind === 'route-refresh')) return false;
    for (const afi of peer.families) s.send({ type: 'route-refresh', afi, safi: Safi.unicast, subtype: 'normal' });
    return true;
  }
}
