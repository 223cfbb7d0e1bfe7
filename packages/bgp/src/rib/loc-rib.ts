import type { AttrTable } from './attr-table.js';
import { type DecisionOptions, selectBest } from './decision.js';
import { column, grow, IdIndex } from './id-index.js';
import type { AttrSet, Path, PathSource } from './path.js';
import type { PrefixKey } from './prefix-key.js';

/** No route, no prefix. */
export const NONE = -1;

const ACCEPTED = 1;
const STALE = 2;
/** Replaced or removed while selected: kept, unlinked, until its prefix's next decision. */
const RETIRED = 4;

const DIRTY = 1;
/** Report the prefix to `process`'s callback even when its choice is the same route (re-evaluation). */
const CHANGED = 2;

const NO_ROUTES: readonly number[] = Object.freeze([]);

/** A route as a plain object: for listings and tests (a snapshot, not kept in sync). */
export interface RoutePath extends Path {
  /** The route's number in the table. */
  readonly route: number;
}

/** A prefix with its paths, as plain objects (see `LocRib.get`); `paths` are the Loc-RIB candidates. */
export interface DestView {
  readonly key: PrefixKey;
  readonly best: RoutePath | null;
  readonly ecmpRest: readonly RoutePath[];
  readonly paths: readonly RoutePath[];
}

/** What changed for a prefix after the decision process ran on it. */
export interface DestChange {
  dest: number;
  key: PrefixKey;
}

/** Per-source bookkeeping: the chain of its routes and their counts. */
interface SourceState {
  readonly source: PathSource;
  head: number;
  routes: number;
  accepted: number;
  /** Retired routes still pointing at this source. */
  retired: number;
}

/**
 * The Adj-RIBs-In and the Loc-RIB in one columnar table: every route received (accepted by import
 * policy or not) and every local route, grouped by prefix, with best path selection and ECMP sets.
 *
 * A full table is a million routes: they are kept in typed arrays indexed by route number (prefix,
 * source, path ID, flags, time) and prefix number (key, first route, best route), with an
 * open-addressing hash from IPv4 key to prefix number, so a route costs about 37 bytes and a prefix
 * about as much again, and neither is an object the garbage collector has to trace. Routes of one prefix form a chain; routes of one
 * source form a doubly linked chain (a dropped session's routes are found without a scan).
 *
 * Changes only mark a prefix dirty; `process()` runs the decision process on dirty prefixes in
 * bounded slices, so a big feed never holds the event loop for long.
 */
export class LocRib {
  // ---- routes ----
  private rCap = 1024;
  private rTop = 0;
  private rFree: number[] = [];
  private rDest = column(Int32Array, this.rCap);
  private rNext = column(Int32Array, this.rCap);
  private rSrc = column(Int32Array, this.rCap);
  private rSNext = column(Int32Array, this.rCap);
  private rSPrev = column(Int32Array, this.rCap);
  private rPathId = column(Uint32Array, this.rCap);
  private rSince = column(Uint32Array, this.rCap);
  private rFlags = column(Uint8Array, this.rCap);
  /** Attribute sets by slot in the table (`AttrTable.at`): after import policy, and as received. */
  private rAttrs = column(Int32Array, this.rCap);
  private rRaw = column(Int32Array, this.rCap);
  // ---- prefixes ----
  private dCap = 1024;
  private dTop = 0;
  private dFree: number[] = [];
  private dKey = column(Float64Array, this.dCap);
  private dHead = column(Int32Array, this.dCap);
  private dBest = column(Int32Array, this.dCap);
  /** Accepted routes of the prefix (Loc-RIB candidates, before next-hop and liveness checks). */
  private dAcc = column(Int32Array, this.dCap);
  /** What the best-route feed last said for the prefix (owned by the speaker), 0 for nothing. */
  private dFib = column(Int32Array, this.dCap);
  private dState = column(Uint8Array, this.dCap);
  /** Retired routes of the prefix (chained through `rNext`), freed by its next decision. */
  private dRetired = column(Int32Array, this.dCap);
  /** The other ECMP members besides the best, for the few prefixes that have any. */
  private readonly ecmp = new Map<number, number[]>();
  /** IPv6 keys by prefix number, and prefix numbers by IPv6 key. */
  private readonly v6Keys = new Map<number, string>();
  private readonly v6Index = new Map<string, number>();
  /** Prefix numbers by IPv4 key. */
  private readonly v4Index = new IdIndex((d) => LocRib.hash(this.dKey[d]!), 2048);
  // ---- sources ----
  private readonly sources = new Map<PathSource, number>();
  private readonly sourceList: (SourceState | null)[] = [];
  private readonly sourceFree: number[] = [];
  // ---- work ----
  /** Dirty prefixes, a ring (each at most once: see DIRTY). */
  private dirty = new Int32Array(1024);
  private dirtyHead = 0;
  private dirtyCount = 0;
  private prefixes = 0;
  private pathCount = 0;

