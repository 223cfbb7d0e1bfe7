import type { AttrTable } from './attr-table.js';
import { type DecisionOptions, selectBest } from './decision.js';
import type { AttrSet, Path, PathSource } from './path.js';
import type { PrefixKey } from './prefix-key.js';

/** Every path known for one prefix, and the current choice among them. */
export interface Dest {
  readonly key: PrefixKey;
  paths: Path[];
  best: Path | null;
  /** best first, then the other ECMP members; empty when there is no best. */
  ecmp: Path[];
}

/** What changed for a prefix after the decision process ran on it. */
export interface DestChange {
  dest: Dest;
  oldBest: Path | null;
  oldEcmp: Path[];
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
   * Installs, replaces (`attrs`) or removes (`null`) the path for `key` from (`source`, `pathId`).
   * Returns false when nothing changed.
   */
  set(key: PrefixKey, source: PathSource, pathId: number, attrs: AttrSet | null, now: number): boolean {
    let dest = this.dests.get(key);
    if (!dest) {
      if (!attrs) return false;
      dest = { key, paths: [], best: null, ecmp: [] };
      this.dests.set(key, dest);
    }
    const i = dest.paths.findIndex((p) => p.source === source && p.pathId === pathId);
    const old = i >= 0 ? dest.paths[i]! : undefined;
    if (attrs) {
      if (old && old.attrs === attrs && !old.stale) return false;
      const path: Path = { source, pathId, attrs: this.attrs.ref(attrs), stale: false, since: now };
      if (old) {
        this.attrs.unref(old.attrs);
        dest.paths[i] = path;
      } else {
        dest.paths.push(path);
        this.pathCount += 1;
      }
    } else {
      if (!old) return false;
      this.attrs.unref(old.attrs);
      dest.paths.splice(i, 1);
      this.pathCount -= 1;
    }
    this.dirty.add(dest);
    return true;
  }

  /** Marks the path from (`source`, `pathId`) stale (graceful restart helper). */
  markStale(key: PrefixKey, source: PathSource, pathId: number): void {
    const dest = this.dests.get(key);
    const p = dest?.paths.find((x) => x.source === source && x.pathId === pathId);
    if (dest && p && !p.stale) {
      p.stale = true;
      this.dirty.add(dest);
    }
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
      const oldEcmp = dest.ecmp;
      const sel = selectBest(dest.paths, this.options);
      dest.best = sel.best;
      dest.ecmp = sel.ecmp;
      if (!dest.paths.length) this.dests.delete(dest.key);
      if (oldBest !== sel.best || !sameMembers(oldEcmp, sel.ecmp)) onChange({ dest, oldBest, oldEcmp });
    }
    return this.dirty.size;
  }
}

function sameMembers(a: Path[], b: Path[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
