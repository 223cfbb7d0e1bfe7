import type { PrefixList } from '@tabby/wire';
import type { AttrTable } from './attr-table.js';
import { type DecisionOptions, selectBest } from './decision.js';
import { column, grow } from './id-index.js';
import type { AttrSet, Path, PathSource } from './path.js';
import { type PrefixKey, v4Key } from './prefix-key.js';
import { ACCEPTED, NONE, RETIRED, RouteStore, type SourceState, STALE, STORE_BITS, UNKEPT } from './route-store.js';

export { NONE } from './route-store.js';

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

/** What changed for a prefix after the decision process ran on it (read during the callback only). */
export interface DestChange {
  dest: number;
  key: PrefixKey;
}

/**
 * The Adj-RIBs-In and the Loc-RIB in one columnar table (`RouteStore`): every route received
 * (accepted by import policy or not) and every local route, grouped by prefix, with best path
 * selection and ECMP sets.
 *
 * Changes only mark a prefix dirty; `process()` runs the decision process on dirty prefixes in
 * bounded slices, so a big feed never holds the event loop for long.
 */
export class LocRib extends RouteStore {
  /** Dirty prefixes, a ring (each at most once: see DIRTY), grown in place (a full table's is 4 MB). */
  private dirty = column(Int32Array, 1024);
  private dirtyHead = 0;
  private dirtyCount = 0;

  /**
   * Whether a route may be chosen (its next hop resolves); set by the speaker. It must depend only
   * on the route's source and attribute set: `process` asks once for neighbours that share both.
   */
  usable: (route: number) => boolean = () => true;

  constructor(
    attrTable: AttrTable,
    public options: DecisionOptions,
  ) {
    super(attrTable);
  }

  /** Prefixes waiting for the decision process. */
  get pending(): number {
    return this.dirtyCount;
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
    const rest = this.ecmpOf(d);
    return rest ? [b, ...rest] : [b];
  }

  /** The other ECMP members besides the best. */
  ecmpRest(d: number): readonly number[] {
    return this.ecmpOf(d) ?? NO_ROUTES;
  }

  /** The prefix's Loc-RIB candidates: accepted routes of live sources. */
  candidates(d: number): number[] {
    const out: number[] = [];
    for (let r = this.dHead[d]!; r !== NONE; r = this.rNext[r]!) if (this.candidate(r)) out.push(r);
    return out;
  }

  private mark(d: number, flags: number): void {
    const s = this.dState[d]!;
    if (!(s & DIRTY)) this.enqueue(d);
    this.dState[d] = s | DIRTY | flags;
  }

  private enqueue(d: number): void {
    let q = this.dirty;
    if (this.dirtyCount === q.length) {
      // Full: twice the size, the entries before the head moved after the old end (still in order).
      const n = q.length;
      this.dirty = q = grow(q, n * 2);
      q.copyWithin(n, 0, this.dirtyHead);
    }
    q[(this.dirtyHead + this.dirtyCount) & (q.length - 1)] = d; // a power of two long
    this.dirtyCount += 1;
  }

  /** Re-runs the decision for every prefix (after a change of decision options or policy). */
  markAllDirty(): void {
    for (let d = 0; d < this.dTop; d++) if (this.isDest(d)) this.mark(d, CHANGED);
  }

  /** A Loc-RIB candidate: accepted, from a live source, next hop usable. */
  candidate(r: number): boolean {
    return (this.rFlags[r]! & ACCEPTED) !== 0 && !this.source(r).dead && this.usable(r);
  }

  /**
   * Stores the route from `source` with `pathId` for `key`: received as `raw`, and `post` after
   * import policy (null: rejected, kept for soft reconfiguration but no candidate). `raw` null:
   * the received set is not kept (the peer can send it again), only `post`, which must be given.
   * Replaces the route the source had there. Takes a reference on each set; returns the route's
   * number.
   */
  put(
    key: PrefixKey,
    source: PathSource,
    pathId: number,
    raw: AttrSet | null,
    post: AttrSet | null,
    now: number,
  ): number {
    const si = this.sourceIndex(source);
    return this.putAt(this.destOrNew(key), si, this.sourceList[si]!, pathId, raw, post, now);
  }

