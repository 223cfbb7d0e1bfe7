import type { AttrTable } from './attr-table.js';
import { type DecisionOptions, selectBest } from './decision.js';
import type { AttrSet, Path, PathSource } from './path.js';
import type { PrefixKey } from './prefix-key.js';

/** Every path known for one prefix, and the current choice among them. */
export interface Dest {
  readonly key: PrefixKey;
  paths: Path[];
  best: Path | null;
  /** The other ECMP members besides `best` (usually empty: shared constant). */
  ecmpRest: readonly Path[];
  /** What the best-route feed last said for this prefix (owned by the speaker), if anything. */
  fib?: unknown;
}

const NONE: readonly Path[] = Object.freeze([]);

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
      // An array literal of one is allocated at exactly that size (push would reserve 17 slots).
      dest = { key: path.key, paths: [path], best: null, ecmpRest: NONE };
      this.dests.set(path.key, dest);
      this.attrs.ref(path.attrs);
      this.pathCount += 1;
      this.dirty.add(dest);
      return;
    }
    const i = dest.paths.findIndex((p) => p.source === path.source && p.pathId === path.pathId);
    this.attrs.ref(path.attrs);
    if (i >= 0) {
      this.attrs.unref(dest.paths[i]!.attrs);
      dest.paths[i] = path;
    } else {
      dest.paths = [...dest.paths, path];
      this.pathCount += 1;
    }
    this.dirty.add(dest);
  }

  /** Removes the candidate from `source` with `pathId` for `key`; false when there was none. */
  remove(key: PrefixKey, source: PathSource, pathId: number): boolean {
    const dest = this.dests.get(key);
    if (!dest) return false;
    const i = dest.paths.findIndex((p) => p.source === source && p.pathId === pathId);
    if (i < 0) return false;
    this.attrs.unref(dest.paths[i]!.attrs);
    dest.paths.splice(i, 1);
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
      const sel = selectBest(dest.paths, this.options, this.usable);
      dest.best = sel.best;
      dest.ecmpRest = sel.ecmp.length > 1 ? sel.ecmp.slice(1) : NONE;
      if (!dest.paths.length) this.dests.delete(dest.key);
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
