import { Afi, type PrefixList } from '@tabby/wire';
import type { AttrTable } from './attr-table.js';
import { column, grow, growTogether, IdIndex } from './id-index.js';
import type { AttrSet, PathSource } from './path.js';
import { type PrefixKey, v4Key } from './prefix-key.js';
import { RouteRows, type RowOwner } from './route-rows.js';
import { v4Hash } from './v4-hash.js';

/** No route, no prefix. */
export const NONE = -1;

export const ACCEPTED = 1;
export const STALE = 2;
/** Replaced or removed while selected: kept, unlinked, until its prefix's next decision. */
export const RETIRED = 4;
/**
 * Its received attribute set is not kept (import policy changed it, and the peer can send the
 * route again): the route's received set is the one after policy.
 */
export const UNKEPT = 8;
/** Its received set is the one after policy (the slot in the received column is not written). */
const SAME = 16;

/** FIB feed entries from this number up are kept in a map (the column has 16 bits). */
const FIB_BIG = 0xffff;

/** A prefix's state bits (`dState`) kept here; the rest are `LocRib`'s. */
export const STORE_BITS = 0xf0;
/** The prefix has ECMP members besides its best, in `ecmp` (most have none: the map is not asked). */
const HAS_ECMP = 0x10;
/** The prefix has an accepted route (a Loc-RIB candidate, before next-hop and liveness checks). */
const HAS_ACCEPTED = 0x20;
/** An IPv4 /32: the key column holds its address (its key is 2^32 + address). */
const KEY_V32 = 0x40;
/** No IPv4 key: an IPv6 prefix (its key is in a map) or a free row. */
const KEY_NONE = 0x80;

/** Per-source bookkeeping: its route rows and their counts. */
export interface SourceState extends RowOwner {
  readonly source: PathSource;
  routes: number;
  accepted: number;
  /** Retired routes still pointing at this source. */
  retired: number;
  /** Its routes marked stale (graceful restart): End-of-RIB scans for them only when there are any. */
  stale: number;
}

/**
 * Where the RIB's routes live (the storage under `LocRib`). A full table is a million routes: they
 * are kept in typed arrays indexed by route number (prefix, next route of the prefix, flags, time,
 * the two attribute sets) and prefix number (key, first route, best route, FIB entry, state),
 * with an open-addressing hash from IPv4 key to prefix number, so a route costs about 21 bytes (25
 * with ADD-PATH path IDs; 17 while its received set is the one after policy, as without an import
 * policy that changes it: that column's pages are then never written) and a prefix 15 and 4 to 8
 * in the index, and neither is an object the garbage collector has to trace. Whether a prefix has
 * an accepted route is a state bit, found again along its chain when one goes.
 * Routes of one prefix form a chain. A route's source is that of its row (`RouteRows`: each
 * source takes rows in blocks of its own), so a dropped session's routes are found without a scan
 * and without a source column or chain.
 */
