import {
  Afi,
  type Capability,
  CeaseSubcode,
  encodeAttributeSet,
  endOfRib,
  endOfRibFamily,
  notification,
  type OpenMessage,
  type PathAttributes,
  type PrefixList,
  packUpdates,
  type RouteRefreshMessage,
  Safi,
  type SessionContext,
  shutdownNotification,
  type UpdateMessage,
  WellKnownCommunity,
} from '@tabby/wire';
import { type Clock, systemClock } from './clock.js';
import { addressToBigInt, parseCidr } from './config/cidr.js';
import type { OriginatedPrefix, PeerConfig, SpeakerConfig } from './config/types.js';
import type { ReloadResult, SessionState } from './control/api.js';
import { childLogger, type Logger, silentLogger } from './logger.js';
import { Peer, type PeerHost } from './peer.js';
import { parseCommunity, parseLargeCommunity } from './policy/communities.js';
import { applyPolicies, CompiledPolicy, prependAs } from './policy/evaluate.js';
import { RefusalLog } from './refusal-log.js';
import { AttrTable, ipv4ToUint } from './rib/attr-table.js';
import type { DecisionOptions } from './rib/decision.js';
import { type DestChange, LocRib, NONE, type RoutePath } from './rib/loc-rib.js';
import { type AttrSet, LOCAL_SOURCE_ID, type PathSource } from './rib/path.js';
import { type PrefixKey, prefixKeyAt, prefixKeyFromText, prefixKeyText } from './rib/prefix-key.js';
import { prefixListFromKeys } from './rib/prefix-list-build.js';
import type { CloseReason, Session } from './session.js';
import type { Connection, Listener, Transport } from './transport.js';
import { UpdateGroup } from './update-group.js';

/** A change of the best route(s) for a prefix, as handed to the FIB programmer. */
export interface BestRouteEvent {
  type: 'add' | 'change' | 'withdraw';
  prefix: string;
  family: 4 | 6;
  /** ECMP next hops (empty for a blackhole or a withdrawal). */
  nextHops: string[];
  blackhole: boolean;
  /** Peer names the paths came from (`local` for originated routes). */
  sources: string[];
}

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
}

/** A peer's resolved policies and update group (see `Speaker.view`). */
interface PeerView {
  imports: CompiledPolicy[];
  importsPerPrefix: boolean;
  /** RFC 8212: an eBGP peer without import policy gets nothing in. */
  denyImports: boolean;
  exports: CompiledPolicy[];
  /** An export policy matches on prefixes: the export of a path depends on more than its attributes. */
  exportsPerPrefix: boolean;
  /** RFC 8212: an eBGP peer without export policy gets nothing out. */
  exportsNothing: boolean;
  group: string;
}

/** One distinct forwarding outcome, shared by every prefix that has it. */
export interface FibEntry {
  readonly nextHops: readonly string[];
  readonly blackhole: boolean;
  readonly sources: readonly string[];
}

function fibEvent(type: BestRouteEvent['type'], key: PrefixKey, e: FibEntry): BestRouteEvent {
  return {
    type,
    prefix: prefixKeyText(key),
    family: typeof key === 'number' ? 4 : 6,
    nextHops: type === 'withdraw' ? [] : [...e.nextHops],
    blackhole: type === 'withdraw' ? false : e.blackhole,
    sources: [...e.sources],
  };
}

/** Routes per prefix in one slice of work before yielding to timers and I/O. */
const DEFAULT_SLICE = 2000;

/** How long one turn of the work loop runs the decision process at most (ms, checked per slice). */
const PROCESS_MS = 8;

/** Output waits while a member's send buffer holds more than this. */
const HIGH_WATER = 1 << 20;

/** One flush's changes for one audience of an update group: packed and encoded once. */
interface OutBatch {
  /** Only this member; else every member but `except`. */
  readonly only: Peer | undefined;
  readonly except: readonly Peer[];
  readonly withdraw: Map<Afi, PrefixKey[]>;
  readonly announce: Map<AttrSet, PrefixKey[]>;
}

const OutBatch = {
  announce(b: OutBatch, set: AttrSet, key: PrefixKey): void {
    const keys = b.announce.get(set);
    if (keys) keys.push(key);
    else b.announce.set(set, [key]);
  },
  withdraw(b: OutBatch, afi: Afi, key: PrefixKey): void {
    const keys = b.withdraw.get(afi);
    if (keys) keys.push(key);
    else b.withdraw.set(afi, [key]);
  },
};

const AFI_OF = (key: PrefixKey): Afi => (typeof key === 'number' ? Afi.ipv4 : Afi.ipv6);

function decisionOptions(c: SpeakerConfig): DecisionOptions {
  return {
    alwaysCompareMed: c.alwaysCompareMed,
    multipath: c.multipath.enabled,
    multipathRelaxAs: c.multipath.relaxAsPath,
    maxPaths: c.multipath.maxPaths,
  };
}

function familyAfi(f: string): Afi {
  return f === 'ipv6-unicast' ? Afi.ipv6 : Afi.ipv4;
}

/**
 * The BGP speaker: peers and their sessions, Adj-RIB-In, Loc-RIB with the decision process,
 * Adj-RIB-Out with packed UPDATEs, policy, local origination and a best-route feed.
 * Transport, clock and logger are injected.
 */
export class Speaker implements PeerHost {
  readonly clock: Clock;
  readonly transport: Transport;
  readonly log: Logger;
  config: SpeakerConfig;
  readonly attrs = new AttrTable();
  readonly exportAttrs = new AttrTable();
  readonly rib: LocRib;
  readonly peers = new Map<string, Peer>();
  readonly startedAt: number;
  lastReload: number | null = null;
  private policies = new Map<string, CompiledPolicy>();
  private listener: Listener | null = null;
  private readonly localSource: PathSource;
  private readonly local = new Map<PrefixKey, OriginatedPrefix>();
  private readonly subscribers = new Set<(e: BestRouteEvent) => void>();
  /** Interned forwarding outcomes, numbered from 1; each prefix holds the number of its current one. */
  private readonly fibEntries = new Map<string, number>();
  private readonly fibList: FibEntry[] = [{ nextHops: [], blackhole: false, sources: [] }];
  /** The entries of single-path outcomes, by source and next hop (a shortcut into `fibEntries`). */
  private readonly singleFib = new Map<PathSource, Map<string, number>>();
  /**
   * Export results per export view, attribute set, and source and family, for views whose
   * policies do not look at the prefix: a full table under a few attribute sets exports a few times.
   */
  private exportBySet = new Map<string, WeakMap<AttrSet, Map<number, AttrSet | null>>>();
  /**
   * Update groups by key. Usually one per key; more while a peer that joined late (or asked for a
   * refresh) gets its own transfer, until the tables are equal and the groups merge.
   */
  private readonly groups = new Map<string, UpdateGroup[]>();
  /** Routes of sessions that went down, being removed (see `dropPeerRoutes`). */
  private readonly drops: Iterator<number>[] = [];
  private workScheduled = false;
  /** RFC 4724 4.1: selection deferred after a restart. */
  deferring = false;
  /** Resolves when route selection runs: at once, or when the restart's deferral ends. */
  readonly selectionDone: Promise<void>;
  private selectionStarted: () => void = () => {};
  private deferralTimer: ReturnType<Clock['setTimeout']> | undefined;
  private readonly eorReceived = new Map<Peer, Set<Afi>>();
  private running = false;
  private readonly slice: number;
  private readonly refusals: RefusalLog;