  /**
   * `put` for each IPv4 prefix of `list` (no path IDs) from `source` with the same `raw` and
   * `post`: a packed UPDATE's prefixes share all of it, so the source is looked up once.
   */
  putList(list: PrefixList, source: PathSource, raw: AttrSet | null, post: AttrSet | null, now: number): void {
    const si = this.sourceIndex(source);
    const st = this.sourceList[si]!;
    const { addrs, lengths } = list;
    for (let i = 0; i < list.count; i++) {
      this.putAt(this.destOrNew(v4Key(addrs[i]!, lengths[i]!)), si, st, 0, raw, post, now);
    }
  }

  /** `put` at prefix `d`, from the source at `si` (whose state is `st`). */
  private putAt(
    d: number,
    si: number,
    st: SourceState,
    pathId: number,
    raw: AttrSet | null,
    post: AttrSet | null,
    now: number,
  ): number {
    const received = raw ?? post!;
    let r = NONE;
    for (let x = this.dHead[d]!; x !== NONE; x = this.rNext[x]!) {
      if (this.src(x) === si && this.pathId(x) === pathId) {
        r = x;
        break;
      }
    }
    this.attrTable.ref(received);
    if (post) this.attrTable.ref(post);
    if (r !== NONE && this.selected(d, r)) {
      // Selected routes do not change under the feed and the exports: a new route replaces it.
      this.retire(r, d, st);
      r = NONE;
    }
    if (r === NONE) {
      r = this.newRoute(si, st);
      this.rDest[r] = d;
      this.rNext[r] = this.dHead[d]!;
      this.dHead[d] = r;
      this.setPathId(r, pathId);
    } else {
      this.release(r);
      if ((this.rFlags[r]! & STALE) !== 0) st.stale -= 1;
    }
    this.rFlags[r] = (this.rFlags[r]! & ~(STALE | UNKEPT)) | (raw ? 0 : UNKEPT);
    this.setSlots(r, received.slot, (post ?? received).slot);
    this.rSince[r] = now;
    this.setAccepted(r, d, st, post !== null);
    this.mark(d, 0);
    return r;
  }

  /** The route is the prefix's best or an ECMP member as of the last decision. */
  private selected(d: number, r: number): boolean {
    return this.dBest[d] === r || (this.ecmpOf(d)?.includes(r) ?? false);
  }

  /** Re-runs import for a stored route whose received set is kept: `post` as for `put` (the received set stays). */
  setImport(r: number, post: AttrSet | null, now: number): number {
    const d = this.rDest[r]!;
    const st = this.sourceList[this.src(r)]!;
    if (this.selected(d, r)) {
      const stale = this.stale(r);
      const n = this.put(this.destKey(d), st.source, this.pathId(r), this.raw(r), post, now);
      if (stale) this.setStale(n, true);
      return n;
    }
    if (post) this.attrTable.ref(post);
    if ((this.rFlags[r]! & ACCEPTED) !== 0) this.attrTable.unref(this.attrs(r));
    const raw = this.rawSlot(r);
    this.setSlots(r, raw, post ? post.slot : raw);
    this.rSince[r] = now;
    this.setAccepted(r, d, st, post !== null);
    this.mark(d, 0);
    return r;
  }

  /** Marks a route stale (graceful restart) or fresh, and re-runs the decision for its prefix. */
  setStale(r: number, stale: boolean): void {
    if (((this.rFlags[r]! & STALE) !== 0) === stale) return;
    this.sourceList[this.src(r)]!.stale += stale ? 1 : -1;
    this.rFlags[r] = stale ? this.rFlags[r]! | STALE : this.rFlags[r]! & ~STALE;
    if ((this.rFlags[r]! & ACCEPTED) !== 0) this.mark(this.rDest[r]!, 0);
  }