export class RouteStore {
  // ---- routes ----
  protected rCap = 1024;
  protected rDest = column(Int32Array, this.rCap);
  protected rNext = column(Int32Array, this.rCap);
  /** RFC 7911 path IDs, a column made at the first one other than 0 (most tables have none). */
  private rPathId: Uint32Array | null = null;
  protected rSince = column(Uint32Array, this.rCap);
  protected rFlags = column(Uint8Array, this.rCap);
  /** Attribute sets by slot in the table (`AttrTable.at`): after import policy, and as received (unless SAME). */
  protected rAttrs = column(Int32Array, this.rCap);
  private rRaw = column(Int32Array, this.rCap);
  private readonly rows = new RouteRows(this.rCap, (n) => {
    [this.rDest, this.rNext, this.rSince, this.rFlags, this.rAttrs, this.rRaw] = growTogether(
      [this.rDest, this.rNext, this.rSince, this.rFlags, this.rAttrs, this.rRaw] as const,
      n,
    );
    if (this.rPathId) this.rPathId = grow(this.rPathId, n);
    this.rCap = n;
  });
  // ---- prefixes ----
  protected dCap = 1024;
  protected dTop = 0;
  protected dFree: number[] = [];
  /** IPv4 keys (int32, see `v4Key`; a /32's address without the 2^32: the KEY_ bits say which). */
  protected dKey = column(Int32Array, this.dCap);
  protected dHead = column(Int32Array, this.dCap);
  protected dBest = column(Int32Array, this.dCap);
  /**
   * What the best-route feed last said for the prefix (owned by the feed), 0 for nothing; from
   * FIB_BIG up (the feed numbers each forwarding outcome it meets), in `fibBig`.
   */
  private dFib = column(Uint16Array, this.dCap);
  private readonly fibBig = new Map<number, number>();
  /** STORE_BITS, and the decision process's bits. */
  protected dState = column(Uint8Array, this.dCap);
  /** The other ECMP members besides the best, for the few prefixes that have any (see HAS_ECMP). */
  private readonly ecmp = new Map<number, number[]>();
  /** IPv6 keys by prefix number, and prefix numbers by IPv6 key. */
  private readonly v6Keys = new Map<number, string>();
  private readonly v6Index = new Map<string, number>();
  /** Prefix numbers by IPv4 key. */
  private readonly v4Index = new IdIndex(
    (d, mode, bits) => v4Hash(this.v4Key(d), mode, bits),
    {
      modes: 2,
      count: () => this.dTop,
      each: (from, to, place, mode, bits) => {
        // Every prefix with an IPv4 key.
        const state = this.dState;
        for (let d = from; d < to; d++) {
          if ((state[d]! & KEY_NONE) === 0) place(d, v4Hash(this.v4Key(d), mode, bits));
        }
      },
    },
    2048,
  );
  // ---- sources ----
  private readonly sources = new Map<PathSource, number>();
  protected readonly sourceList: (SourceState | null)[] = [];
  private readonly sourceFree: number[] = [];
  protected prefixes = 0;
  /** The number `sourceIndex` last gave (its source is still the one there unless forgotten since). */
  private lastSourceIndex = 0;
  /** What `warm` read (kept, so the reads are not optimized away). */
  protected warmed = 0;
  protected pathCount = 0;

  constructor(protected readonly attrTable: AttrTable) {
    this.dBest.fill(NONE);
  }

  /** Prefixes with at least one accepted route (the Loc-RIB's prefixes). */
  get size(): number {
    return this.prefixes;
  }

  /** Accepted routes (the Loc-RIB's paths). */
  get paths(): number {
    return this.pathCount;
  }

  // ---- the IPv4 index ----

  /** The hash of an IPv4 key for the index's current array. */
  private keyHash(key: number): number {
    return v4Hash(key, this.v4Index.mode, this.v4Index.bits);
  }

  /** The hash function the IPv4 index uses now (0: Tabby's, 1: in BIRD's order; for tests). */
  get v4IndexMode(): number {
    return this.v4Index.mode;
  }

  /** The prefix number of IPv4 `key`, whose hash for the index is `h`, or NONE. */
  private findV4(key: number, h: number): number {
    const idx = this.v4Index;
    for (let i = idx.start(h); ; i = idx.next(i)) {
      const d = idx.at(i);
      if (d === NONE || (idx.tagged(i, h) && this.v4Key(d) === key)) return d;
    }
  }

  /** The key of prefix `d`, which has an IPv4 key. */
  private v4Key(d: number): number {
    return (this.dState[d]! & KEY_V32) !== 0 ? 4294967296 + (this.dKey[d]! >>> 0) : this.dKey[d]!;
  }

  /**
   * Reads the index slots where the IPv4 prefixes of `list` would be found, and nothing else: the
   * reads do not depend on each other, so the CPU has many cache misses outstanding at once, and
   * the lookups and inserts that follow find the slots in cache. A table arriving in no order the
   * index keeps otherwise misses the cache at each new prefix, one after the other. Not done while
   * the index is in BIRD's order (the slots come one after the other: a first read of a fresh page
   * would only add a fault before the write's), nor for a list mostly in address order: eight
   * neighbouring prefixes share a run of slots (see `v4Hash`), so its lookups miss the cache once
   * a run, and reading ahead only adds work (a full table in order: about 8% of storing it).
   */
  warm(list: PrefixList): void {
    if (list.afi !== Afi.ipv4 || this.v4Index.mode !== 0) return;
    const idx = this.v4Index;
    const { addrs, lengths } = list;
    let runs = 0;
    for (let i = 1; i < list.count; i++) {
      const len = lengths[i]!;
      if (len === lengths[i - 1] && (addrs[i]! ^ addrs[i - 1]!) >>> ((35 - len) & 31) === 0) runs += 1;
    }
    if (runs * 2 >= list.count) return;
    let x = 0;
    for (let i = 0; i < list.count; i++) x ^= idx.peek(this.keyHash(v4Key(addrs[i]!, lengths[i]!)));
    this.warmed = x;
  }