  constructor(config: SpeakerConfig, deps: SpeakerDeps) {
    this.config = config;
    this.transport = deps.transport;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
    this.slice = deps.sliceSize ?? DEFAULT_SLICE;
    this.refusals = new RefusalLog(this.clock, this.log);
    this.rib = new LocRib(this.attrs, decisionOptions(config));
    const reachable = deps.nextHopReachable;
    if (reachable) this.rib.usable = (r) => this.nextHopUsable(r, reachable);
    this.startedAt = Date.now();
    this.localSource = {
      id: LOCAL_SOURCE_ID,
      name: 'local',
      address: '',
      addressKey: 0n,
      routerId: ipv4ToUint(config.routerId),
      asn: config.asn,
      ibgp: false,
      rrClient: false,
      local: true,
    };
    this.compilePolicies();
    this.deferring = !!deps.restarting && config.gracefulRestart.enabled;
    this.selectionDone = new Promise((resolve) => {
      this.selectionStarted = resolve;
    });
    if (!this.deferring) this.selectionStarted();
  }

  private nextHopUsable(r: number, reachable: (nh: string) => boolean): boolean {
    const source = this.rib.source(r);
    if (source.local) return true;
    const peer = this.peers.get(source.name);
    // Multihop sessions resolve through routes Tabby does not know (no IGP): trust them.
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
    for (const o of this.config.originate) this.addLocal(o);
    for (const pc of this.config.peers) this.addPeer(pc).start();
    if (this.deferring) {
      const seconds = this.config.gracefulRestart.selectionDeferral;
      this.log.info({ seconds }, 'graceful restart: deferring best-path selection until End-of-RIB from every peer');
      this.deferralTimer = this.clock.setTimeout(
        () => this.endDeferral('selection deferral time passed'),
        seconds * 1000,
      );
    }
    this.scheduleWork();
  }

  /** Ends the RFC 4724 selection deferral: run the decision process and send updates and End-of-RIB. */
  private endDeferral(why: string): void {
    if (!this.deferring) return;
    this.deferring = false;
    this.clock.clearTimeout(this.deferralTimer);
    this.selectionStarted();
    this.log.info({ reason: why }, 'graceful restart: selection deferral over');
    this.scheduleWork();
  }

  private checkDeferral(): void {
    if (!this.deferring) return;
    for (const p of this.peers.values()) {
      if (p.adminDown) continue;
      if (!p.established) return;
      const got = this.eorReceived.get(p);
      for (const afi of p.families) if (!got?.has(afi)) return;
    }
    this.endDeferral('End-of-RIB received from every peer');
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
    this.clock.clearTimeout(this.deferralTimer);
    this.refusals.stop();
    for (const p of this.peers.values()) p.stop(shutdownNotification(message, CeaseSubcode.AdministrativeShutdown));
    await this.listener?.close();
    this.listener = null;
  }

  private compilePolicies(): void {
    this.policies = new Map([...this.config.policies].map(([k, v]) => [k, new CompiledPolicy(v)]));
    this.peerViews.clear();
  }

  /** What import and export need to know of a peer, resolved once, not per UPDATE or prefix. */
  private readonly peerViews = new Map<Peer, PeerView>();

  private view(peer: Peer): PeerView {
    let v = this.peerViews.get(peer);
    if (v) return v;
    const c = peer.config;
    const resolve = (names: string[]) => names.map((n) => this.policies.get(n)).filter((x): x is CompiledPolicy => !!x);
    const imports = resolve(c.import);
    const exports = resolve(c.export);
    const byPeer = exports.some((p) => p.policy.rules.some((r) => r.match.peer !== undefined));
    v = {
      imports,
      importsPerPrefix: imports.some((p) => p.policy.rules.some((r) => r.match.prefix !== undefined)),
      denyImports: !peer.ibgp && imports.length === 0 && this.config.ebgpRequiresPolicy,
      exports,
      exportsPerPrefix: exports.some((p) => p.policy.rules.some((r) => r.match.prefix !== undefined)),
      exportsNothing: !peer.ibgp && exports.length === 0 && this.config.ebgpRequiresPolicy,
      group: JSON.stringify([
        peer.ibgp,
        c.routeReflectorClient,
        c.nextHop,
        c.export,
        c.localAsn,
        peer.established?.conn.localAddress ?? '',
        peer.established?.ctx.fourOctetAs ?? true,
        byPeer ? c.name : '',
      ]),
    };
    this.peerViews.set(peer, v);
    return v;
  }

  private addPeer(pc: PeerConfig): Peer {
    const peer = new Peer(pc, this, childLogger(this.log, { peer: pc.name }));
    this.peers.set(pc.name, peer);
    return peer;
  }

  /** Finds a peer by name or address. */
  findPeer(nameOrAddress: string): Peer | undefined {
    const byName = this.peers.get(nameOrAddress);
    if (byName) return byName;
    for (const p of this.peers.values()) if (p.config.address === nameOrAddress) return p;
    return undefined;
  }

  private onConnection(conn: Connection): void {
    const peer = [...this.peers.values()].find((p) => p.config.address === conn.remoteAddress);
    if (!peer) {
      this.refusals.refused(conn.remoteAddress, conn.remotePort);
      conn.destroy();
      return;
    }
    peer.accept(conn);
  }

  // ---- PeerHost ----------------------------------------------------------------------------

  localOpen(peer: Peer): OpenMessage {
    const pc = peer.config;
    const caps: Capability[] = [];
    for (const f of pc.families) caps.push({ kind: 'multiprotocol', afi: familyAfi(f), safi: Safi.unicast });
    caps.push({ kind: 'route-refresh' }, { kind: 'enhanced-route-refresh' });
    caps.push({ kind: 'four-octet-as', asn: pc.localAsn });
    caps.push({ kind: 'extended-message' });
    const gr = this.config.gracefulRestart;
    if (gr.enabled && pc.gracefulRestart) {
      caps.push({
        kind: 'graceful-restart',
        restarting: this.deferring,
        notification: gr.notification,
        restartTime: gr.restartTime,
        families: pc.families.map((f) => ({ afi: familyAfi(f), safi: Safi.unicast, forwarding: true })),
      });
    }
    if (pc.addPath.send || pc.addPath.receive) {
      const mode = pc.addPath.send && pc.addPath.receive ? 'both' : pc.addPath.send ? 'send' : 'receive';
      caps.push({
        kind: 'add-path',
        families: pc.families.map((f) => ({ afi: familyAfi(f), safi: Safi.unicast, mode })),
      });
    }
    return {
      type: 'open',
      version: 4,
      myAs: pc.localAsn > 0xffff ? 23456 : pc.localAsn,
      holdTime: pc.holdTime,
      bgpId: this.config.routerId,
      capabilities: caps,
    };
  }

  onStateChange(_peer: Peer, _from: SessionState, _to: SessionState): void {}

