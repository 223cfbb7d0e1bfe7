import { Afi, endOfRib, type RouteRefreshMessage } from '@tabby/wire';
import type { SpeakerConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import type { PolicySet } from '../policy/policy-set.js';
import { AttrTable } from '../rib/attr-table.js';
import { type DestChange, type LocRib, NONE } from '../rib/loc-rib.js';
import type { AttrSet, PathSource } from '../rib/path.js';
import type { PrefixKey } from '../rib/prefix-key.js';
import { type Delivery, deliver, Outbox } from './deliver.js';
import { ExportCache, type ExportSettings, type ExportView, exportPath, exportView } from './export-path.js';
import { UpdateGroups } from './groups.js';
import { afiOf, Batch, pack } from './packer.js';
import { type ExportPeer, PeerOut } from './peer-out.js';
import type { UpdateGroup } from './update-group.js';

/** Output waits while a member's send buffer holds more than this. */
export const HIGH_WATER = 1 << 20;

/** How long one turn of output runs at most (ms, checked every few prefixes and writes; see PROCESS_MS in speaker.ts). */
const WORK_MS = 5;
/** How long a new group's transfer may wait for more peers to join it (ms; see `gathers`). */
const GATHER_MS = 50;
/** A round of flushes with this many writes or more makes the next wait (see `quietMs`). */
const PACE_MIN_WRITES = 100;
/** Prefixes a flush handles between two looks at the clock. */
const CHECK_PREFIXES = 64;
/** What packing a part of a batch costs (ms) until a flush has measured it: a reflector's one-prefix parts. */
const PACK_MS_GUESS = 0.015;

/**
 * The export stage: from Loc-RIB changes to UPDATEs. Changed prefixes are queued per update group;
 * `work` walks new members' initial transfers, exports each change once per group (cached per
 * attribute set), packs and encodes it once, and writes the same bytes to every member; ADD-PATH
 * peers (RFC 7911) get their several paths per prefix on their own; End-of-RIB follows each
 * transfer. It keeps the Adj-RIBs-Out (`PeerOut`, on each peer) and its own attribute table.
 */
export class ExportStage {
  /** Attribute sets as sent, apart from the received ones (one reference per prefix held). */
  readonly attrs = new AttrTable();
  private readonly groups: UpdateGroups;
  private readonly cache: ExportCache;
  private readonly views = new Map<ExportPeer, ExportView>();
  /** The router ID each peer had when its routes were last exported (by source ID, which a peer keeps). */
  private readonly routerIds = new Map<number, number>();
  /** Turns of `work` so far: where the next one starts flushing. */
  private turns = 0;
  /** The flushes' writes, a few ms' worth per turn. */
  private readonly outbox: Outbox;
  /** No new flush of small batches before this (on `now`, ms): see `quietMs`. */
  private quietUntil = 0;
  /** A flush since the outbox was last empty left prefixes queued (its budget or the turn's time ran out). */
  private leftQueued = false;
  /** The budget `work` was last given. */
  private budget = Number.POSITIVE_INFINITY;
  /**
   * What packing a part of a batch (an attribute set's prefixes, a family's withdrawals) cost
   * (ms) in the last flush of CHECK_PREFIXES parts or more: a flush stops taking prefixes in time
   * to pack them within the turn. The clock bounded only the export of each prefix; the packing
   * after it (encoding, UPDATEs) took 8-16 ms more in one turn for a reflector's 1,000 routes (a
   * set each) to a group of peers that came up late.
   */
  private packMs = PACK_MS_GUESS;
  /** A peer joined a group since the last turn of `work`, and in how many turns in a row one had. */
  private joined = false;
  private joinStreak = 0;
  /**
   * Members that may owe their peer something of their own (ADD-PATH changes, an End-of-RIB):
   * a group with nothing queued is flushed only when one of its members is here, so a turn does
   * not walk 10,000 idle members of a reflector's group. A member leaves once it owes nothing.
   */
  private readonly owing = new Set<PeerOut>();
  private settings: ExportSettings;
  private policies: PolicySet;

  constructor(
    private readonly rib: LocRib,
    log: Logger,
    config: SpeakerConfig,
    policies: PolicySet,
    /** The clock turns and pauses are measured on (`performance.now()`; tests give their own). */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.outbox = new Outbox(now);
    this.groups = new UpdateGroups(rib, this.attrs, log);
    this.cache = new ExportCache(rib, this.attrs);
    this.settings = config;
    this.policies = policies;
  }

  /** A new config: export views and cached results are computed again. */
  reconfigure(config: SpeakerConfig, policies: PolicySet): void {
    this.settings = config;
    this.policies = policies;
    this.views.clear();
    this.cache.clear();
  }

  /** The peer's export policies and role, resolved once per session. */
  view(peer: ExportPeer): ExportView {
    let v = this.views.get(peer);
    if (!v) {
      v = exportView(peer, this.policies, this.settings);
      this.views.set(peer, v);
    }
    return v;
  }

  /** The peer's settings changed (a reload): its view is resolved again. */
  forget(peer: ExportPeer): void {
    this.views.delete(peer);
  }

  /** Routes exported through the cache without a hit (the export computed again). */
  get exportsComputed(): number {
    return this.cache.computed;
  }

  /** The peer's session is established: it starts with nothing and gets the table. */
  established(peer: ExportPeer): void {
    this.down(peer);
    // The cache holds what the peer's routes export as (ORIGINATOR_ID is its router ID): forgotten
    // when the router ID changed, not for every session (a reflector's clients coming up made
    // each late joiner's transfer export the whole table again).
    const { id, routerId } = peer.source;
    const before = this.routerIds.get(id);
    if (before !== undefined && before !== routerId) this.cache.clear();
    this.routerIds.set(id, routerId);
    const ctx = peer.established!.ctx;
    const addPathSend = new Set<Afi>();
    if (peer.config.addPath.send) {
      if (ctx.addPathSend.ipv4) addPathSend.add(Afi.ipv4);
      if (ctx.addPathSend.ipv6) addPathSend.add(Afi.ipv6);
    }
    const out = new PeerOut(peer, addPathSend);
    peer.out = out;
    this.owing.add(out); // its End-of-RIB
    this.groups.join(out, this.view(peer));
    const g = out.group!;
    if (g.sync && g.members.size === 1) g.gatheringSince = this.now();
    this.joined = true;
  }

  /**
   * Whether a new group's transfer waits for more peers. Node accepts one connection per turn of
   * the loop, so a reflector's clients connecting together come up one per turn; each came up
   * alone, joined a group of its own and had the whole table exported, packed and encoded for it
   * alone in that turn (1,000 routes: 4-5 ms on a slow machine, one accept per 5 ms, the listen
   * queue overflowing behind). While peers join in consecutive turns, a new group's walk waits,
   * up to GATHER_MS, and those that join meanwhile share it: one encoding, the bytes written to each.
   */
  private gathers(g: UpdateGroup<PeerOut>): boolean {
    if (g.gatheringSince === null) return false;
    if (this.joinStreak >= 2 && this.now() - g.gatheringSince < GATHER_MS) return true;
    g.gatheringSince = null;
    return false;
  }

  /** The peer's session ended: its Adj-RIB-Out goes. */
  down(peer: ExportPeer): void {
    this.views.delete(peer);
    const out = peer.out;
    if (!out) return;
    peer.out = null;
    this.owing.delete(out);
    this.groups.leave(out);
    out.clearAddPath((set) => this.attrs.unref(set));
  }

  /** RFC 2918 / 7313: re-send the Adj-RIB-Out of the family from a group of the peer's own (it merges back once done). */
  routeRefresh(peer: ExportPeer, m: RouteRefreshMessage): void {
    if (m.subtype !== 'normal' && m.subtype !== 0) return; // BoRR/EoRR from the peer: nothing to do here
    const afi = m.afi as Afi;
    const out = peer.out;
    if (!out || !peer.families.has(afi)) return;
    const g = out.group;
    if (g?.families.has(afi)) {
      const c = g.members.size > 1 ? this.groups.split(g, [out]) : g;
      for (const [k] of c.advertised(out)) {
        if (afiOf(k) !== afi) continue;
        c.force.add(k);
        c.queue.add(k);
      }
    }
    for (const [k, paths] of out.addPathOut) {
      if (afiOf(k) !== afi) continue;
      for (const set of paths.values()) this.attrs.unref(set);
      out.addPathOut.delete(k);
      out.addPathDirty.add(k);
    }
    out.eorPending.add(afi);
    this.owing.add(out);
  }

  /**
   * Some update group exports something: `changed` has work to do. Without it and without a FIB
   * programmer, the speaker does not report each change (a full table is a million calls).
   */
  get wantsChanges(): boolean {
    for (const g of this.groups.list) if (!g.exportsNothing) return true;
    return false;
  }

  /** The decision process changed the best path or ECMP set of `key`. */
  changed(key: PrefixKey): void {
    for (const g of this.groups.list) this.queue(g, key);
  }

  /**
   * RFC 7911 `select: all` sends every candidate path: a change to any of them is a change for
   * those peers, even when the best path and the ECMP set stay. The decision process reports such
   * changes to the listener returned here (undefined when no peer needs them).
   */
  otherChangeListener(): ((c: DestChange) => void) | undefined {
    const all: PeerOut[] = [];
    for (const g of this.groups.list) {
      if (g.addPathFamilies.size) for (const m of g.members) if (m.allPaths) all.push(m);
    }
    if (!all.length) return undefined;
    return (c) => {
      const afi = afiOf(c.key);
      for (const m of all) if (m.addPathSend.has(afi)) this.addPathChanged(m, c.key);
    };
  }

  private queue(g: UpdateGroup<PeerOut>, key: PrefixKey): void {
    if (g.exportsNothing) return;
    const afi = afiOf(key);
    if (g.families.has(afi)) g.queue.add(key);
    else if (g.addPathFamilies.has(afi)) for (const m of g.members) this.addPathChanged(m, key);
  }

  private addPathChanged(m: PeerOut, key: PrefixKey): void {
    m.addPathDirty.add(key);
    this.owing.add(m);
  }

  /** The groups with a member that may owe its peer ADD-PATH changes or an End-of-RIB. */
  private owingGroups(): Set<UpdateGroup<PeerOut>> {
    const gs = new Set<UpdateGroup<PeerOut>>();
    for (const m of this.owing) if (m.group) gs.add(m.group);
    return gs;
  }

  /** After a reload: members move to the group of their new key; `resync` re-walks the Loc-RIB for every group. */
  regroup(resync: boolean): void {
    this.groups.regroup(resync, (m) => this.view(m.peer));
  }

  /**
   * One turn of output: what earlier turns still owe written, up to `budget` prefixes of each
   * transfer walked, up to `budget` queued prefixes of each group flushed, quiet groups of one key
   * merged; flushes and writes stop after about `workMs` (the rest waits for the next turn).
   */
  work(budget: number, workMs = WORK_MS): void {
    const until = this.now() + workMs;
    this.budget = budget;
    this.joinStreak = this.joined ? this.joinStreak + 1 : 0;
    this.joined = false;
    // What earlier flushes owe goes first; nothing new until it is written (order, memory).
    if (!this.drain(until)) return;
    const groups = [...this.groups.list];
    for (const g of groups) {
      const it = g.sync;
      if (!it || this.gathers(g)) continue;
      for (let i = 0; i < budget; i++) {
        const r = it.next();
        if (r.done) {
          g.sync = null;
          break;
        }
        this.queue(g, r.value);
      }
    }
    if (this.quietMs > 0) return;
    // Once the turn's time is used up the other groups wait; each turn starts at the next group.
    const first = groups.length ? this.turns++ % groups.length : 0;
    const owing = this.owingGroups();
    for (let i = 0; i < groups.length; i++) {
      if (i > 0 && this.now() >= until) break;
      const g = groups[(first + i) % groups.length]!;
      if (!g.queue.size && !owing.has(g)) continue;
      this.flushGroup(g, budget, until);
      if (g.queue.size) this.leftQueued = true;
    }
    this.groups.merge();
    this.drain(until);
  }

  /** Writes what the outbox owes; once it is empty, the round just written sets the pause (`quietMs`). */
  private drain(until: number): boolean {
    if (!this.outbox.drain(until)) return false;
    const round = this.outbox.takeRound();
    if (round) this.quietUntil = !this.leftQueued && round.writes >= PACE_MIN_WRITES ? this.now() + round.ms : 0;
    this.leftQueued = false;
    return true;
  }

  /**
   * Prefixes waiting to be exported: queued in update groups (blocked by a full socket or not),
   * ADD-PATH changes per peer, one for a group still walking the Loc-RIB for a transfer, and one
   * while flushed UPDATEs still wait to be written.
   */
  get backlog(): number {
    let n = this.outbox.size ? 1 : 0;
    for (const g of this.groups.list) n += g.queue.size + (g.sync ? 1 : 0);
    for (const m of this.owing) n += m.addPathDirty.size;
    return n;
  }

  /**
   * How long new flushes wait (ms; 0: they may go now). Writing a flush of a few prefixes to
   * many members costs a socket write per member (10-20 µs each), whatever it carries: a
   * reflector whose 1,000 clients came up and announced a route each flushed as often as its
   * loop allowed, one write per client and flush, 110,000 writes taking 1.7 of 3 CPU s while the
   * clients' OPENs waited. After such a round (PACE_MIN_WRITES writes or more, its flushes having
   * taken everything queued), the next waits as long as the writes took: output takes at most
   * half the loop, and what changes meanwhile goes in one flush. A flush that left prefixes
   * queued (its budget or the turn's time ran out) is followed at once, and so is a group with a
   * budget's worth queued or a transfer walking (a full table, a new member's table).
   */
  get quietMs(): number {
    const wait = this.quietUntil - this.now();
    if (wait <= 0) return 0;
    for (const g of this.groups.list) if (g.sync || g.queue.size >= this.budget) return 0;
    return wait;
  }

  /** Output is left to do (a transfer, queued prefixes, ADD-PATH changes or End-of-RIB) and may go now. */
  get busy(): boolean {
    if (this.outbox.size) return true;
    if (this.quietMs > 0) return false;
    const owing = this.owingGroups();
    for (const g of this.groups.list) {
      if (g.sync) return true;
      if (!g.queue.size && !owing.has(g)) continue;
      let blocked = false;
      let owed = g.queue.size > 0;
      for (const m of g.members) {
        if ((m.peer.established?.conn.pendingBytes ?? 0) > HIGH_WATER) blocked = true;
        if (m.addPathDirty.size > 0 || m.eorPending.size > 0) owed = true;
      }
      if (owed && !blocked) return true;
    }
    return false;
  }

  /**
   * Sends up to `budget` queued prefixes of the group: each change is exported, encoded and packed
   * once, and the same bytes are written to every member that gets them. A member is left out
   * of a prefix's change when it is the source of the path (no echo) or was before (it then gets
   * the announcement on its own); returns how many prefixes it handled.
   */
  private flushGroup(g: UpdateGroup<PeerOut>, budget: number, until: number): number {
    const members = [...g.members].filter((m) => m.peer.established?.writable);
    if (!members.length) return 0;
    for (const m of members) if (m.peer.established!.conn.pendingBytes > HIGH_WATER) return 0;
    const rep = members[0]!;
    const view = this.view(rep.peer);
    const bySource = new Map<PathSource, PeerOut>();
    for (const m of members) bySource.set(m.source, m);
    // Changes by audience: one member only, or every member but the old and the new source.
    const batches = new Map<string, { only: PeerOut | undefined; except: PeerOut[]; batch: Batch }>();
    const audience = (id: string, only: PeerOut | undefined, except: PeerOut[]): Batch => {
      let b = batches.get(id);
      if (!b) {
        b = { only, except, batch: new Batch() };
        batches.set(id, b);
      }
      return b.batch;
    };
    const only = (m: PeerOut): Batch => audience(`=${m.peer.id}`, m, []);
    const allBut = (a: PeerOut | undefined, b: PeerOut | undefined): Batch => {
      if (b === a) b = undefined;
      if (!a) return b ? audience(`${b.peer.id}`, undefined, [b]) : audience('', undefined, []);
      return b ? audience(`${a.peer.id},${b.peer.id}`, undefined, [a, b]) : audience(`${a.peer.id}`, undefined, [a]);
    };
    const rib = this.rib;
    let n = 0;
    let parts = 0;
    for (const key of g.queue) {
      // A reflector's clients' routes are a batch each (own ORIGINATOR_ID): 2,000 of them took
      // 120 ms to export and pack; the clock bounds a turn (with the packing still to come), the
      // budget only caps it.
      if (n >= budget || (n > 0 && n % CHECK_PREFIXES === 0 && this.now() + parts * this.packMs >= until)) break;
      n += 1;
      g.queue.delete(key);
      const force = g.force.delete(key);
      const d = rib.dest(key);
      const best = d === NONE ? NONE : rib.best(d);
      const source = best === NONE ? undefined : rib.source(best);
      // A source being dropped: the prefix is reprocessed when its route goes.
      const set = source && !source.dead ? this.cache.get(best, rep.peer, view, this.settings) : null;
      const src = set && !source!.local ? source : undefined;
      const old = g.adjOut.get(key) ?? null;
      const oldSrc = g.sources.get(key);
      if (set === old && src === oldSrc && !force) continue;
      if (set) this.attrs.ref(set);
      if (old) this.attrs.unref(old);
      g.record(key, set, src);
      // The member that was the source held nothing; the one that is now holds nothing.
      const a = oldSrc ? bySource.get(oldSrc) : undefined;
      const b = src ? bySource.get(src) : undefined;
      if (set && (set !== old || force)) parts += +allBut(a, b).announceKey(set, key);
      else if (!set && old) parts += +allBut(a, b).withdrawKey(key);
      if (a !== b) {
        if (a && set) parts += +only(a).announceKey(set, key);
        if (b && old) parts += +only(b).withdrawKey(key);
      }
    }
    const encoded = this.groups.encoded(g.key);
    if (encoded.size > 50_000) encoded.clear(); // attribute sets that churned away
    const ctx = rep.peer.established!.ctx;
    const packed: Delivery[] = [];
    const packStart = this.now();
    for (const { only, except, batch } of batches.values())
      if (!batch.empty) packed.push({ only, except, ...pack(batch, ctx, encoded) });
    if (parts >= CHECK_PREFIXES) this.packMs = (this.now() - packStart) / parts;
    deliver(members, packed, this.outbox);
    for (const m of members) if (m.addPathDirty.size) n += this.flushAddPath(m, budget);
    for (const m of members) {
      if (m.addPathDirty.size) continue;
      if (g.quiet && m.eorPending.size) {
        for (const afi of m.eorPending) this.outbox.postMessage(m, endOfRib(afi));
        m.eorPending.clear();
      }
      if (!m.eorPending.size) this.owing.delete(m); // it owes nothing now
    }
    return n;
  }

  /** Sends up to `budget` of the member's ADD-PATH changes (RFC 7911: several paths per prefix, per peer). */
  private flushAddPath(out: PeerOut, budget: number): number {
    const s = out.peer.established!;
    const batch = new Batch(true);
    let n = 0;
    for (const key of out.addPathDirty) {
      if (n++ >= budget) break;
      out.addPathDirty.delete(key);
      const want = this.addPathExports(out, key);
      const had = out.addPathOut.get(key);
      for (const [id, old] of had ?? []) {
        if (want.get(id) === old) continue;
        this.attrs.unref(old);
        if (!want.has(id)) batch.withdrawKey(key, id);
      }
      for (const [id, set] of want) {
        if (had?.get(id) === set) continue;
        this.attrs.ref(set);
        batch.announceKey(set, key, id);
      }
      if (want.size) out.addPathOut.set(key, want);
      else out.addPathOut.delete(key);
    }
    const { messages, withdrawn, announced } = pack(batch, s.ctx, this.groups.encoded(out.group!.key));
    out.peer.updates.withdrawalsSent += withdrawn;
    out.peer.updates.prefixesSent += announced;
    if (messages.length) s.sendEncoded(Buffer.concat(messages), messages.length);
    return n;
  }

  /** RFC 7911 path identifier for a path we send: stable per (source, received path ID). */
  private sendPathId(r: number): number {
    return (this.rib.source(r).id * 256 + (this.rib.pathId(r) % 256)) >>> 0;
  }

  /** What to advertise with ADD-PATH for a prefix: path identifier -> attributes. */
  private addPathExports(out: PeerOut, key: PrefixKey): Map<number, AttrSet> {
    const paths = new Map<number, AttrSet>();
    const rib = this.rib;
    const d = rib.dest(key);
    if (d === NONE || rib.best(d) === NONE) return paths;
    const peer = out.peer;
    const view = this.view(peer);
    const candidates = peer.config.addPath.select === 'all' ? rib.candidates(d) : rib.ecmpMembers(d);
    for (const r of candidates) {
      const source = rib.source(r);
      if (source === peer.source || source.dead) continue;
      const set = exportPath(rib, r, peer, view, this.settings, this.attrs);
      if (set) paths.set(this.sendPathId(r), set);
    }
    return paths;
  }

  /** Where the path sent with ADD-PATH identifier `id` for `key` comes from (while it is a candidate). */
  addPathSource(key: PrefixKey, id: number): PathSource | undefined {
    const d = this.rib.dest(key);
    if (d === NONE) return undefined;
    for (const r of this.rib.candidates(d)) if (this.sendPathId(r) === id) return this.rib.source(r);
    return undefined;
  }
}