  // ---- prefixes ----

  /** The prefix number of `key`, or NONE. */
  dest(key: PrefixKey): number {
    if (typeof key === 'number') return this.findV4(key, this.keyHash(key));
    return this.v6Index.get(key) ?? NONE;
  }

  /** The prefix number of `key`, a new prefix when it has none (an IPv4 key is hashed once). */
  protected destOrNew(key: PrefixKey): number {
    if (typeof key !== 'number') return this.v6Index.get(key) ?? this.newDest(key, 0);
    const h = this.keyHash(key);
    const d = this.findV4(key, h);
    return d === NONE ? this.newDest(key, h) : d;
  }

  destKey(d: number): PrefixKey {
    return (this.dState[d]! & KEY_NONE) !== 0 ? this.v6Keys.get(d)! : this.v4Key(d);
  }

  /** A new prefix `key`; `hash`: its IPv4 key's hash for the index (unused for IPv6). */
  private newDest(key: PrefixKey, hash: number): number {
    let d = this.dFree.pop();
    if (d === undefined) {
      d = this.dTop++;
      if (d >= this.dCap) this.growDests();
    }
    this.dHead[d] = NONE;
    this.dBest[d] = NONE;
    if (typeof key === 'number') {
      const v32 = key >= 4294967296;
      this.dKey[d] = v32 ? key - 4294967296 : key;
      this.dState[d] = v32 ? KEY_V32 : 0;
      this.v4Index.insert(d, hash);
    } else {
      this.dState[d] = KEY_NONE;
      this.v6Keys.set(d, key);
      this.v6Index.set(key, d);
    }
    return d;
  }

  /**
   * Doubles the prefix columns; not in `newDest`, which V8 then found too large (the destructuring
   * is iterator-protocol bytecode) to inline into the per-prefix path, and compiled on its own too.
   */
  private growDests(): void {
    const n = this.dCap * 2;
    const cols = [this.dKey, this.dHead, this.dBest, this.dFib, this.dState] as const;
    [this.dKey, this.dHead, this.dBest, this.dFib, this.dState] = growTogether(cols, n);
    this.dBest.fill(NONE, this.dCap);
    this.dCap = n;
  }

  protected freeDest(d: number): void {
    if ((this.dState[d]! & KEY_NONE) !== 0) {
      this.v6Index.delete(this.v6Keys.get(d)!);
      this.v6Keys.delete(d);
    } else this.v4Index.delete(d, this.keyHash(this.v4Key(d)));
    this.setEcmp(d, undefined);
    this.setFib(d, 0);
    this.dState[d] = KEY_NONE;
    this.dHead[d] = NONE;
    this.dFree.push(d);
  }

  /** The other ECMP members of prefix `d` besides its best, as of its last decision; undefined when none. */
  protected ecmpOf(d: number): number[] | undefined {
    return (this.dState[d]! & HAS_ECMP) !== 0 ? this.ecmp.get(d) : undefined;
  }

  protected setEcmp(d: number, rest: number[] | undefined): void {
    if (rest) {
      this.ecmp.set(d, rest);
      this.dState[d] = this.dState[d]! | HAS_ECMP;
    } else if ((this.dState[d]! & HAS_ECMP) !== 0) {
      this.ecmp.delete(d);
      this.dState[d] = this.dState[d]! & ~HAS_ECMP;
    }
  }

  fib(d: number): number {
    const v = this.dFib[d]!;
    return v === FIB_BIG ? this.fibBig.get(d)! : v;
  }