  onEstablished(peer: Peer, s: Session): void {
    this.peerViews.delete(peer); // the local address and encoding are the new session's
    // The peer's router ID (ORIGINATOR_ID of what it sent) may have changed.
    this.exportBySet = new Map();
    const remote = s.remoteOpen?.capabilities ?? [];
    const theirs = new Set(remote.filter((c) => c.kind === 'multiprotocol').map((c) => (c as { afi: number }).afi));
    // RFC 4760 8: a peer that advertises no multiprotocol capability speaks IPv4 unicast.
    if (!remote.some((c) => c.kind === 'multiprotocol')) theirs.add(Afi.ipv4);
    peer.families = new Set(peer.config.families.map(familyAfi).filter((a) => theirs.has(a)));
    peer.eorPending = new Set(peer.families);
    this.eorReceived.set(peer, new Set());
    this.leaveGroup(peer);
    peer.addPathOut.clear();
    peer.addPathDirty.clear();
    peer.addPathSend = new Set<Afi>();
    if (peer.config.addPath.send) {
      if (s.ctx.addPathSend.ipv4) peer.addPathSend.add(Afi.ipv4);
      if (s.ctx.addPathSend.ipv6) peer.addPathSend.add(Afi.ipv6);
    }
    this.joinGroup(peer);
    this.scheduleWork();
  }

  // ---- update groups ---------------------------------------------------------------------------

  /** The update-group key of an established peer: export view, families, ADD-PATH, encoding. */
  private groupKey(peer: Peer): string {
    const ctx: SessionContext = peer.established!.ctx;
    const addPath = [...peer.addPathSend].sort();
    return JSON.stringify([
      this.view(peer).group,
      [...peer.families].filter((a) => !peer.addPathSend.has(a)).sort(),
      addPath,
      ctx.fourOctetAs,
      ctx.extendedMessage,
      ctx.addPathSend.ipv4,
      ctx.addPathSend.ipv6,
      // ADD-PATH state (what was sent per path) is per peer: such a peer is a group of its own.
      addPath.length ? peer.config.name : '',
    ]);
  }

  private newGroup(peer: Peer, key: string): UpdateGroup {
    const g = new UpdateGroup(
      key,
      this.view(peer).group,
      new Set([...peer.families].filter((a) => !peer.addPathSend.has(a))),
      new Set([...peer.addPathSend].filter((a) => peer.families.has(a))),
    );
    g.exportsNothing = this.view(peer).exportsNothing;
    let list = this.groups.get(key);
    if (!list) {
      list = [];
      this.groups.set(key, list);
    }
    list.push(g);
    return g;
  }

  /**
   * Puts a newly established peer (which holds nothing from us) in a group: one that holds
   * nothing either shares its transfer at once; otherwise a new group of its own with the same
   * key transfers the table, and merges with the others when both are quiet.
   */
  private joinGroup(peer: Peer): void {
    const key = this.groupKey(peer);
    let g = this.groups.get(key)?.find((x) => x.adjOut.size === 0);
    if (!g) {
      g = this.newGroup(peer, key);
      if (!g.exportsNothing) g.sync = this.rib.keys();
    }
    g.members.add(peer);
    peer.group = g;
  }

  private leaveGroup(peer: Peer): void {
    const g = peer.group;
    peer.group = null;
    if (!g) return;
    g.members.delete(peer);
    if (g.members.size === 0) this.dropGroup(g);
  }

  private dropGroup(g: UpdateGroup): void {
    g.clear((set) => this.exportAttrs.unref(set));
    const list = this.groups.get(g.key);
    const i = list?.indexOf(g) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    if (list && !list.length) this.groups.delete(g.key);
  }

  /** Moves `peers` (members of `g`) to a copy of it, which re-walks the Loc-RIB; returns the copy. */
  private splitGroup(g: UpdateGroup, peers: Peer[], key = g.key, viewKey = g.viewKey): UpdateGroup {
    const c = g.clone((set) => this.exportAttrs.ref(set));
    c.key = key;
    c.viewKey = viewKey;
    if (peers[0]) c.exportsNothing = this.view(peers[0]).exportsNothing;
    let list = this.groups.get(key);
    if (!list) {
      list = [];
      this.groups.set(key, list);
    }
    list.push(c);
    for (const p of peers) {
      g.members.delete(p);
      c.members.add(p);
      p.group = c;
    }
    c.sync = this.rib.keys();
    if (g.members.size === 0) this.dropGroup(g);
    return c;
  }

  /** Merges quiet groups of one key (their tables are then equal) into the first of them. */
  private mergeGroups(): void {
    for (const list of this.groups.values()) {
      if (list.length < 2) continue;
      const quiet = list.filter((g) => g.quiet && g.members.size > 0);
      const into = quiet[0];
      for (const g of quiet.slice(1)) {
        if (g.unmergeable || !into!.sameTable(g)) {
          // Cannot happen while both follow the Loc-RIB; should it, the group just stays apart.
          if (!g.unmergeable) this.log.error({ group: g.key }, 'update groups hold different tables: not merged');
          g.unmergeable = true;
          continue;
        }
        for (const p of g.members) {
          into!.members.add(p);
          p.group = into!;
        }
        g.members.clear();
        this.dropGroup(g);
      }
    }
  }

  onDown(peer: Peer, _s: Session, reason: CloseReason): void {
    this.leaveGroup(peer);
    this.peerViews.delete(peer);
    peer.addPathOut.clear();
    peer.addPathDirty.clear();
    // RFC 4724: keep the routes as stale when the session just dropped; RFC 8538: also after a
    // NOTIFICATION when both sides set the N bit, unless it is a Hard Reset.
    const n = reason.notification;
    const viaNotification = reason.kind !== 'transport' && reason.kind !== 'local';
    const hardReset = n?.code === 6 && n.subcode === CeaseSubcode.HardReset;
    const keep = peer.peerRestartTime >= 0 && (!viaNotification || (peer.peerNotificationGr && !hardReset));
    if (keep) {
      for (const r of this.rib.routesOf(peer.source)) this.rib.setStale(r, true);
      this.armStaleTimer(peer);
    } else {
      this.dropPeerRoutes(peer);
    }
    this.scheduleWork();
  }

  private staleTimers = new Map<Peer, ReturnType<Clock['setTimeout']>>();

  /** RFC 4724 4.2: stale routes go when the restart time passes without the session coming back. */
  private armStaleTimer(peer: Peer): void {
    this.clock.clearTimeout(this.staleTimers.get(peer));
    const seconds = Math.min(peer.peerRestartTime, this.config.gracefulRestart.stalePathTime);
    this.staleTimers.set(
      peer,
      this.clock.setTimeout(() => {
        this.staleTimers.delete(peer);
        this.flushStale(peer, undefined);
      }, seconds * 1000),
    );
  }

  /** Removes the peer's routes still stale (of one family, or all). */
  private flushStale(peer: Peer, afi: Afi | undefined): void {
    let n = 0;
    for (const r of this.rib.routesOf(peer.source)) {
      if (!this.rib.stale(r) || (afi !== undefined && AFI_OF(this.rib.key(r)) !== afi)) continue;
      this.rib.remove(r);
      n += 1;
    }
    if (n) this.log.info({ peer: peer.config.name, routes: n }, 'stale routes removed');
    this.scheduleWork();
  }

