import {
  Afi,
  type AttributeSet,
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
import { AttrTable, ipv4ToUint } from './rib/attr-table.js';
import type { DecisionOptions } from './rib/decision.js';
import { type Dest, type DestChange, ecmpMembers, LocRib } from './rib/loc-rib.js';
import { type AttrSet, LOCAL_SOURCE_ID, type Path, type PathSource } from './rib/path.js';
import { type PrefixKey, prefixKeyAt, prefixKeyFromText, prefixKeyText } from './rib/prefix-key.js';
import { prefixListFromKeys } from './rib/prefix-list-build.js';
import type { CloseReason, Session } from './session.js';
import type { Connection, Listener, Transport } from './transport.js';

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
  /** Interned forwarding outcomes; each Dest points at its current one (`dest.fib`). */
  private readonly fibEntries = new Map<string, FibEntry>();
  /** Encoded attribute sets per update group. */
  private readonly encodedSets = new Map<string, Map<number, AttributeSet>>();
  /** Export results per update group and path (paths are immutable: a change is a new object). */
  private exportMemo = new Map<string, WeakMap<Path, AttrSet | null>>();
  private readonly initialSync = new Map<Peer, Iterator<Dest>>();
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

  constructor(config: SpeakerConfig, deps: SpeakerDeps) {
    this.config = config;
    this.transport = deps.transport;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
    this.slice = deps.sliceSize ?? DEFAULT_SLICE;
    this.rib = new LocRib(this.attrs, decisionOptions(config));
    const reachable = deps.nextHopReachable;
    if (reachable) this.rib.usable = (p) => this.nextHopUsable(p, reachable);
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

  private nextHopUsable(p: Path, reachable: (nh: string) => boolean): boolean {
    if (p.source.local) return true;
    const peer = this.peers.get(p.source.name);
    // Multihop sessions resolve through routes Tabby does not know (no IGP): trust them.
    if (peer && peer.config.multihop > 1) return true;
    const nh = p.attrs.nextHop;
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
      this.log.warn({ remote: conn.remoteAddress, port: conn.remotePort }, 'connection from unknown peer refused');
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
    const remote = s.remoteOpen?.capabilities ?? [];
    const theirs = new Set(remote.filter((c) => c.kind === 'multiprotocol').map((c) => (c as { afi: number }).afi));
    // RFC 4760 8: a peer that advertises no multiprotocol capability speaks IPv4 unicast.
    if (!remote.some((c) => c.kind === 'multiprotocol')) theirs.add(Afi.ipv4);
    peer.families = new Set(peer.config.families.map(familyAfi).filter((a) => theirs.has(a)));
    peer.eorPending = new Set(peer.families);
    this.eorReceived.set(peer, new Set());
    peer.adjOut.clear();
    peer.outQueue.clear();
    peer.addPathOut.clear();
    peer.addPathDirty.clear();
    peer.addPathSend = new Set<Afi>();
    if (peer.config.addPath.send) {
      if (s.ctx.addPathSend.ipv4) peer.addPathSend.add(Afi.ipv4);
      if (s.ctx.addPathSend.ipv6) peer.addPathSend.add(Afi.ipv6);
    }
    this.initialSync.set(peer, this.rib.values());
    this.scheduleWork();
  }

  onDown(peer: Peer, _s: Session, reason: CloseReason): void {
    this.peerViews.delete(peer);
    this.initialSync.delete(peer);
    peer.adjOut.clear();
    peer.outQueue.clear();
    peer.addPathOut.clear();
    peer.addPathDirty.clear();
    // RFC 4724: keep the routes as stale when the session just dropped; RFC 8538: also after a
    // NOTIFICATION when both sides set the N bit, unless it is a Hard Reset.
    const n = reason.notification;
    const viaNotification = reason.kind !== 'transport' && reason.kind !== 'local';
    const hardReset = n?.code === 6 && n.subcode === CeaseSubcode.HardReset;
    const keep = peer.peerRestartTime >= 0 && (!viaNotification || (peer.peerNotificationGr && !hardReset));
    if (keep) {
      for (const e of peer.adjIn.values()) {
        e.stale = true;
        if (e.accepted) this.rib.touch(e.key);
      }
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
    for (const [k, e] of peer.adjIn) {
      if (!e.stale || (afi !== undefined && AFI_OF(e.key) !== afi)) continue;
      if (e.accepted) this.rib.remove(e.key, peer.source, e.pathId);
      this.attrs.unref(e.raw);
      peer.adjIn.delete(k);
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
      const pathId = list.pathIds ? list.pathIds[i]! : 0;
      const adjKey = list.pathIds ? `${key}#${pathId}` : key;
      const e = peer.adjIn.get(adjKey);
      peer.updates.withdrawalsReceived += 1;
      if (!e) continue;
      peer.adjIn.delete(adjKey);
      if (e.accepted) this.rib.remove(key, peer.source, pathId);
      this.attrs.unref(e.raw);
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
    const rawKey = m.attrKey ? `r${nextHop}|${Buffer.from(m.attrKey.bytes).toString('latin1')}` : undefined;
    const raw = this.attrs.intern(attrs, nextHop, rawKey);
    const loop = this.loopCheck(peer, attrs);
    // RFC 4271 5.1.5: LOCAL_PREF from an external peer is ignored.
    if (!peer.ibgp && attrs.localPref !== undefined) attrs = { ...attrs, localPref: undefined };
    const { imports, importsPerPrefix: needsPerPrefix, denyImports } = this.view(peer);
    const denyAll = !loop && denyImports;
    let shared: AttrSet | null | undefined;
    for (let i = 0; i < list.count; i++) {
      const key = prefixKeyAt(list, i);
      const pathId = list.pathIds ? list.pathIds[i]! : 0;
      const adjKey = list.pathIds ? `${key}#${pathId}` : key;
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
      const prev = peer.adjIn.get(adjKey);
      const path: Path = {
        source: peer.source,
        key,
        pathId,
        attrs: post ?? raw,
        raw: this.attrs.ref(raw),
        accepted: post !== null,
        stale: false,
        since: now,
      };
      if (prev) this.attrs.unref(prev.raw);
      peer.adjIn.set(adjKey, path);
      if (post) this.rib.install(path);
      else if (prev?.accepted) this.rib.remove(key, peer.source, pathId);
    }
    if (loop) this.log.debug({ peer: peer.config.name, prefixes: list.count, reason: loop }, 'routes ignored');
  }

  private maxPrefixTimers = new Map<Peer, ReturnType<Clock['setTimeout']>>();

  private checkMaxPrefix(peer: Peer): void {
    const mp = peer.config.maxPrefix;
    // Accepted routes are a subset of the Adj-RIB-In: count them only when it is over the limit.
    if (!mp || peer.adjIn.size <= mp.limit) return;
    let accepted = 0;
    for (const e of peer.adjIn.values()) if (e.accepted) accepted += 1;
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
    // RFC 2918 / 7313: re-send the Adj-RIB-Out for the family.
    for (const [k, set] of peer.adjOut) if (AFI_OF(k) === afi) peer.outQueue.set(k, set);
    for (const k of peer.outQueue.keys()) if (AFI_OF(k) === afi) peer.adjOut.delete(k);
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
    this.rib.set(key, this.localSource, 0, this.attrs.intern(attrs, ''), this.seconds());
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
    this.rib.set(key, this.localSource, 0, null, this.seconds());
    this.scheduleWork();
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
    const { dest } = change;
    const key = dest.key;
    const prev = dest.fib as FibEntry | undefined;
    let next: FibEntry | undefined;
    if (dest.best) {
      const blackhole = dest.best.source.local && (this.local.get(key)?.blackhole ?? false);
      if (!dest.best.source.local || blackhole) {
        const members = ecmpMembers(dest);
        const nextHops = blackhole ? [] : members.map((p) => p.attrs.nextHop).filter(Boolean);
        const sources = members.map((p) => p.source.name);
        const id = `${blackhole}|${nextHops.join(',')}|${sources.join(',')}`;
        next = this.fibEntries.get(id);
        if (!next) {
          next = { nextHops, blackhole, sources };
          this.fibEntries.set(id, next);
        }
      }
    }
    if (next === prev) return;
    dest.fib = next;
    if (!this.subscribers.size) return;
    const ev = next ? fibEvent(prev ? 'change' : 'add', key, next) : fibEvent('withdraw', key, prev!);
    for (const s of this.subscribers) s(ev);
  }

  /** The best-route feed's current state: prefix key to forwarding outcome. */
  get fib(): Map<PrefixKey, FibEntry> {
    const out = new Map<PrefixKey, FibEntry>();
    for (const d of this.rib.values()) if (d.fib) out.set(d.key, d.fib as FibEntry);
    return out;
  }

  // ---- export --------------------------------------------------------------------------------

  /**
   * The attributes to send `peer` for `dest`, or null to withdraw. Peers whose outbound view is
   * identical (an update group: same session type, reflection role, next-hop mode, export
   * policies, local address and encoding) share one computation per path.
   */
  exportFor(peer: Peer, dest: Dest): AttrSet | null {
    const best: Path | null = dest.best;
    if (!best || best.source === peer.source) return null;
    const group = this.updateGroup(peer);
    let memo = this.exportMemo.get(group);
    if (!memo) {
      memo = new WeakMap();
      this.exportMemo.set(group, memo);
    }
    const hit = memo.get(best);
    if (hit !== undefined) return hit;
    const out = this.exportPath(peer, best);
    memo.set(best, out);
    return out;
  }

  /** The update-group signature of a peer (see `exportFor`). */
  updateGroup(peer: Peer): string {
    return this.view(peer).group;
  }

  /** RFC 4271 5.1 and RFC 4456 8: what one path becomes towards `peer`, or null when not sent. */
  private exportPath(peer: Peer, best: Path): AttrSet | null {
    const src = best.source;
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

  private queueExport(peer: Peer, dest: Dest): void {
    const afi = AFI_OF(dest.key);
    if (!peer.families.has(afi)) return;
    if (peer.addPathSend.has(afi)) {
      peer.addPathDirty.add(dest.key);
      return;
    }
    const set = this.exportFor(peer, dest);
    const cur = peer.outQueue.has(dest.key) ? peer.outQueue.get(dest.key) : peer.adjOut.get(dest.key);
    if ((cur ?? null) === set) return;
    if (set === null && !peer.adjOut.has(dest.key)) {
      peer.outQueue.delete(dest.key);
      return;
    }
    peer.outQueue.set(dest.key, set);
  }

  /** RFC 7911 path identifier for a path we send: stable per (source, received path ID). */
  private static sendPathId(p: Path): number {
    return (p.source.id * 256 + (p.pathId % 256)) >>> 0;
  }

  /** What to advertise with ADD-PATH for a prefix: path identifier -> attributes. */
  private addPathExports(peer: Peer, key: PrefixKey): Map<number, AttrSet> {
    const out = new Map<number, AttrSet>();
    const dest = this.rib.get(key);
    if (!dest?.best) return out;
    const candidates =
      peer.config.addPath.select === 'all' ? dest.paths.filter((p) => this.rib.usable(p)) : ecmpMembers(dest);
    const group = this.updateGroup(peer);
    let memo = this.exportMemo.get(group);
    if (!memo) {
      memo = new WeakMap();
      this.exportMemo.set(group, memo);
    }
    for (const p of candidates) {
      if (p.source === peer.source) continue;
      let set = memo.get(p);
      if (set === undefined) {
        set = this.exportPath(peer, p);
        memo.set(p, set);
      }
      if (set) out.set(Speaker.sendPathId(p), set);
    }
    return out;
  }

  /** Sends up to `budget` queued prefixes to `peer` as packed UPDATEs; returns how many it handled. */
  private flushPeer(peer: Peer, budget: number): number {
    const s = peer.established;
    if (!s?.writable || s.conn.pendingBytes > 1 << 20) return 0;
    // Per family: withdrawals and, per attribute set, announcements, as (key, path ID) pairs.
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
    for (const [key, set] of peer.outQueue) {
      if (n++ >= budget) break;
      peer.outQueue.delete(key);
      const old = peer.adjOut.get(key);
      if (old === (set ?? undefined)) continue;
      if (old) this.exportAttrs.unref(old);
      if (set === null) {
        peer.adjOut.delete(key);
        add(withdraw, AFI_OF(key), key, 1);
      } else {
        peer.adjOut.set(key, this.exportAttrs.ref(set));
        add(announce, set, key, 1);
      }
    }
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
    const ap = (afi: Afi) => (afi === Afi.ipv4 ? s.ctx.addPathSend.ipv4 : s.ctx.addPathSend.ipv6);
    for (const [afi, { keys, ids }] of withdraw) {
      peer.updates.withdrawalsSent += keys.length;
      const list = prefixListFromKeys(afi, keys, ap(afi) ? ids : undefined);
      out.push(...packUpdates({ withdraw: list }, s.ctx));
    }
    const group = this.updateGroup(peer);
    let cache = this.encodedSets.get(group);
    // Bounded: attribute sets that churned away are forgotten wholesale.
    if (!cache || cache.size > 50_000) {
      cache = new Map<number, AttributeSet>();
      this.encodedSets.set(group, cache);
    }
    for (const [set, { keys, ids }] of announce) {
      const afi = AFI_OF(keys[0]!);
      let enc = cache.get(set.id);
      if (!enc) {
        const mp = afi === Afi.ipv6 ? splitNextHop(set.nextHop) : undefined;
        enc = encodeAttributeSet(set.attrs, s.ctx, mp ? { afi: Afi.ipv6, ...mp } : undefined);
        cache.set(set.id, enc);
      }
      peer.updates.prefixesSent += keys.length;
      const list = prefixListFromKeys(afi, keys, ap(afi) ? ids : undefined);
      out.push(...packUpdates({ announce: list, attributes: enc }, s.ctx));
    }
    if (out.length) s.sendEncoded(Buffer.concat(out), out.length);
    if (!peer.outQueue.size && !peer.addPathDirty.size && !this.initialSync.has(peer) && peer.eorPending.size) {
      for (const afi of peer.eorPending) s.send(endOfRib(afi));
      peer.eorPending.clear();
    }
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

  private work(): void {
    if (this.deferring) return; // resumed by endDeferral()
    const peers = [...this.peers.values()].filter((p) => p.established);
    if (this.rib.pending > 0) this.rib.process(this.slice, (c) => this.onDestChange(c, peers));
    for (const [peer, it] of this.initialSync) {
      if (!peer.established) {
        this.initialSync.delete(peer);
        continue;
      }
      for (let i = 0; i < this.slice; i++) {
        const r = it.next();
        if (r.done) {
          this.initialSync.delete(peer);
          break;
        }
        if (r.value.best) this.queueExport(peer, r.value);
      }
    }
    for (const p of peers) this.flushPeer(p, this.slice);
    const more =
      this.rib.pending > 0 ||
      this.initialSync.size > 0 ||
      peers.some(
        (p) =>
          (p.outQueue.size > 0 || p.addPathDirty.size > 0 || p.eorPending.size > 0) &&
          (p.established?.conn.pendingBytes ?? 0) <= 1 << 20,
      );
    if (more && this.running) this.scheduleWork();
  }

  private onDestChange(c: DestChange, peers: Peer[]): void {
    this.fibEvent(c);
    for (const p of peers) this.queueExport(p, c.dest);
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
    this.exportMemo = new Map();
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
        peer.renewSource();
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
    if (result.policies_changed || result.peers_changed.length || shaping(old) !== shaping(next)) {
      for (const p of this.peers.values()) if (p.established) this.initialSync.set(p, this.rib.values());
      this.rib.markAllDirty();
    }
    this.lastReload = Date.now();
    this.scheduleWork();
    return result;
  }

  private dropPeerRoutes(peer: Peer): void {
    for (const e of peer.adjIn.values()) {
      if (e.accepted) this.rib.remove(e.key, peer.source, e.pathId);
      this.attrs.unref(e.raw);
    }
    peer.adjIn.clear();
    this.clock.clearTimeout(this.staleTimers.get(peer));
    this.staleTimers.delete(peer);
  }

  /** Soft reconfiguration inbound: re-runs import policy over the stored Adj-RIB-In. */
  private reimport(peer: Peer): void {
    const now = this.seconds();
    const { imports, denyImports: denyAll } = this.view(peer);
    for (const e of peer.adjIn.values()) {
      let attrs = e.raw.attrs;
      if (!peer.ibgp && attrs.localPref !== undefined) attrs = { ...attrs, localPref: undefined };
      let post: AttrSet | null = null;
      if (!this.loopCheck(peer, e.raw.attrs) && !denyAll) {
        if (!imports.length) post = this.attrs.intern(attrs, e.raw.nextHop);
        else {
          const r = applyPolicies(
            imports,
            { key: e.key, attrs, nextHop: e.raw.nextHop, peerName: peer.config.name, peerAddress: peer.config.address },
            this.config.asn,
          );
          post = r.accept ? this.attrs.intern(r.attrs, r.nextHop) : null;
        }
      }
      if (post === (e.accepted ? e.attrs : null)) continue;
      if (e.accepted) this.rib.remove(e.key, peer.source, e.pathId);
      e.accepted = post !== null;
      e.attrs = post ?? e.raw;
      e.since = now;
      if (post) this.rib.install(e);
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
