import type { Path } from './path.js';

export interface DecisionOptions {
  /** Compare MED between paths from different neighbouring ASes too (BIRD `med metric`, Cisco `always-compare-med`). */
  alwaysCompareMed: boolean;
  /** Form ECMP sets from paths equal through the MED step. */
  multipath: boolean;
  /** Allow ECMP across different neighbouring ASes (and AS paths of equal length). */
  multipathRelaxAs: boolean;
  maxPaths: number;
}

export const DEFAULT_DECISION: DecisionOptions = {
  alwaysCompareMed: false,
  multipath: true,
  multipathRelaxAs: false,
  maxPaths: 16,
};

/** Why the loser lost to the winner, for `show rib detail`. */
export type Reason =
  | 'stale'
  | 'not local'
  | 'lower local-pref'
  | 'longer AS path'
  | 'higher origin'
  | 'higher MED'
  | 'iBGP over eBGP'
  | 'longer cluster list'
  | 'higher router ID'
  | 'higher peer address'
  | 'higher path ID'
  | '';

/**
 * Compares two paths for one prefix by RFC 4271 9.1.2.2 with RFC 4456 9 tie-breaks. Negative when
 * `a` is better. Non-stale before stale (RFC 4724: stale paths only stand in), locally originated
 * first, then: highest LOCAL_PREF, shortest AS_PATH, lowest ORIGIN, lowest MED (same neighbouring
 * AS unless `alwaysCompareMed`), eBGP over iBGP, (IGP cost: not known to Tabby), shortest
 * CLUSTER_LIST, lowest BGP identifier (ORIGINATOR_ID when present), lowest peer address.
 */
export function comparePaths(a: Path, b: Path, o: DecisionOptions): { order: number; reason: Reason } {
  if (a.stale !== b.stale) return { order: a.stale ? 1 : -1, reason: 'stale' };
  if (a.source.local !== b.source.local) return { order: a.source.local ? -1 : 1, reason: 'not local' };
  const x = a.attrs;
  const y = b.attrs;
  if (x.localPref !== y.localPref) return { order: y.localPref - x.localPref, reason: 'lower local-pref' };
  if (x.asPathLength !== y.asPathLength) return { order: x.asPathLength - y.asPathLength, reason: 'longer AS path' };
  if (x.originRank !== y.originRank) return { order: x.originRank - y.originRank, reason: 'higher origin' };
  if ((o.alwaysCompareMed || x.neighborAs === y.neighborAs) && x.med !== y.med) {
    return { order: x.med < y.med ? -1 : 1, reason: 'higher MED' };
  }
  if (a.source.ibgp !== b.source.ibgp) return { order: a.source.ibgp ? 1 : -1, reason: 'iBGP over eBGP' };
  if (x.clusterListLength !== y.clusterListLength) {
    return { order: x.clusterListLength - y.clusterListLength, reason: 'longer cluster list' };
  }
  const ida = x.originatorId ?? a.source.routerId;
  const idb = y.originatorId ?? b.source.routerId;
  if (ida !== idb) return { order: ida < idb ? -1 : 1, reason: 'higher router ID' };
  if (a.source.addressKey !== b.source.addressKey) {
    return { order: a.source.addressKey < b.source.addressKey ? -1 : 1, reason: 'higher peer address' };
  }
  if (a.pathId !== b.pathId) return { order: a.pathId - b.pathId, reason: 'higher path ID' };
  return { order: 0, reason: '' };
}

/** True when `p` may share forwarding with `best` (equal through the MED step). */
export function ecmpEqual(best: Path, p: Path, o: DecisionOptions): boolean {
  if (p.stale !== best.stale || p.source.local || best.source.local) return false;
  const x = best.attrs;
  const y = p.attrs;
  if (x.localPref !== y.localPref || x.asPathLength !== y.asPathLength || x.originRank !== y.originRank) return false;
  if (!o.multipathRelaxAs && x.neighborAs !== y.neighborAs) return false;
  if ((o.alwaysCompareMed || x.neighborAs === y.neighborAs) && x.med !== y.med) return false;
  return p.source.ibgp === best.source.ibgp;
}

export interface Selection {
  best: Path | null;
  /** The best path first, then the other ECMP members (just `[best]` without multipath). */
  ecmp: Path[];
}

/**
 * Picks the best path and its ECMP set among the paths `usable` allows (RFC 4271 9.1.2: a route
 * whose next hop cannot be resolved is not a candidate). `paths` is left unchanged.
 */
export function selectBest(
  paths: readonly Path[],
  o: DecisionOptions,
  usable: (p: Path) => boolean = () => true,
): Selection {
  let best: Path | null = null;
  for (const p of paths) if (usable(p) && (!best || comparePaths(p, best, o).order < 0)) best = p;
  if (!best) return { best: null, ecmp: [] };
  const ecmp = [best];
  if (o.multipath) {
    // Sorted so the set does not depend on arrival order; one member per next hop, since two
    // paths through one next hop add nothing to forwarding.
    const rest = paths
      .filter((p) => p !== best && usable(p) && ecmpEqual(best, p, o))
      .sort((a, b) => comparePaths(a, b, o).order);
    const hops = new Set([best.attrs.nextHop]);
    for (const p of rest) {
      if (ecmp.length >= o.maxPaths) break;
      if (hops.has(p.attrs.nextHop)) continue;
      hops.add(p.attrs.nextHop);
      ecmp.push(p);
    }
  }
  return { best, ecmp };
}