  onUpdate(peer: Peer, m: UpdateMessage): void {
    if (m.errors?.length) {
      this.log.warn(
        { peer: peer.config.name, errors: m.errors.map((e) => `${e.action}: ${e.reason}`) },
        'malformed UPDATE (RFC 7606)',
      );
    }
    const eor = endOfRibFamily(m);
    if (eor !== undefined) {
      this.log.debug({ peer: peer.config.name, afi: eor }, 'End-of-RIB received');
      this.eorReceived.get(peer)?.add(eor);
      this.flushStale(peer, eor);
      this.checkDeferral();
      return;
    }
    const now = this.seconds();
    for (const list of [m.withdrawn, m.mpUnreach?.withdrawn]) if (list) this.withdrawFrom(peer, list);
    if (m.nlri.count) this.announceFrom(peer, m, m.nlri, m.attributes.nextHop ?? '', now);
    if (m.mpReach?.nlri.count) {
      const r = m.mpReach;
      this.announceFrom(peer, m, r.nlri, r.linkLocalNextHop ? `${r.nextHop}%${r.linkLocalNextHop}` : r.nextHop, now);
    }
    this.checkMaxPrefix(peer);
    this.scheduleWork();
  }

  /** Clock time in whole seconds (kept as a small integer on every path). */
  private seconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  private withdrawFrom(peer: Peer, list: PrefixList): void {
    for (let i = 0; i < list.count; i++) {
      const key = prefixKeyAt(list, i);
      const r = this.rib.find(key, peer.source, list.pathIds ? list.pathIds[i]! : 0);
      peer.updates.withdrawalsReceived += 1;
      if (r !== NONE) this.rib.remove(r);
    }
  }

  /** Why a received route is unusable (RFC 4271 9.1.2 loop checks, RFC 4456 8), or ''. */
  private loopCheck(peer: Peer, a: PathAttributes): string {
    let own = 0;
    const local = peer.config.localAsn;
    for (const s of a.asPath ?? []) for (const asn of s.asns) if (asn === local) own += 1;
    if (own > peer.config.allowLocalAs) return 'AS path loop';
    if (a.originatorId === this.config.routerId) return 'originator is us';
    const cid = this.config.clusterId ?? this.config.routerId;
    if (peer.ibgp && a.clusterList?.includes(cid)) return 'cluster list loop';
    return '';
  }

  private announceFrom(peer: Peer, m: UpdateMessage, list: PrefixList, nextHop: string, now: number): void {
    let attrs = m.attributes;
    peer.updates.prefixesReceived += list.count;
    const raw = m.attrKey
      ? this.attrs.internRaw(attrs, nextHop, m.attrKey, peer.established?.ctx.fourOctetAs ?? true)
      : this.attrs.intern(attrs, nextHop);
    const loop = this.loopCheck(peer, attrs);
    // RFC 4271 5.1.5: LOCAL_PREF from an external peer is ignored.
    if (!peer.ibgp && attrs.localPref !== undefined) attrs = { ...attrs, localPref: undefined };
    const { imports, importsPerPrefix: needsPerPrefix, denyImports } = this.view(peer);
    const denyAll = !loop && denyImports;
    let shared: AttrSet | null | undefined;
    for (let i = 0; i < list.count; i++) {
      const key = prefixKeyAt(list, i);
      const pathId = list.pathIds ? list.pathIds[i]! : 0;
      let post: AttrSet | null;
      if (loop || denyAll) post = null;
      else if (!imports.length) post = shared ??= attrs === m.attributes ? raw : this.attrs.intern(attrs, nextHop);
      else if (!needsPerPrefix && shared !== undefined) post = shared;
      else {
        const r = applyPolicies(
          imports,
          { key, attrs, nextHop, peerName: peer.config.name, peerAddress: peer.config.address },
          this.config.asn,
        );
        // A policy that changed nothing keeps the received set: no second interning.
        post = !r.accept
          ? null
          : r.attrs === m.attributes && r.nextHop === nextHop
            ? raw
            : this.attrs.intern(r.attrs, r.nextHop);
        if (!needsPerPrefix) shared = post;
      }
      this.rib.put(key, peer.source, pathId, raw, post, now);
    }
    if (loop) this.log.debug({ peer: peer.config.name, prefixes: list.count, reason: loop }, 'routes ignored');
  }

  private maxPrefixTimers = new Map<Peer, ReturnType<Clock['setTimeout']>>();

  private checkMaxPrefix(peer: Peer): void {
    const mp = peer.config.maxPrefix;
    // Accepted routes are a subset of the Adj-RIB-In: count them only when it is over the limit.
    if (!mp || this.rib.routeCount(peer.source) <= mp.limit) return;
    const accepted = this.rib.acceptedCount(peer.source);
    if (accepted <= mp.limit) return;
    if (mp.action === 'warn') {
      this.log.warn({ peer: peer.config.name, accepted, limit: mp.limit }, 'maximum prefix limit exceeded');
      return;
    }
    // RFC 4486 4: Cease, subcode 1, data AFI (2), SAFI (1), upper bound (4).
    const data = new Uint8Array(7);
    new DataView(data.buffer).setUint16(0, 1);
    data[2] = 1;
    new DataView(data.buffer).setUint32(3, mp.limit);
    peer.stop(notification(6, CeaseSubcode.MaximumPrefixesReached, data));
    peer.lastError = `Maximum prefix limit ${mp.limit} exceeded; restart in ${mp.restartTime}s`;
    this.maxPrefixTimers.set(
      peer,
      this.clock.setTimeout(() => {
        this.maxPrefixTimers.delete(peer);
        if (this.peers.get(peer.config.name) === peer && !peer.adminDown) peer.start();
      }, mp.restartTime * 1000),
    );
  }

  onRouteRefresh(peer: Peer, m: RouteRefreshMessage): void {
    if (m.subtype !== 'normal' && m.subtype !== 0) return; // BoRR/EoRR from the peer: nothing to do here
    const afi = m.afi as Afi;
    if (!peer.families.has(afi)) return;
    // RFC 2918 / 7313: re-send the Adj-RIB-Out for the family, from a group of the peer's own
    // (it merges back once done).
    const g = peer.group;
    if (g?.families.has(afi)) {
      const c = g.members.size > 1 ? this.splitGroup(g, [peer]) : g;
      for (const [k] of c.advertised(peer)) {
        if (AFI_OF(k) !== afi) continue;
        c.force.add(k);
        c.queue.add(k);
      }
    }
    for (const k of peer.addPathOut.keys()) {
      if (AFI_OF(k) !== afi) continue;
      peer.addPathOut.delete(k);
      peer.addPathDirty.add(k);
    }
    peer.eorPending.add(afi);
    this.scheduleWork();
  }

  onDrain(_peer: Peer): void {
    this.scheduleWork();
  }

  // ---- local origination ----------------------------------------------------------------

