import { type AsPathSegment, asPathLength, type PathAttributes } from '@tabby/wire';
import type { AttrSet } from './path.js';

const ORIGIN_RANK = { igp: 0, egp: 1, incomplete: 2 } as const;

/** Default LOCAL_PREF when a route has none (eBGP-learned, locally originated). */
export const DEFAULT_LOCAL_PREF = 100;

export function ipv4ToUint(a: string): number {
  const p = a.split('.');
  return ((Number(p[0]) << 24) >>> 0) + (Number(p[1]) << 16) + (Number(p[2]) << 8) + Number(p[3]);
}

function firstAs(path: readonly AsPathSegment[] | undefined): number {
  for (const s of path ?? []) {
    if (s.kind === 'sequence' && s.asns.length) return s.asns[0]!;
    if (s.kind === 'set' || s.kind === 'sequence') return 0;
  }
  return 0;
}

/**
 * A stable text key for an attribute set. Two sets with the same key are interchangeable on the
 * wire and in the decision process.
 */
export function attrKey(a: PathAttributes, nextHop: string): string {
  return `${nextHop} ${JSON.stringify(a, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))}`;
}

/**
 * Interns attribute sets: one object per distinct set, reference counted, so a million routes
 * with one attribute set hold one AttrSet.
 */
export class AttrTable {
  private readonly sets = new Map<string, AttrSet>();
  private nextId = 1;

  /**
   * The shared set for `attrs` with `nextHop`; `key` may be given when the caller already has a
   * key that identifies both (e.g. the raw attribute bytes plus next hop).
   */
  intern(attrs: PathAttributes, nextHop: string, key: string = attrKey(attrs, nextHop)): AttrSet {
    let s = this.sets.get(key);
    if (!s) {
      s = {
        id: this.nextId++,
        key,
        attrs,
        nextHop,
        localPref: attrs.localPref ?? DEFAULT_LOCAL_PREF,
        asPathLength: asPathLength(attrs.asPath ?? []),
        neighborAs: firstAs(attrs.asPath),
        originRank: ORIGIN_RANK[attrs.origin ?? 'incomplete'],
        med: attrs.med ?? 0,
        clusterListLength: attrs.clusterList?.length ?? 0,
        originatorId: attrs.originatorId ? ipv4ToUint(attrs.originatorId) : undefined,
        refs: 0,
      };
      this.sets.set(key, s);
    }
    return s;
  }

  /**
   * The table's set for `s`'s key: `s` itself, put back when it had left the table (no path used
   * it) and no equal set took its place.
   */
  adopt(s: AttrSet): AttrSet {
    const cur = this.sets.get(s.key);
    if (cur) return cur;
    this.sets.set(s.key, s);
    return s;
  }

  /** Takes a reference (a path now uses the set). */
  ref(s: AttrSet): AttrSet {
    s.refs += 1;
    return s;
  }

  /** Drops a reference; the set is forgotten when no path uses it. */
  unref(s: AttrSet): void {
    s.refs -= 1;
    if (s.refs <= 0 && this.sets.get(s.key) === s) this.sets.delete(s.key);
  }

  get size(): number {
    return this.sets.size;
  }
}