  /** Removes a route; its prefix is re-decided (and forgotten once it has no route left). */
  remove(r: number): void {
    const d = this.rDest[r]!;
    const st = this.sourceList[this.src(r)]!;
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
    this.mark(d, CHANGED);
  }

  // ---- the decision process ----

  /**
   * Runs the decision process on at most `budget` dirty prefixes and reports each whose best route
   * or ECMP set changed to `onChange`, and each other one (a path that is neither best nor in the
   * ECMP set came, went or changed) to `onOther`, each when given. Returns how many dirty prefixes
   * remain.
   */
  process(budget: number, onChange?: (c: DestChange) => void, onOther?: (c: DestChange) => void): number {
    let n = 0;
    // One change object for the whole call: callbacks read it, they do not keep it.
    const change: DestChange = { dest: NONE, key: 0 };
    // A prefix with one route (most of a full table) asks whether its source is live and its next
    // hop usable: both depend only on the source and the attribute set, and cannot change during
    // this call, so neighbours that share them (a packed UPDATE's prefixes) ask once.
    let lastSrc = NONE;
    let lastAttrs = NONE;
    let lastLive = false;
    while (this.dirtyCount > 0 && n++ < budget) {
      const q = this.dirty; // a callback may mark prefixes and grow the ring
      const d = q[this.dirtyHead]!;
      this.dirtyHead = (this.dirtyHead + 1) & (q.length - 1);
      this.dirtyCount -= 1;
      const state = this.dState[d]!;
      this.dState[d] = state & STORE_BITS;
      const oldBest = this.dBest[d]!;
      const oldRest = this.ecmpOf(d);
      const head = this.dHead[d]!;
      let best = NONE;
      let rest: number[] | undefined;
      if (head !== NONE && this.rNext[head] === NONE) {
        if ((this.rFlags[head]! & ACCEPTED) !== 0) {
          if (this.src(head) !== lastSrc || this.rAttrs[head] !== lastAttrs) {
            lastSrc = this.src(head);
            lastAttrs = this.rAttrs[head]!;
            lastLive = !this.source(head).dead && this.usable(head);
          }
          if (lastLive) best = head;
        }
      } else if (head !== NONE) {
        const sel = selectBest(this.pathsOf(d, false), this.options);
        if (sel.best) {
          best = (sel.best as RoutePath).route;
          if (sel.ecmp.length > 1) rest = sel.ecmp.slice(1).map((p) => (p as RoutePath).route);
        }
      }
      this.dBest[d] = best;
      if (rest || oldRest) this.setEcmp(d, rest);
      if (onChange || onOther) {
        change.dest = d;
        change.key = this.destKey(d);
        if (oldBest !== best || (state & CHANGED) !== 0 || !same(oldRest, rest)) onChange?.(change);
        else onOther?.(change);
      }
      // Only a selected route is retired, and only a decision changes what is selected: the
      // prefix's retired routes are among the ones selected before this decision.
      if (oldBest !== NONE) this.freeRetired(oldBest);
      if (oldRest) for (const r of oldRest) this.freeRetired(r);
      if (head === NONE) this.freeDest(d);
    }
    return this.pending;
  }

  private freeRetired(r: number): void {
    if ((this.rFlags[r]! & RETIRED) !== 0) this.free(r, this.sourceList[this.src(r)]!);
  }

  // ---- snapshots: listings and tests ----

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
    for (let d = 0; d < this.dTop; d++) if (this.hasAccepted(d) || this.dBest[d] !== NONE) yield d;
  }

  /** The route as a plain object (a snapshot). */
  path(r: number): RoutePath {
    return {
      route: r,
      source: this.source(r),
      key: this.key(r),
      pathId: this.pathId(r),
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
    return d === NONE || (!this.hasAccepted(d) && this.dBest[d] === NONE) ? undefined : this.view(d);
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