  private localKey(prefix: string): PrefixKey {
    const p = parseCidr(prefix);
    if (!p || p.hostBitsSet) throw new TypeError(`not a canonical prefix: ${prefix}`);
    return prefixKeyFromText(p.family, addressToBigInt(p.address)!.value, p.length);
  }

  private addLocal(o: OriginatedPrefix): void {
    const key = this.localKey(o.prefix);
    this.local.set(key, o);
    const attrs: PathAttributes = {
      origin: 'igp',
      asPath: [],
      ...(o.communities.length ? { communities: o.communities.map(parseCommunity).sort((a, b) => a - b) } : {}),
      ...(o.largeCommunities.length ? { largeCommunities: o.largeCommunities.map(parseLargeCommunity) } : {}),
    };
    const set = this.attrs.intern(attrs, '');
    this.rib.put(key, this.localSource, 0, set, set, this.seconds());
    this.scheduleWork();
  }

  /** Announces a local prefix (the node agent's IPAM blocks), optionally with a blackhole behind it. */
  originate(
    prefix: string,
    opts: { blackhole?: boolean; communities?: string[]; largeCommunities?: string[] } = {},
  ): void {
    this.addLocal({
      prefix,
      blackhole: opts.blackhole ?? false,
      communities: opts.communities ?? [],
      largeCommunities: opts.largeCommunities ?? [],
    });
  }

  /** Withdraws a local prefix. */
  withdrawLocal(prefix: string): void {
    const key = this.localKey(prefix);
    if (!this.local.delete(key)) return;
    const r = this.rib.find(key, this.localSource, 0);
    if (r !== NONE) this.rib.remove(r);
    this.scheduleWork();
  }

  /** The peer's Adj-RIB-In (the routes of its current session, accepted or not) as plain objects. */
  adjRibIn(peer: Peer): RoutePath[] {
    return [...this.rib.routesOf(peer.source)].map((r) => this.rib.path(r));
  }

  /** Routes of the peer's current session that are stale (graceful restart). */
  staleCount(peer: Peer): number {
    let n = 0;
    for (const r of this.rib.routesOf(peer.source)) if (this.rib.stale(r)) n += 1;
    return n;
  }

  /** Locally originated prefixes. */
  get originated(): OriginatedPrefix[] {
    return [...this.local.values()];
  }

  // ---- best-route feed --------------------------------------------------------------------

  /** Calls `cb` for every best-route change; returns an unsubscribe function. Replays the current state first. */
  subscribe(cb: (e: BestRouteEvent) => void): () => void {
    for (const [key, e] of this.fib) cb(fibEvent('add', key, e));
    this.subscribers.add(cb);
    return () => this.subscribers.delete(cb);
  }

  private fibEvent(change: DestChange): void {
    const rib = this.rib;
    const d = change.dest;
    const key = change.key;
    const prev = rib.fib(d);
    let next = 0;
    const best = rib.best(d);
    if (best !== NONE) {
      const source = rib.source(best);
      const blackhole = source.local && (this.local.get(key)?.blackhole ?? false);
      const single = !blackhole && rib.ecmpRest(d).length === 0 ? this.singleFib.get(source) : undefined;
      next = single?.get(rib.attrs(best).nextHop) ?? 0;
      if (!next && (!source.local || blackhole)) {
        const members = rib.ecmpMembers(d);
        const nextHops = blackhole ? [] : members.map((r) => rib.attrs(r).nextHop).filter(Boolean);
        const sources = members.map((r) => rib.source(r).name);
        const id = `${blackhole}|${nextHops.join(',')}|${sources.join(',')}`;
        next = this.fibEntries.get(id) ?? 0;
        if (!next) {
          next = this.fibList.push({ nextHops, blackhole, sources }) - 1;
          this.fibEntries.set(id, next);
        }
        if (!blackhole && members.length === 1) {
          // One path, one next hop: found again without building the key (a full table hits this).
          let m = this.singleFib.get(source);
          if (!m) {
            m = new Map();
            this.singleFib.set(source, m);
          }
          m.set(rib.attrs(best).nextHop, next);
        }
      }
    }
    if (next === prev) return;
    rib.setFib(d, next);
    if (!this.subscribers.size) return;
    const ev = next
      ? fibEvent(prev ? 'change' : 'add', key, this.fibList[next]!)
      : fibEvent('withdraw', key, this.fibList[prev]!);
    for (const s of this.subscribers) s(ev);
  }

  /** What the best-route feed last said for prefix number `d`, if anything. */
  fibAt(d: number): FibEntry | undefined {
    const f = this.rib.fib(d);
    return f ? this.fibList[f] : undefined;
  }

  /** The best-route feed's current state: prefix key to forwarding outcome. */
  get fib(): Map<PrefixKey, FibEntry> {
    const out = new Map<PrefixKey, FibEntry>();
    for (const d of this.rib.dests()) {
      const f = this.rib.fib(d);
      if (f) out.set(this.rib.destKey(d), this.fibList[f]!);
    }
    return out;
  }

  // ---- export --------------------------------------------------------------------------------

  /**
   * Route `best` exported through the view `viewKey` that `peer` has, or null to withdraw. Peers
   * whose outbound view is identical (an update group: same session type, reflection role,
   * next-hop mode, export policies, local address and encoding) share one computation per
   * attribute set and source.
   */
  private exportVia(viewKey: string, peer: Peer, best: number): AttrSet | null {
    const v = this.view(peer);
    if (v.exportsNothing) return null;
    // Policies that look at the prefix: computed per prefix.
    if (v.exportsPerPrefix) return this.exportPath(peer, best);
    let bySet = this.exportBySet.get(viewKey);
    if (!bySet) {
      bySet = new WeakMap();
      this.exportBySet.set(viewKey, bySet);
    }
    const attrs = this.rib.attrs(best);
    let m = bySet.get(attrs);
    if (!m) {
      m = new Map();
      bySet.set(attrs, m);
    }
    const k = this.rib.source(best).id * 2 + (typeof this.rib.key(best) === 'number' ? 0 : 1);
    const hit = m.get(k);
    // A remembered set no path uses any more left the table: put it back (one object per set).
    if (hit !== undefined) return hit && hit.refs <= 0 ? this.exportAttrs.adopt(hit) : hit;
    const out = this.exportPath(peer, best);
    m.set(k, out);
    return out;
  }

  /** The update-group signature of a peer (see `exportVia`). */
  updateGroup(peer: Peer): string {
    return this.view(peer).group;
  }