  setFib(d: number, v: number): void {
    if (this.dFib[d] === FIB_BIG) this.fibBig.delete(d);
    if (v >= FIB_BIG) this.fibBig.set(d, v);
    this.dFib[d] = Math.min(v, FIB_BIG);
  }

  /** The routes `s` has at prefix `d`, accepted or not (its Adj-RIB-In there; several with ADD-PATH). */
  routesFrom(d: number, s: PathSource): number[] {
    const si = this.sources.get(s);
    const out: number[] = [];
    if (si === undefined) return out;
    for (let r = this.dHead[d]!; r !== NONE; r = this.rNext[r]!) if (this.src(r) === si) out.push(r);
    return out;
  }

  // ---- sources ----

  protected sourceIndex(s: PathSource): number {
    // A table comes from one source at a time: the last number given is tried first.
    if (this.sourceList[this.lastSourceIndex]?.source === s) return this.lastSourceIndex;
    const i = this.sources.get(s) ?? this.addSource(s);
    this.lastSourceIndex = i;
    return i;
  }

  private addSource(s: PathSource): number {
    const i = this.sourceFree.pop() ?? this.sourceList.length;
    this.sourceList[i] = { source: s, head: NONE, partial: [], routes: 0, accepted: 0, retired: 0, stale: 0 };
    this.sources.set(s, i);
    return i;
  }

  private sourceState(s: PathSource): SourceState | null {
    const i = this.sources.get(s);
    return i === undefined ? null : this.sourceList[i]!;
  }

  /** Routes held from `s` (accepted or not). */
  routeCount(s: PathSource): number {
    return this.sourceState(s)?.routes ?? 0;
  }

  /** Routes from `s` marked stale. */
  staleCount(s: PathSource): number {
    return this.sourceState(s)?.stale ?? 0;
  }

  /** Routes from `s` that import policy accepted. */
  acceptedCount(s: PathSource): number {
    return this.sourceState(s)?.accepted ?? 0;
  }

  /**
   * The routes from `s`; routes may be removed while iterating (a route added meanwhile may or may
   * not be seen). Once the source is forgotten the listing ends: its number and its rows may be
   * another source's by then (a dropped session's listing pauses between slices).
   */
  *routesOf(s: PathSource): IterableIterator<number> {
    const si = this.sources.get(s);
    if (si === undefined) return;
    const st = this.sourceList[si]!;
    for (const r of this.rows.rows(si, st)) {
      if (this.sourceList[si] !== st) return;
      if ((this.rFlags[r]! & RETIRED) === 0) yield r;
    }
  }

  /** The index in `sourceList` of route `r`'s source. */
  protected src(r: number): number {
    return this.rows.ownerOf(r);
  }

  // ---- routes ----

  source(r: number): PathSource {
    return this.sourceList[this.rows.ownerOf(r)]!.source;
  }

  key(r: number): PrefixKey {
    return this.destKey(this.rDest[r]!);
  }

  pathId(r: number): number {
    return this.rPathId ? this.rPathId[r]! : 0;
  }

  /** Gives a new route its path ID. */
  protected setPathId(r: number, pathId: number): void {
    if (this.rPathId) this.rPathId[r] = pathId;
    else if (pathId !== 0) {
      this.rPathId = column(Uint32Array, this.rCap);
      this.rPathId[r] = pathId;
    }
  }

  /** Attributes after import policy (the received ones when rejected). */
  attrs(r: number): AttrSet {
    return this.attrTable.at(this.rAttrs[r]!);
  }

  /** Attributes as received; where they were not kept (`receivedKept` false), the ones after policy. */
  raw(r: number): AttrSet {
    return this.attrTable.at(this.rawSlot(r));
  }

  protected rawSlot(r: number): number {
    return (this.rFlags[r]! & SAME) !== 0 ? this.rAttrs[r]! : this.rRaw[r]!;
  }

  /** Sets the route's two attribute sets by slot (the received column is written only when they differ). */
  protected setSlots(r: number, raw: number, attrs: number): void {
    this.rAttrs[r] = attrs;
    if (raw === attrs) this.rFlags[r] = this.rFlags[r]! | SAME;
    else {
      this.rRaw[r] = raw;
      this.rFlags[r] = this.rFlags[r]! & ~SAME;
    }
  }