  /** Whether a route may be chosen (its next hop resolves); set by the speaker. */
  usable: (route: number) => boolean = () => true;

  constructor(
    private readonly attrTable: AttrTable,
    public options: DecisionOptions,
  ) {
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

  /** Prefixes waiting for the decision process. */
  get pending(): number {
    return this.dirtyCount;
  }

  // ---- the IPv4 index ----

  private static hash(key: number): number {
    let h = Math.imul((key | 0) ^ Math.imul((key / 4294967296) | 0, 0x9e3779b9), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  private findV4(key: number): number {
    const idx = this.v4Index;
    for (let i = idx.start(LocRib.hash(key)); ; i = idx.next(i)) {
      const d = idx.at(i);
      if (d === NONE || this.dKey[d] === key) return d;
    }
  }

  // ---- prefixes ----

  /** The prefix number of `key`, or NONE. */
  dest(key: PrefixKey): number {
    if (typeof key === 'number') return this.findV4(key);
    return this.v6Index.get(key) ?? NONE;
  }

  destKey(d: number): PrefixKey {
    const k = this.dKey[d]!;
    return Number.isNaN(k) ? this.v6Keys.get(d)! : k;
  }

  private newDest(key: PrefixKey): number {
    let d = this.dFree.pop();
    if (d === undefined) {
      d = this.dTop++;
      if (d >= this.dCap) {
        const n = this.dCap * 2;
        this.dKey = grow(this.dKey, n);
        this.dHead = grow(this.dHead, n);
        this.dBest = grow(this.dBest, n, NONE);
        this.dAcc = grow(this.dAcc, n);
        this.dFib = grow(this.dFib, n);
        this.dState = grow(this.dState, n);
        this.dRetired = grow(this.dRetired, n);
        this.dCap = n;
      }
    }
    this.dHead[d] = NONE;
    this.dBest[d] = NONE;
    this.dAcc[d] = 0;
    this.dFib[d] = 0;
    this.dState[d] = 0;
    this.dRetired[d] = NONE;
    if (typeof key === 'number') {
      this.dKey[d] = key;
      this.v4Index.insert(d, LocRib.hash(key));
    } else {
      this.dKey[d] = Number.NaN;
      this.v6Keys.set(d, key);
      this.v6Index.set(key, d);
    }
    return d;
  }

  private freeDest(d: number): void {
    const k = this.dKey[d]!;
    if (Number.isNaN(k)) {
      this.v6Index.delete(this.v6Keys.get(d)!);
      this.v6Keys.delete(d);
    } else this.v4Index.delete(d, LocRib.hash(k));
    this.ecmp.delete(d);
    this.dKey[d] = Number.NaN;
    this.dHead[d] = NONE;
    this.dFree.push(d);
  }

  private isDest(d: number): boolean {
    return d < this.dTop && (this.dHead[d] !== NONE || (this.dState[d]! & DIRTY) !== 0);
  }

  best(d: number): number {
    return this.dBest[d]!;
  }

  /** The best route and its ECMP partners, best first (empty when there is no best). */
  ecmpMembers(d: number): number[] {
    const b = this.dBest[d]!;
    if (b === NONE) return [];
    const rest = this.ecmp.get(d);
    return rest ? [b, ...rest] : [b];
  }

  /** The other ECMP members besides the best. */
  ecmpRest(d: number): readonly number[] {
    return this.ecmp.get(d) ?? NO_ROUTES;
  }

  /** The prefix's Loc-RIB candidates: accepted routes of live sources. */
  candidates(d: number): number[] {
    const out: number[] = [];
    for (let r = this.dHead[d]!; r !== NONE; r = this.rNext[r]!) if (this.candidate(r)) out.push(r);
    return out;
  }

  /** The routes `s` has at prefix `d`, accepted or not (its Adj-RIB-In there; several with ADD-PATH). */
  routesFrom(d: number, s: PathSource): number[] {
    const si = this.sources.get(s);
    const out: number[] = [];
    if (si === undefined) return out;
    for (let r = this.dHead[d]!; r !== NONE; r = this.rNext[r]!) if (this.rSrc[r] === si) out.push(r);
    return out;
  }

  fib(d: number): number {
    return this.dFib[d]!;
  }

  setFib(d: number, v: number): void {
    this.dFib[d] = v;
  }

  /**
   * The keys of the Loc-RIB's prefixes: those with an accepted route, and those whose last
   * decision chose one (until the next decision says otherwise).
   */
  *keys(): IterableIterator<PrefixKey> {
    for (const d of this.dests()) yield this.destKey(d);
  }

  /**
   * Every prefix number with a route (accepted or not), by number: a walk that can pause and
   * resume while the table changes (a prefix removed and added back meanwhile may be missed or
   * seen twice; nothing else is).
   */
  *allDests(): IterableIterator<number> {
    for (let d = 0; d < this.dTop; d++) if (this.dHead[d] !== NONE) yield d;
  }

  /** The prefix numbers of the Loc-RIB's prefixes (see `keys`). */
  *dests(): IterableIterator<number> {
    for (let d = 0; d < this.dTop; d++) if (this.dAcc[d]! > 0 || this.dBest[d] !== NONE) yield d;
  }

  private mark(d: number, flags: number): void {
    const s = this.dState[d]!;
    if (!(s & DIRTY)) this.enqueue(d);
    this.dState[d] = s | DIRTY | flags;
  }

  private enqueue(d: number): void {
    let q = this.dirty;
    if (this.dirtyCount === q.length) {
      // Full: unroll the ring into one twice the size.
      const n = new Int32Array(q.length * 2);
      n.set(q.subarray(this.dirtyHead));
      n.set(q.subarray(0, this.dirtyHead), q.length - this.dirtyHead);
      this.dirty = q = n;
      this.dirtyHead = 0;
    }
    q[(this.dirtyHead + this.dirtyCount) % q.length] = d;
    this.dirtyCount += 1;
  }

  /** Re-runs the decision for every prefix (after a change of decision options or policy). */
  markAllDirty(): void {
    for (let d = 0; d < this.dTop; d++) if (this.isDest(d)) this.mark(d, CHANGED);
  }

  // ---- sources ----

  private sourceIndex(s: PathSource): number {
    let i = this.sources.get(s);
    if (i !== undefined) return i;
    i = this.sourceFree.pop() ?? this.sourceList.length;
    this.sourceList[i] = { source: s, head: NONE, routes: 0, accepted: 0, retired: 0 };
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

  /** Routes from `s` that import policy accepted. */
  acceptedCount(s: PathSource): number {
    return this.sourceState(s)?.accepted ?? 0;
  }

  /**
   * The routes from `s`. The chain is read one step ahead, so the route just returned may be
   * removed while iterating.
   */
  *routesOf(s: PathSource): IterableIterator<number> {
    const st = this.sourceState(s);
    if (!st) return;
    let r = st.head;
    while (r !== NONE) {
      const next = this.rSNext[r]!;
      yield r;
      r = next;
    }
  }

  // ---- routes ----

  source(r: number): PathSource {
    return this.sourceList[this.rSrc[r]!]!.source;
  }

  key(r: number): PrefixKey {
    return this.destKey(this.rDest[r]!);
  }

  pathId(r: number): number {
    return this.rPathId[r]!;
  }

  /** Attributes after import policy (the received ones when rejected). */
  attrs(r: number): AttrSet {
    return this.attrTable.at(this.rAttrs[r]!);
  }

  /** Attributes as received. */
  raw(r: number): AttrSet {
    return this.attrTable.at(this.rRaw[r]!);
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

  /** A Loc-RIB candidate: accepted, from a live source, next hop usable. */
  candidate(r: number): boolean {
    return (this.rFlags[r]! & ACCEPTED) !== 0 && !this.source(r).dead && this.usable(r);
  }

  /** The route from `source` with `pathId` for `key`, or NONE. */
  find(key: PrefixKey, source: PathSource, pathId: number): number {
    const d = this.dest(key);
    if (d === NONE) return NONE;
    const si = this.sources.get(source);
    if (si === undefined) return NONE;
    for (let r = this.dHead[d]!; r !== NONE; r = this.rNext[r]!) {
      if (this.rSrc[r] === si && this.rPathId[r] === pathId) return r;
    }
    return NONE;
  }

  private newRoute(): number {
    let r = this.rFree.pop();
    if (r === undefined) {
      r = this.rTop++;
      if (r >= this.rCap) {
        const n = this.rCap * 2;
        this.rDest = grow(this.rDest, n);
        this.rNext = grow(this.rNext, n);
        this.rSrc = grow(this.rSrc, n);
        this.rSNext = grow(this.rSNext, n);
        this.rSPrev = grow(this.rSPrev, n);
        this.rPathId = grow(this.rPathId, n);
        this.rSince = grow(this.rSince, n);
        this.rFlags = grow(this.rFlags, n);
        this.rAttrs = grow(this.rAttrs, n);
        this.rRaw = grow(this.rRaw, n);
        this.rCap = n;
      }
    }
    return r;
  }

  /**
   * Stores the route from `source` with `pathId` for `key`: received as `raw`, and `post` after
   * import policy (null: rejected, kept for soft reconfiguration but no candidate). Replaces the
   * route the source had there. Takes a reference on each set; returns the route's number.
   */
  put(key: PrefixKey, source: PathSource, pathId: number, raw: AttrSet, post: AttrSet | null, now: number): number {
    let d = this.dest(key);
    if (d === NONE) d = this.newDest(key);
    const si = this.sourceIndex(source);
    const st = this.sourceList[si]!;
    let r = NONE;
    for (let x = this.dHead[d]!; x !== NONE; x = this.rNext[x]!) {
      if (this.rSrc[x] === si && this.rPathId[x] === pathId) {
        r = x;
        break;
      }
    }
    this.attrTable.ref(raw);
    if (post) this.attrTable.ref(post);
    if (r !== NONE && this.selected(d, r)) {
      // Selected routes do not change under the feed and the exports: a new route replaces it.
      this.retire(r, d, st);
      r = NONE;
    }
    if (r === NONE) {
      r = this.newRoute();
      this.rDest[r] = d;
      this.rNext[r] = this.dHead[d]!;
      this.dHead[d] = r;
      this.rSrc[r] = si;
      this.rSPrev[r] = NONE;
      this.rSNext[r] = st.head;
      if (st.head !== NONE) this.rSPrev[st.head] = r;
      st.head = r;
      st.routes += 1;
      this.rPathId[r] = pathId;
      this.rFlags[r] = 0;
    } else {
      this.release(r);
    }
    this.rRaw[r] = raw.slot;
    this.rAttrs[r] = (post ?? raw).slot;
    this.rSince[r] = now;
    this.setAccepted(r, d, st, post !== null);
    this.rFlags[r] = this.rFlags[r]! & ~STALE;
    this.mark(d, 0);
    return r;
  }

  /** The route is the prefix's best or an ECMP member as of the last decision. */
  private selected(d: number, r: number): boolean {
    return this.dBest[d] === r || (this.ecmp.get(d)?.includes(r) ?? false);
  }

  private setAccepted(r: number, d: number, st: SourceState, accepted: boolean): void {
    const was = (this.rFlags[r]! & ACCEPTED) !== 0;
    if (was === accepted) return;
    const delta = accepted ? 1 : -1;
    this.rFlags[r] = accepted ? this.rFlags[r]! | ACCEPTED : this.rFlags[r]! & ~ACCEPTED;
    st.accepted += delta;
    this.pathCount += delta;
    const before = this.dAcc[d]!;
    this.dAcc[d] = before + delta;
    if (before === 0) this.prefixes += 1;
    else if (before + delta === 0) this.prefixes -= 1;
  }

  /** Drops the route's references on its sets. */
  private release(r: number): void {
    const raw = this.raw(r);
    const attrs = this.attrs(r);
    this.attrTable.unref(raw);
    if ((this.rFlags[r]! & ACCEPTED) !== 0) this.attrTable.unref(attrs);
  }

  /** Re-runs import for a stored route: `post` as for `put` (the received set stays). */
  setImport(r: number, post: AttrSet | null, now: number): number {
    const d = this.rDest[r]!;
    const st = this.sourceList[this.rSrc[r]!]!;
    if (this.selected(d, r)) {
      const stale = this.stale(r);
      const n = this.put(this.destKey(d), st.source, this.rPathId[r]!, this.raw(r), post, now);
      if (stale) this.rFlags[n] = this.rFlags[n]! | STALE;
      return n;
    }
    if (post) this.attrTable.ref(post);
    if ((this.rFlags[r]! & ACCEPTED) !== 0) this.attrTable.unref(this.attrs(r));
    this.rAttrs[r] = post ? post.slot : this.rRaw[r]!;
    this.rSince[r] = now;
    this.setAccepted(r, d, st, post !== null);
    this.mark(d, 0);
    return r;
  }

  /** Marks a route stale (graceful restart) or fresh, and re-runs the decision for its prefix. */
  setStale(r: number, stale: boolean): void {
    this.rFlags[r] = stale ? this.rFlags[r]! | STALE : this.rFlags[r]! & ~STALE;
    if ((this.rFlags[r]! & ACCEPTED) !== 0) this.mark(this.rDest[r]!, 0);
  }

  /** Removes a route; its prefix is re-decided (and forgotten once it has no route left). */
  remove(r: number): void {
    const d = this.rDest[r]!;
    const st = this.sourceList[this.rSrc[r]!]!;
    if (this.selected(d, r)) {
      this.retire(r, d, st);
      return;
    }
    this.unlink(r, d, st);
    this.free(r, st);
    this.mark(d, 0);
  }

  /**
   * Takes a selected route out of its prefix and source (it no longer counts, is found or is a
   * candidate) but keeps it, with its attribute sets, as the prefix's choice until the next
   * decision: what the FIB feed and the exports read stays as it was decided, like an immutable
   * path object.
   */
  private retire(r: number, d: number, st: SourceState): void {
    this.unlink(r, d, st);
    st.retired += 1;
    this.rFlags[r] = this.rFlags[r]! | RETIRED;
    this.rNext[r] = this.dRetired[d]!;
    this.dRetired[d] = r;
    this.mark(d, CHANGED);
  }

  /** Out of the prefix's and the source's chains, and out of the counts. */
  private unlink(r: number, d: number, st: SourceState): void {
    if ((this.rFlags[r]! & ACCEPTED) !== 0) {
      st.accepted -= 1;
      this.pathCount -= 1;
      this.dAcc[d] = this.dAcc[d]! - 1;
      if (this.dAcc[d] === 0) this.prefixes -= 1;
    }
    if (this.dHead[d] === r) this.dHead[d] = this.rNext[r]!;
    else {
      let x = this.dHead[d]!;
      while (this.rNext[x] !== r) x = this.rNext[x]!;
      this.rNext[x] = this.rNext[r]!;
    }
    const p = this.rSPrev[r]!;
    const n = this.rSNext[r]!;
    if (p === NONE) st.head = n;
    else this.rSNext[p] = n;
    if (n !== NONE) this.rSPrev[n] = p;
    st.routes -= 1;
  }

  /** Drops an unlinked route's references and its number; forgets the source when nothing is left of it. */
  private free(r: number, st: SourceState): void {
    this.release(r);
    if ((this.rFlags[r]! & RETIRED) !== 0) st.retired -= 1;
    this.rFlags[r] = 0;
    this.rFree.push(r);
    if (st.routes === 0 && st.retired === 0) {
      const si = this.sources.get(st.source)!;
      this.sources.delete(st.source);
      this.sourceList[si] = null;
      this.sourceFree.push(si);
    }
  }

  // ---- the decision process ----

  /**
   * Runs the decision process on at most `budget` dirty prefixes and reports each whose best route
   * or ECMP set changed to `onChange`, and each other one (a path that is neither best nor in the
   * ECMP set came, went or changed) to `onOther` when given. Returns how many dirty prefixes remain.
   */
  process(budget: number, onChange: (c: DestChange) => void, onOther?: (c: DestChange) => void): number {
    let n = 0;
    while (this.dirtyCount > 0 && n++ < budget) {
      const q = this.dirty; // a callback may mark prefixes and grow the ring
      const d = q[this.dirtyHead]!;
      this.dirtyHead = (this.dirtyHead + 1) % q.length;
      this.dirtyCount -= 1;
      const state = this.dState[d]!;
      this.dState[d] = 0;
      const oldBest = this.dBest[d]!;
      const oldRest = this.ecmp.get(d);
      const head = this.dHead[d]!;
      let best = NONE;
      let rest: number[] | undefined;
      if (head !== NONE && this.rNext[head] === NONE) {
        if (this.candidate(head)) best = head;
      } else if (head !== NONE) {
        const sel = selectBest(this.pathsOf(d, false), this.options);
        if (sel.best) {
          best = (sel.best as RoutePath).route;
          if (sel.ecmp.length > 1) rest = sel.ecmp.slice(1).map((p) => (p as RoutePath).route);
        }
      }
      this.dBest[d] = best;
      if (rest) this.ecmp.set(d, rest);
      else if (oldRest) this.ecmp.delete(d);
      const key = this.destKey(d);
      if (oldBest !== best || (state & CHANGED) !== 0 || !same(oldRest, rest)) onChange({ dest: d, key });
      else onOther?.({ dest: d, key });
      for (let r = this.dRetired[d]!; r !== NONE; ) {
        const next = this.rNext[r]!;
        this.free(r, this.sourceList[this.rSrc[r]!]!);
        r = next;
      }
      this.dRetired[d] = NONE;
      if (head === NONE) this.freeDest(d);
    }
    return this.pending;
  }

  // ---- snapshots: listings and tests ----

  /** The route as a plain object (a snapshot). */
  path(r: number): RoutePath {
    return {
      route: r,
      source: this.source(r),
      key: this.key(r),
      pathId: this.rPathId[r]!,
      attrs: this.attrs(r),
      raw: this.raw(r),
      accepted: this.accepted(r),
      stale: this.stale(r),
      since: this.rSince[r]!,
    };
  }

  /** Candidates (`all`: every accepted route) of a prefix as plain objects. */
  private pathsOf(d: number, all: boolean): RoutePath[] {
    const out: RoutePath[] = [];
    for (let r = this.dHead[d]!; r !== NONE; r = this.rNext[r]!) {
      if (all ? this.accepted(r) : this.candidate(r)) out.push(this.path(r));
    }
    return out;
  }

  /** A prefix of the Loc-RIB (see `keys`) with its accepted routes, or undefined. */
  get(key: PrefixKey): DestView | undefined {
    const d = this.dest(key);
    return d === NONE || (this.dAcc[d] === 0 && this.dBest[d] === NONE) ? undefined : this.view(d);
  }

  /** Every prefix of the Loc-RIB with its accepted routes. */
  *values(): IterableIterator<DestView> {
    for (const d of this.dests()) yield this.view(d);
  }

  /** Prefix `d` with its accepted routes, as plain objects. */
  view(d: number): DestView {
    const paths = this.pathsOf(d, true);
    const at = (r: number) => paths.find((p) => p.route === r) ?? this.path(r);
    const b = this.dBest[d]!;
    return {
      key: this.destKey(d),
      best: b === NONE ? null : at(b),
      ecmpRest: this.ecmpRest(d).map(at),
      paths,
    };
  }
}

function same(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