  /** RFC 4271 5.1 and RFC 4456 8: what one path becomes towards `peer`, or null when not sent. */
  private exportPath(peer: Peer, route: number): AttrSet | null {
    const src = this.rib.source(route);
    const best = { key: this.rib.key(route), attrs: this.rib.attrs(route) };
    const dest = { key: best.key };
    const clusterId = this.config.clusterId;
    if (!src.local && src.ibgp && peer.ibgp) {
      // iBGP-learned routes go to other iBGP peers only through a route reflector (RFC 4456 8).
      if (!clusterId) return null;
      if (!src.rrClient && !peer.config.routeReflectorClient) return null;
    }
    const a = best.attrs.attrs;
    const comms = a.communities ?? [];
    if (comms.includes(WellKnownCommunity.NO_ADVERTISE)) return null;
    if (
      !peer.ibgp &&
      (comms.includes(WellKnownCommunity.NO_EXPORT) || comms.includes(WellKnownCommunity.NO_EXPORT_SUBCONFED))
    )
      return null;
    let out: PathAttributes = { ...a };
    const family = typeof dest.key === 'number' ? 4 : 6;
    let nextHopSelf: boolean;
    if (peer.ibgp) {
      out = { ...out, localPref: best.attrs.localPref };
      if (!src.local && src.ibgp) {
        out = {
          ...out,
          originatorId: a.originatorId ?? ipv4FromUint(src.routerId),
          clusterList: [clusterId ?? this.config.routerId, ...(a.clusterList ?? [])],
        };
      }
      nextHopSelf = src.local || peer.config.nextHop === 'self';
    } else {
      out = prependAs(
        { ...out, localPref: undefined, originatorId: undefined, clusterList: undefined },
        peer.config.localAsn,
        1,
      );
      if (!src.local) out = { ...out, med: undefined };
      nextHopSelf = peer.config.nextHop !== 'keep' || src.local;
    }
    let nextHop = best.attrs.nextHop;
    const { exports } = this.view(peer);
    if (!peer.ibgp && !exports.length && this.config.ebgpRequiresPolicy) return null;
    if (exports.length) {
      const r = applyPolicies(
        exports,
        { key: dest.key, attrs: out, nextHop, peerName: peer.config.name, peerAddress: peer.config.address },
        peer.config.localAsn,
      );
      if (!r.accept) return null;
      out = r.attrs;
      if (r.nextHopMode === 'self') nextHopSelf = true;
      else if (r.nextHopMode === 'keep' && !src.local) {
        nextHopSelf = false;
        nextHop = r.nextHop;
      }
    }
    if (nextHopSelf || !nextHop) {
      const localAddr = peer.established?.conn.localAddress ?? '';
      const isV6 = localAddr.includes(':');
      if ((family === 6) !== isV6) return null; // no next hop of the right family towards this peer
      nextHop = localAddr;
    }
    if (family === 4) out = { ...out, nextHop };
    else out = { ...out, nextHop: undefined };
    return this.exportAttrs.intern(out, nextHop);
  }

  /** Queues a changed prefix for every group that sends its family. */
  private queueExport(g: UpdateGroup, key: PrefixKey): void {
    if (g.exportsNothing) return;
    const afi = AFI_OF(key);
    if (g.families.has(afi)) g.queue.add(key);
    else if (g.addPathFamilies.has(afi)) for (const p of g.members) p.addPathDirty.add(key);
  }

  /** RFC 7911 path identifier for a path we send: stable per (source, received path ID). */
  private sendPathId(r: number): number {
    return (this.rib.source(r).id * 256 + (this.rib.pathId(r) % 256)) >>> 0;
  }

  /** Where the path sent with ADD-PATH identifier `id` for `key` comes from (while it is a candidate). */
  addPathSource(key: PrefixKey, id: number): PathSource | undefined {
    const d = this.rib.dest(key);
    if (d === NONE) return undefined;
    for (const r of this.rib.candidates(d)) if (this.sendPathId(r) === id) return this.rib.source(r);
    return undefined;
  }

  /** What to advertise with ADD-PATH for a prefix: path identifier -> attributes. */
  private addPathExports(peer: Peer, key: PrefixKey): Map<number, AttrSet> {
    const out = new Map<number, AttrSet>();
    const rib = this.rib;
    const d = rib.dest(key);
    if (d === NONE || rib.best(d) === NONE) return out;
    const candidates = peer.config.addPath.select === 'all' ? rib.candidates(d) : rib.ecmpMembers(d);
    for (const r of candidates) {
      const source = rib.source(r);
      if (source === peer.source || source.dead) continue;
      const set = this.exportPath(peer, r);
      if (set) out.set(this.sendPathId(r), set);
    }
    return out;
  }

  /**
   * Sends up to `budget` queued prefixes of the group: each change is exported, encoded and packed
   * once, and the same bytes are written to every member that gets them. A member is left out
   * of a prefix's change when it is the source of the path (no echo) or was before (it then gets
   * the announcement on its own); returns how many prefixes it handled.
   */
  private flushGroup(g: UpdateGroup, budget: number): number {
    const members = [...g.members].filter((p) => p.established?.writable);
    if (!members.length) return 0;
    for (const p of members) if (p.established!.conn.pendingBytes > HIGH_WATER) return 0;
    const rep = members[0]!;
    const ctx = rep.established!.ctx;
    const bySource = new Map<PathSource, Peer>();
    for (const p of members) bySource.set(p.source, p);
    // Changes by audience: everyone but `except`, or one member only.
    const batches = new Map<string, OutBatch>();
    const batch = (only: Peer | undefined, except: (Peer | undefined)[]): OutBatch => {
      const ex = except.filter((p): p is Peer => p !== undefined);
      const id = only ? `=${only.id}` : ex.map((p) => p.id).join(',');
      let b = batches.get(id);
      if (!b) {
        b = { only, except: ex, withdraw: new Map(), announce: new Map() };
        batches.set(id, b);
      }
      return b;
    };
    let n = 0;
    for (const key of g.queue) {
      if (n++ >= budget) break;
      g.queue.delete(key);
      const force = g.force.delete(key);
      const d = this.rib.dest(key);
      const best = d === NONE ? NONE : this.rib.best(d);
      const source = best === NONE ? undefined : this.rib.source(best);
      // A source being dropped: the prefix is reprocessed when its route goes.
      const set = source && !source.dead ? this.exportVia(g.viewKey, rep, best) : null;
      const src = set && !source!.local ? source : undefined;
      const old = g.adjOut.get(key) ?? null;
      const oldSrc = g.sources.get(key);
      if (set === old && src === oldSrc && !force) continue;
      if (set) this.exportAttrs.ref(set);
      if (old) this.exportAttrs.unref(old);
      g.record(key, set, src);
      // The member that was the source held nothing; the one that is now holds nothing.
      const a = oldSrc ? bySource.get(oldSrc) : undefined;
      const b = src ? bySource.get(src) : undefined;
      const afi = AFI_OF(key);
      if (set && (set !== old || force)) OutBatch.announce(batch(undefined, [a, b]), set, key);
      else if (!set && old) OutBatch.withdraw(batch(undefined, [a, b]), afi, key);
      if (a !== b) {
        if (a && set) OutBatch.announce(batch(a, []), set, key);
        if (b && old) OutBatch.withdraw(batch(b, []), afi, key);
      }
    }
    if (g.encoded.size > 50_000) g.encoded = new Map(); // attribute sets that churned away
    for (const b of batches.values()) {
      const out: Uint8Array[] = [];
      let withdrawn = 0;
      let announced = 0;
      for (const [afi, keys] of b.withdraw) {
        withdrawn += keys.length;
        out.push(...packUpdates({ withdraw: prefixListFromKeys(afi, keys) }, ctx));
      }
      for (const [set, keys] of b.announce) {
        const afi = AFI_OF(keys[0]!);
        let enc = g.encoded.get(set.id);
        if (!enc) {
          const mp = afi === Afi.ipv6 ? splitNextHop(set.nextHop) : undefined;
          enc = encodeAttributeSet(set.attrs, ctx, mp ? { afi: Afi.ipv6, ...mp } : undefined);
          g.encoded.set(set.id, enc);
        }
        announced += keys.length;
        out.push(...packUpdates({ announce: prefixListFromKeys(afi, keys), attributes: enc }, ctx));
      }
      if (!out.length) continue;
      const bytes = out.length === 1 ? out[0]! : Buffer.concat(out);
      for (const p of b.only ? [b.only] : members) {
        if (b.except.includes(p)) continue;
        p.updates.withdrawalsSent += withdrawn;
        p.updates.prefixesSent += announced;
        p.established!.sendEncoded(bytes, out.length);
      }
    }
    for (const p of members) if (p.addPathDirty.size) n += this.flushAddPath(p, budget);
    const done = g.quiet;
    for (const p of members) {
      if (done && !p.addPathDirty.size && p.eorPending.size) {
        for (const afi of p.eorPending) p.established!.send(endOfRib(afi));
        p.eorPending.clear();
      }
    }
    return n;
  }