  /** The route's attributes as received are kept (else only the set import policy made of them). */
  receivedKept(r: number): boolean {
    return (this.rFlags[r]! & UNKEPT) === 0;
  }

  accepted(r: number): boolean {
    return (this.rFlags[r]! & ACCEPTED) !== 0;
  }

  stale(r: number): boolean {
    return (this.rFlags[r]! & STALE) !== 0;
  }

  since(r: number): number {
    return this.rSince[r]!;
  }

  /** The route from `source` with `pathId` for `key`, or NONE. */
  find(key: PrefixKey, source: PathSource, pathId: number): number {
    const d = this.dest(key);
    if (d === NONE) return NONE;
    const si = this.sources.get(source);
    if (si === undefined) return NONE;
    for (let r = this.dHead[d]!; r !== NONE; r = this.rNext[r]!) {
      if (this.src(r) === si && this.pathId(r) === pathId) return r;
    }
    return NONE;
  }

  /** A free row for a new route of the source at `si` (flags 0), counted in its routes. */
  protected newRoute(si: number, st: SourceState): number {
    st.routes += 1;
    return this.rows.take(si, st);
  }

  protected setAccepted(r: number, d: number, st: SourceState, accepted: boolean): void {
    const was = (this.rFlags[r]! & ACCEPTED) !== 0;
    if (was === accepted) return;
    const delta = accepted ? 1 : -1;
    this.rFlags[r] = accepted ? this.rFlags[r]! | ACCEPTED : this.rFlags[r]! & ~ACCEPTED;
    st.accepted += delta;
    this.pathCount += delta;
    if (accepted) {
      if (!this.hasAccepted(d)) {
        this.dState[d] = this.dState[d]! | HAS_ACCEPTED;
        this.prefixes += 1;
      }
    } else this.checkAccepted(d);
  }

  /** Prefix `d` has an accepted route. */
  protected hasAccepted(d: number): boolean {
    return (this.dState[d]! & HAS_ACCEPTED) !== 0;
  }

  /** A route of prefix `d` is no longer accepted, or gone: is another one? (Its chain is short: a route per peer.) */
  private checkAccepted(d: number): void {
    for (let x = this.dHead[d]!; x !== NONE; x = this.rNext[x]!) if ((this.rFlags[x]! & ACCEPTED) !== 0) return;
    this.dState[d] = this.dState[d]! & ~HAS_ACCEPTED;
    this.prefixes -= 1;
  }

  /** Drops the route's references on its sets. */
  protected release(r: number): void {
    const raw = this.raw(r);
    const attrs = this.attrs(r);
    this.attrTable.unref(raw);
    if ((this.rFlags[r]! & ACCEPTED) !== 0) this.attrTable.unref(attrs);
  }

  /** Out of the prefix's and the source's chains, and out of the counts. */
  protected unlink(r: number, d: number, st: SourceState): void {
    if ((this.rFlags[r]! & STALE) !== 0) st.stale -= 1;
    if (this.dHead[d] === r) this.dHead[d] = this.rNext[r]!;
    else {
      let x = this.dHead[d]!;
      while (this.rNext[x] !== r) x = this.rNext[x]!;
      this.rNext[x] = this.rNext[r]!;
    }
    if ((this.rFlags[r]! & ACCEPTED) !== 0) {
      st.accepted -= 1;
      this.pathCount -= 1;
      this.checkAccepted(d);
    }
    st.routes -= 1;
  }

  /** Drops an unlinked route's references and its number; forgets the source when nothing is left of it. */
  protected free(r: number, st: SourceState): void {
    this.release(r);
    if ((this.rFlags[r]! & RETIRED) !== 0) st.retired -= 1;
    this.rFlags[r] = 0;
    this.rows.give(r, st);
    if (st.routes === 0 && st.retired === 0) {
      const si = this.sources.get(st.source)!;
      this.sources.delete(st.source);
      this.sourceList[si] = null;
      this.sourceFree.push(si);
    }
  }
}
