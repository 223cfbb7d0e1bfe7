import type { AttrTable } from './attr-table.js';
import { type DecisionOptions, selectBest } from './decision.js';
import type { AttrSet, Path, PathSource } from './path.js';
import type { PrefixKey } from './prefix-key.js';

const NONE: readonly Path[] = Object.freeze([]);

/**
 * Every path known for one prefix, and the current choice among them. Most prefixes have one
 * path: it is held directly, without an array (a full table is a million of these).
 */
export class Dest {
  /** The one path, or two or more in an array, or null when none is left. */
  private p: Path | Path[] | null;
  best: Path | null = null;
  /** The other ECMP members besides `best` (usually empty: shared constant). */
  ecmpRest: readonly Path[] = NONE;
  /** What the best-route feed last said for this prefix (owned by the speaker), if anything. */
  fib: unknown = undefined;

  constructor(
    readonly key: PrefixKey,
    first: Path,
  ) {
    this.p = first;
  }

  /** The candidate paths (a fresh one-element array for a single path: not for hot loops). */
  get paths(): readonly Path[] {
    const p = this.p;
    return p === null ? NONE : Array.isArray(p) ? p : [p];
  }

  get size(): number {
    const p = this.p;
    return p === null ? 0 : Array.isArray(p) ? p.length : 1;
  }

  /** The path from `source` with `pathId`, if any. */
  find(source: PathSource, pathId: number): Path | undefined {
    const p = this.p;
    if (p === null) return undefined;
    if (!Array.isArray(p)) return p.source === source && p.pathId === pathId ? p : undefined;
    return p.find((x) => x.source === source && x.pathId === pathId);
  }

  /** Adds `path`, or replaces the one with its source and path ID; returns the replaced path. */
  put(path: Path): Path | undefined {
    const p = this.p;
    if (p === null) {
      this.p = path;
      return undefined;
    }
    if (!Array.isArray(p)) {
      if (p.source === path.source && p.pathId === path.pathId) {
        this.p = path;
        return p;
      }
      this.p = [p, path];
      return undefined;
    }
    const i = p.findIndex((x) => x.source === path.source && x.pathId === path.pathId);
    if (i < 0) {
      this.p = [...p, path];
      return undefined;
    }
    const old = p[i]!;
    p[i] = path;
    return old;
  }

  /** Removes the path from `source` with `pathId`; returns it. */
  take(source: PathSource, pathId: number): Path | undefined {
    const p = this.p;
    if (p === null) return undefined;
    if (!Array.isArray(p)) {
      if (p.source !== source || p.pathId !== pathId) return undefined;
      this.p = null;
      return p;
    }
    const i = p.findIndex((x) => x.source === source && x.pathId === pathId);
    if (i < 0) return undefined;
    const old = p[i]!;
    const rest = p.filter((_, j) => j !== i);
    this.p = rest.length === 1 ? rest[0]! : rest;
    return old;
  }

  /** Runs the decision process over the paths. */
  select(o: DecisionOptions, usable: (p: Path) => boolean): { best: Path | null; ecmp: Path[] } {
    const p = this.p;
    if (p === null) return { best: null, ecmp: [] };
    if (!Array.isArray(p)) return usable(p) ? { best: p, ecmp: [p] } : { best: null, ecmp: [] };
    return selectBest(p, o, usable);
  }
}

/** The best path and its ECMP partners, best first. */
export function ecmpMembers(d: Dest): Path[] {
  return d.best ? [d.best, ...d.ecmpRest] : [];
}

/** What changed for a prefix after the decision process ran on it. */
export interface DestChange {
  dest: Dest;
  oldBest: Path | null;
}

/**
 * The Loc-RIB: every candidate path per prefix, best path selection and ECMP sets. Changes only
 * mark a prefix dirty; `process()` runs the decision process on dirty prefixes in bounded slices,
 * so a big feed never holds the event loop for long.
 */
export class LocRib {
  private readonly dests = new Map<PrefixKey, Dest>();
  private readonly dirty = new Set<Dest>();
  private pathCount = 0;
  /** Whether a path may be chosen (its next hop resolves); set by the speaker. */
  usable: (p: Path) => boolean = () => true;
  /** Candidates: paths of live sources whose next hop resolves. */
  private readonly candidate = (p: Path) => !p.source.dead && this.usable(p);

  constructor(
    private readonly attrs: AttrTable,
    public options: DecisionOptions,
  ) {}

  get size(): number {
    return this.dests.size;
  }

  get paths(): number {
    return this.pathCount;
  }

  get pending(): number {
    return this.dirty.size;
  }

  get(key: PrefixKey): Dest | undefined {
    return this.dests.get(key);
  }

  values(): IterableIterator<Dest> {
    return this.dests.values();
  }

  /**
   * Makes `path` a candidate for its prefix, replacing the one from the same source and path ID.
   * Takes a reference on `path.attrs`.
   */
  install(path: Path): void {
    let dest = this.dests.get(path.key);
    if (!dest) {
      dest = new Dest(path.key, path);
      this.dests.set(path.key, dest);
      this.attrs.ref(path.attrs);
      this.pathCount += 1;
      this.dirty.add(dest);
      return;
    }
    this.attrs.ref(path.attrs);
    const old = dest.put(path);
    if (old) this.attrs.unref(old.attrs);
    else this.pathCount += 1;
    this.dirty.add(dest);
  }

  /** Removes the candidate from `source` with `pathId` for `key`; false when there was none. */
  remove(key: PrefixKey, source: PathSource, pathId: number): boolean {
    const dest = this.dests.get(key);
    if (!dest) return false;
    const old = dest.take(source, pathId);
    if (!old) return false;
    this.attrs.unref(old.attrs);
    this.pathCount -= 1;
    this.dirty.add(dest);
    return true;
  }

  /** Convenience for local routes: installs (`attrs`) or removes (`null`) the source's path. */
  set(key: PrefixKey, source: PathSource, pathId: number, attrs: AttrSet | null, nowSeconds: number): void {
    if (!attrs) {
      this.remove(key, source, pathId);
      return;
    }
    this.install({ source, key, pathId, attrs, raw: attrs, accepted: true, stale: false, since: nowSeconds });
  }

  /** A path's flags changed (stale): re-run the decision for its prefix. */
  touch(key: PrefixKey): void {
    const dest = this.dests.get(key);
    if (dest) this.dirty.add(dest);
  }

  /** Re-runs the decision for every prefix (after a change of decision options or policy). */
  markAllDirty(): void {
    for (const d of this.dests.values()) this.dirty.add(d);
  }

  /**
   * Runs the decision process on at most `budget` dirty prefixes and reports each whose best path
   * or ECMP set changed. Returns how many dirty prefixes remain.
   */
  process(budget: number, onChange: (c: DestChange) => void): number {
    let n = 0;
    for (const dest of this.dirty) {
      if (n++ >= budget) break;
      this.dirty.delete(dest);
      const oldBest = dest.best;
      const oldRest = dest.ecmpRest;
      const sel = dest.select(this.options, this.candidate);
      dest.best = sel.best;
      dest.ecmpRest = sel.ecmp.length > 1 ? sel.ecmp.slice(1) : NONE;
      if (!dest.size) this.dests.delete(dest.key);
      if (oldBest !== sel.best || !same(oldRest, dest.ecmpRest)) onChange({ dest, oldBest });
    }
    return this.dirty.size;
  }
}

function same(a: readonly Path[], b: readonly Path[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