  /** Sends up to `budget` of `peer`'s ADD-PATH changes (RFC 7911: several paths per prefix, per peer). */
  private flushAddPath(peer: Peer, budget: number): number {
    const s = peer.established!;
    const withdraw = new Map<Afi, { keys: PrefixKey[]; ids: number[] }>();
    const announce = new Map<AttrSet, { keys: PrefixKey[]; ids: number[] }>();
    const add = <K>(m: Map<K, { keys: PrefixKey[]; ids: number[] }>, k: K, key: PrefixKey, id: number) => {
      const e = m.get(k);
      if (e) {
        e.keys.push(key);
        e.ids.push(id);
      } else m.set(k, { keys: [key], ids: [id] });
    };
    let n = 0;
    for (const key of peer.addPathDirty) {
      if (n++ >= budget) break;
      peer.addPathDirty.delete(key);
      const want = this.addPathExports(peer, key);
      const had = peer.addPathOut.get(key) ?? new Map<number, AttrSet>();
      for (const [id, old] of had) {
        if (want.get(id) === old) continue;
        this.exportAttrs.unref(old);
        if (!want.has(id)) add(withdraw, AFI_OF(key), key, id);
      }
      for (const [id, set] of want) {
        if (had.get(id) === set) continue;
        this.exportAttrs.ref(set);
        add(announce, set, key, id);
      }
      if (want.size) peer.addPathOut.set(key, want);
      else peer.addPathOut.delete(key);
    }
    const out: Uint8Array[] = [];
    for (const [afi, { keys, ids }] of withdraw) {
      peer.updates.withdrawalsSent += keys.length;
      out.push(...packUpdates({ withdraw: prefixListFromKeys(afi, keys, ids) }, s.ctx));
    }
    const cache = peer.group!.encoded;
    for (const [set, { keys, ids }] of announce) {
      const afi = AFI_OF(keys[0]!);
      let enc = cache.get(set.id);
      if (!enc) {
        const mp = afi === Afi.ipv6 ? splitNextHop(set.nextHop) : undefined;
        enc = encodeAttributeSet(set.attrs, s.ctx, mp ? { afi: Afi.ipv6, ...mp } : undefined);
        cache.set(set.id, enc);
      }
      peer.updates.prefixesSent += keys.length;
      out.push(...packUpdates({ announce: prefixListFromKeys(afi, keys, ids), attributes: enc }, s.ctx));
    }
    if (out.length) s.sendEncoded(Buffer.concat(out), out.length);
    return n;
  }

  // ---- the work loop ------------------------------------------------------------------------

  /** Schedules a slice of RIB work for the next turn of the event loop. */
  scheduleWork(): void {
    if (this.workScheduled) return;
    this.workScheduled = true;
    setImmediate(() => {
      this.workScheduled = false;
      this.work();
    });
  }

  private *allGroups(): IterableIterator<UpdateGroup> {
    for (const list of this.groups.values()) yield* list;
  }

  private work(): void {
    if (this.deferring) return; // resumed by endDeferral()
    const groups = [...this.allGroups()];
    if (this.drops.length) this.removeDropped(this.slice);
    // Slices of the decision process for up to a few ms per turn: a backlog of dirty prefixes
    // (a full table arriving) costs memory, and sessions read for up to 10 ms per turn.
    const until = performance.now() + PROCESS_MS;
    // RFC 7911 `select: all` sends every candidate path: a change to any of them is a change for
    // those peers, even when the best path and the ECMP set stay.
    const allPaths = groups.flatMap((g) =>
      g.addPathFamilies.size ? [...g.members].filter((p) => p.config.addPath.select === 'all') : [],
    );
    const onOther = allPaths.length
      ? (c: DestChange) => {
          const afi = AFI_OF(c.key);
          for (const p of allPaths) if (p.addPathSend.has(afi)) p.addPathDirty.add(c.key);
        }
      : undefined;
    while (this.rib.pending > 0) {
      this.rib.process(this.slice, (c) => this.onDestChange(c, groups), onOther);
      if (performance.now() >= until) break;
    }
    for (const g of groups) {
      const it = g.sync;
      if (!it) continue;
      for (let i = 0; i < this.slice; i++) {
        const r = it.next();
        if (r.done) {
          g.sync = null;
          break;
        }
        this.queueExport(g, r.value);
      }
    }
    for (const g of groups) this.flushGroup(g, this.slice);
    this.mergeGroups();
    let more = this.rib.pending > 0 || this.drops.length > 0;
    for (const g of this.allGroups()) {
      if (more) break;
      const members = [...g.members];
      const blocked = members.some((p) => (p.established?.conn.pendingBytes ?? 0) > HIGH_WATER);
      const owed = members.some((p) => p.addPathDirty.size > 0 || p.eorPending.size > 0);
      if (g.sync || ((g.queue.size > 0 || owed) && !blocked)) more = true;
    }
    if (more && this.running) this.scheduleWork();
  }

  private onDestChange(c: DestChange, groups: UpdateGroup[]): void {
    this.fibEvent(c);
    for (const g of groups) this.queueExport(g, c.key);
  }

  // ---- reload --------------------------------------------------------------------------------

  /**
   * Applies a new config, changing only what differs: peers added, removed, or reset when a
   * session-level setting changed; policy changes re-evaluate stored routes without a reset.
   */
  reload(next: SpeakerConfig): ReloadResult {
    const result: ReloadResult = {
      peers_added: [],
      peers_removed: [],
      peers_reset: [],
      peers_changed: [],
      peers_unchanged: [],
      policies_changed: false,
    };
    if (next.routerId !== this.config.routerId || next.asn !== this.config.asn) {
      throw new TypeError('routerId and asn cannot change on reload: restart the speaker');
    }
    const oldPolicies = JSON.stringify([...this.config.policies]);
    result.policies_changed = oldPolicies !== JSON.stringify([...next.policies]);
    const old = this.config;
    this.config = next;
    this.rib.options = decisionOptions(next);
    this.compilePolicies();
    this.exportBySet = new Map();
    const wanted = new Map(next.peers.map((p) => [p.name, p]));
    for (const [name, peer] of this.peers) {
      if (wanted.has(name)) continue;
      peer.stop(notification(6, CeaseSubcode.PeerDeconfigured));
      this.dropPeerRoutes(peer);
      this.peers.delete(name);
      result.peers_removed.push(name);
    }
    for (const pc of next.peers) {
      const peer = this.peers.get(pc.name);
      if (!peer) {
        this.addPeer(pc).start();
        result.peers_added.push(pc.name);
        continue;
      }
      const oldPc = JSON.stringify(peer.config);
      const reset = peer.reconfigure(pc);
      this.peerViews.delete(peer);
      if (reset) {
        peer.stop(notification(6, CeaseSubcode.OtherConfigurationChange));
        this.dropPeerRoutes(peer);
        peer.start();
        result.peers_reset.push(pc.name);
      } else if (oldPc !== JSON.stringify(pc)) {
        result.peers_changed.push(pc.name);
        this.reimport(peer);
      } else {
        result.peers_unchanged.push(pc.name);
        if (result.policies_changed) this.reimport(peer);
      }
    }
    const oldLocal = new Map(old.originate.map((o) => [o.prefix, JSON.stringify(o)]));
    const newLocal = new Map(next.originate.map((o) => [o.prefix, o]));
    for (const [prefix] of oldLocal) if (!newLocal.has(prefix)) this.withdrawLocal(prefix);
    for (const [prefix, o] of newLocal) if (oldLocal.get(prefix) !== JSON.stringify(o)) this.addLocal(o);
    // Export side: when what decides or shapes routes changed (policies, decision options,
    // reflection, a peer's settings), re-evaluate every prefix for every peer. Origination and
    // peers added or removed alone need nothing more: they went through the usual paths.
    const shaping = (c: SpeakerConfig) =>
      JSON.stringify([decisionOptions(c), c.clusterId ?? '', c.ebgpRequiresPolicy, c.gracefulRestart]);
    const reshape = result.policies_changed || result.peers_changed.length > 0 || shaping(old) !== shaping(next);
    this.regroup(reshape);
    if (reshape) this.rib.markAllDirty();
    this.lastReload = Date.now();
    this.scheduleWork();
    return result;
  }

  /**
   * After a reload: members whose group key changed (export policies) move to a group of the new
   * key, with the table they hold; with `resync`, every group re-walks the Loc-RIB.
   */
  private regroup(resync: boolean): void {
    for (const g of [...this.allGroups()]) {
      const byKey = new Map<string, Peer[]>();
      for (const p of g.members) {
        const k = this.groupKey(p);
        const list = byKey.get(k);
        if (list) list.push(p);
        else byKey.set(k, [p]);
      }
      const parts = [...byKey];
      for (const [key, peers] of parts.slice(1)) this.splitGroup(g, peers, key, this.view(peers[0]!).group);
      const [first] = parts;
      if (!first) continue;
      const [key, peers] = first;
      if (g.key !== key) {
        const list = this.groups.get(g.key)!;
        list.splice(list.indexOf(g), 1);
        if (!list.length) this.groups.delete(g.key);
        g.key = key;
        const to = this.groups.get(key);
        if (to) to.push(g);
        else this.groups.set(key, [g]);
      }
      g.viewKey = this.view(peers[0]!).group;
      g.exportsNothing = this.view(peers[0]!).exportsNothing;
      if (resync || parts.length > 1) g.sync = this.rib.keys();
    }
  }

  /**
   * Drops a peer's routes. Their source is marked dead at once (no longer a candidate; a new
   * session gets a new source), and the work loop removes them a slice at a time, so a full table
   * does not hold the event loop.
   */
  private dropPeerRoutes(peer: Peer): void {
    const old = peer.source;
    peer.renewSource();
    this.clock.clearTimeout(this.staleTimers.get(peer));
    this.staleTimers.delete(peer);
    this.singleFib.delete(old); // a dead source never wins again
    if (this.rib.routeCount(old) === 0) return;
    this.drops.push(this.rib.routesOf(old));
    this.scheduleWork();
  }

  /** Removes up to `budget` routes of dropped sessions; returns how many. */
  private removeDropped(budget: number): number {
    let n = 0;
    while (this.drops.length && n < budget) {
      const it = this.drops[0]!;
      for (; n < budget; n++) {
        const r = it.next();
        if (r.done) {
          this.drops.shift();
          break;
        }
        this.rib.remove(r.value);
      }
    }
    return n;
  }

  /**
   * Soft reconfiguration inbound: re-runs import policy over the stored Adj-RIB-In. Attribute sets
   * are decoded once per pass; without per-prefix policies each set is evaluated once.
   */
  private reimport(peer: Peer): void {
    const now = this.seconds();
    const rib = this.rib;
    const { imports, importsPerPrefix, denyImports: denyAll } = this.view(peer);
    const bySet = new Map<AttrSet, AttrSet | null>();
    const evaluate = (raw: AttrSet, key: PrefixKey): AttrSet | null => {
      const received = raw.attrs;
      if (this.loopCheck(peer, received) || denyAll) return null;
      // RFC 4271 5.1.5: LOCAL_PREF from an external peer is ignored.
      const attrs = !peer.ibgp && received.localPref !== undefined ? { ...received, localPref: undefined } : received;
      if (!imports.length) return attrs === received ? raw : this.attrs.intern(attrs, raw.nextHop);
      const r = applyPolicies(
        imports,
        { key, attrs, nextHop: raw.nextHop, peerName: peer.config.name, peerAddress: peer.config.address },
        this.config.asn,
      );
      if (!r.accept) return null;
      return r.attrs === received && r.nextHop === raw.nextHop ? raw : this.attrs.intern(r.attrs, r.nextHop);
    };
    for (const r of rib.routesOf(peer.source)) {
      const raw = rib.raw(r);
      let post: AttrSet | null;
      if (importsPerPrefix) post = evaluate(raw, rib.key(r));
      else {
        const hit = bySet.get(raw);
        post = hit !== undefined ? hit : evaluate(raw, rib.key(r));
        bySet.set(raw, post);
      }
      if (post === (rib.accepted(r) ? rib.attrs(r) : null)) continue;
      rib.setImport(r, post, now);
    }
    this.scheduleWork();
  }

  /** Asks the peer to re-send its routes (ROUTE-REFRESH, RFC 2918), for each negotiated family. */
  refresh(peer: Peer): boolean {
    const s = peer.established;
    if (!s) return false;
    const caps = s.remoteOpen?.capabilities ?? [];
    if (!caps.some((c) => c.kind === 'route-refresh')) {
      this.reimport(peer);
      return false;
    }
    for (const afi of peer.families) s.send({ type: 'route-refresh', afi, safi: Safi.unicast, subtype: 'normal' });
    return true;
  }
}

function ipv4FromUint(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function splitNextHop(nh: string): { nextHop: string; linkLocalNextHop?: string } {
  const i = nh.indexOf('%');
  return i < 0 ? { nextHop: nh } : { nextHop: nh.slice(0, i), linkLocalNextHop: nh.slice(i + 1) };
}
