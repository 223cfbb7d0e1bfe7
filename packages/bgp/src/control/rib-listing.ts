import { asPathToString, communityToString, extendedCommunityToString } from '@tabby/wire';
import type { Peer } from '../peer.js';
import { comparePaths } from '../rib/decision.js';
import { type DestView, NONE } from '../rib/loc-rib.js';
import type { AttrSet, Path, PathSource } from '../rib/path.js';
import { type PrefixKey, prefixKeyFromText, prefixKeyText, v4Parts } from '../rib/prefix-key.js';
import type { Speaker } from '../speaker.js';
import type { RibRoute } from './api.js';
import { Smallest, type SortKey, STEP, STEP_EVERY, type Step } from './listing.js';

const ORIGIN = { igp: 'IGP', egp: 'EGP', incomplete: 'incomplete' } as const;

export const TABLES = ['loc', 'in', 'out'] as const;
export type Table = (typeof TABLES)[number];

/** Listing order: IPv4 before IPv6, then address, then length (as `compareKeys`), as one primitive. */
export function sortKey(k: PrefixKey): SortKey {
  if (typeof k === 'number') {
    const { addr, len } = v4Parts(k);
    return addr * 64 + len;
  }
  const i = k.indexOf('/');
  return `${k.slice(0, i)}/${k.slice(i + 1).padStart(3, '0')}`;
}

/** What `show rib` is asked for, checked. */
export interface RibQuery {
  table: Table;
  peer: Peer | null;
  limit: number;
  /** An exact prefix, or the prefixes that could contain an address, longest first. */
  keys: PrefixKey[] | null;
  /** `keys` are candidates for the longest match of an address (the first present wins). */
  longest: boolean;
}

/** The keys of every prefix that contains `address`, longest first. */
export function coveringKeys(family: 4 | 6, address: bigint): PrefixKey[] {
  const bits = family === 4 ? 32 : 128;
  const out: PrefixKey[] = [];
  for (let len = bits; len >= 0; len--) {
    const shift = BigInt(bits - len);
    out.push(prefixKeyFromText(family, (address >> shift) << shift, len));
  }
  return out;
}

/** `show rib`: the Loc-RIB, a peer's Adj-RIB-In or Adj-RIB-Out, as listing entries in order. */
export class RibListing {
  constructor(private readonly speaker: Speaker) {}

  private route(
    key: PrefixKey,
    path: { source: Path['source']; pathId: number; attrs: AttrSet; stale: boolean; since: number },
    flags: { best: boolean; ecmp: boolean; reason: string; valid?: boolean; afterImportPolicy?: boolean },
  ): RibRoute {
    const a = path.attrs.attrs;
    const src = path.source;
    const valid = flags.valid ?? true;
    const f = `${valid ? '*' : ' '}${flags.best ? '>' : flags.ecmp ? '=' : ' '}${src.ibgp ? 'I' : ' '}${path.stale ? 'S' : ' '}${src.local ? 'L' : ''}`;
    return {
      prefix: prefixKeyText(key),
      path_id: path.pathId,
      flags: f.trimEnd(),
      valid,
      best: flags.best,
      ecmp: flags.ecmp,
      ibgp: src.ibgp,
      stale: path.stale,
      local: src.local,
      from: src.name,
      from_address: src.address,
      next_hop: path.attrs.nextHop || (src.local ? 'self' : ''),
      origin: ORIGIN[a.origin ?? 'incomplete'],
      as_path: asPathToString(a.asPath ?? []),
      local_pref: path.attrs.localPref,
      med: a.med ?? null,
      communities: (a.communities ?? []).map(communityToString),
      large_communities: (a.largeCommunities ?? []).map((c) => c.join(':')),
      extended_communities: (a.extendedCommunities ?? []).map(extendedCommunityToString),
      originator_id: a.originatorId ?? null,
      cluster_list: [...(a.clusterList ?? [])],
      age: Math.max(0, Math.floor(this.speaker.clock.now() / 1000) - path.since),
      reason: flags.reason,
      after_import_policy: flags.afterImportPolicy ?? false,
    };
  }

  private destRoutes(d: DestView): RibRoute[] {
    const opts = this.speaker.rib.options;
    return d.paths
      .map((p) => ({ p, best: p === d.best, ecmp: d.ecmpRest.includes(p) }))
      .sort((x, y) => (x.best ? -1 : y.best ? 1 : comparePaths(x.p, y.p, opts).order))
      .map(({ p, best, ecmp }) => {
        const usable = this.speaker.rib.usable(p.route);
        const reason = best
          ? ''
          : !usable
            ? 'next hop unreachable'
            : d.best
              ? comparePaths(d.best, p, opts).reason
              : '';
        return this.route(d.key, p, { best, ecmp, reason, valid: usable });
      });
  }
  /** The routes of a query, in order, up to the limit (setting `truncated` when more matched). */
  *items(q: RibQuery, state: { truncated: boolean }): Generator<RibRoute | Step, void> {
    let n = 0;
    for (const r of this.ribRoutes(q, state)) {
      if (r === STEP) {
        yield r;
        continue;
      }
      if (n >= q.limit) {
        state.truncated = true;
        return;
      }
      n += 1;
      yield r;
    }
  }

  /** Candidates in listing order: found directly for a prefix or an address, else sorted in slices. */
  private *ribRoutes(q: RibQuery, state: { truncated: boolean }): Generator<RibRoute | Step, void> {
    const rib = this.speaker.rib;
    // What one listed entry (prefix, path ID) turns into, looked up again when its turn comes.
    let routesOf: (key: PrefixKey, pathId: number) => RibRoute[];
    let walk: () => Generator<[PrefixKey, number] | Step, void>;
    if (q.table === 'loc') {
      routesOf = (key) => {
        const d = rib.get(key);
        return d ? this.destRoutes(d) : [];
      };
      walk = function* () {
        let i = 0;
        for (const d of rib.dests()) {
          yield [rib.destKey(d), 0];
          if (++i % STEP_EVERY === 0) yield STEP;
        }
      };
    } else if (q.table === 'in') {
      const source = q.peer!.source;
      routesOf = (key, pathId) => {
        const r = rib.find(key, source, pathId);
        return r === NONE ? [] : [this.adjInRoute(key, r, source)];
      };
      walk = function* () {
        let i = 0;
        for (const d of rib.allDests()) {
          const key = rib.destKey(d);
          for (const r of rib.routesFrom(d, source)) yield [key, rib.pathId(r)];
          if (++i % STEP_EVERY === 0) yield STEP;
        }
      };
    } else {
      const peer = q.peer!;
      routesOf = (key, pathId) => {
        const set = this.sentAt(peer, key).get(pathId);
        return set ? [this.adjOutRoute(peer, key, pathId, set)] : [];
      };
      walk = function* () {
        let i = 0;
        for (const [key] of peer.advertised()) {
          yield [key, 0];
          if (++i % STEP_EVERY === 0) yield STEP;
        }
        for (const [key, paths] of peer.out?.addPathOut ?? []) {
          for (const id of paths.keys()) yield [key, id];
          if (++i % STEP_EVERY === 0) yield STEP;
        }
      };
    }
    if (q.keys) {
      // One prefix (or the longest one containing an address): a few lookups, no walk.
      for (const key of q.keys) {
        const ids =
          q.table === 'loc'
            ? [0]
            : q.table === 'in'
              ? this.adjInIds(q.peer!, key)
              : [...this.sentAt(q.peer!, key).keys()];
        const routes = ids.sort((a, b) => a - b).flatMap((id) => routesOf(key, id));
        if (routes.length) {
          yield* routes;
          return;
        }
        if (!q.longest) return;
      }
      return;
    }
    // Every prefix: the first `limit + 1` entries in order are kept while walking (memory bounded
    // by the limit, not the table), then listed, each looked up again as it is listed.
    const top = new Smallest<[PrefixKey, number]>(q.limit + 1);
    for (const e of walk()) {
      if (e === STEP) yield STEP;
      else top.offer(sortKey(e[0]), e[1], e);
    }
    if (top.offered > top.size) state.truncated = true;
    let last: [PrefixKey, number] | undefined;
    for (const e of top.drain()) {
      if (e === STEP) {
        yield STEP;
        continue;
      }
      if (last && last[0] === e[0] && last[1] === e[1]) continue; // re-added during the walk
      last = e;
      yield* routesOf(e[0], e[1]);
    }
  }

  /** The path IDs the peer's Adj-RIB-In holds for `key`. */
  private adjInIds(peer: Peer, key: PrefixKey): number[] {
    const rib = this.speaker.rib;
    const d = rib.dest(key);
    return d === NONE ? [] : rib.routesFrom(d, peer.source).map((r) => rib.pathId(r));
  }

  private adjInRoute(key: PrefixKey, r: number, source: PathSource): RibRoute {
    const rib = this.speaker.rib;
    const accepted = rib.accepted(r);
    const usable = rib.usable(r);
    const reason = !accepted ? 'rejected by import policy' : !usable ? 'next hop unreachable' : '';
    return this.route(
      key,
      { source, pathId: rib.pathId(r), attrs: rib.raw(r), stale: rib.stale(r), since: 0 },
      { best: false, ecmp: false, reason, valid: usable, afterImportPolicy: !rib.receivedKept(r) },
    );
  }

  /** What we sent the peer for `key`, by path ID (0 without ADD-PATH). */
  private sentAt(peer: Peer, key: PrefixKey): ReadonlyMap<number, AttrSet> {
    return peer.out?.sentAt(key) ?? new Map<number, AttrSet>();
  }

  private adjOutRoute(peer: Peer, key: PrefixKey, pathId: number, set: AttrSet): RibRoute {
    const rib = this.speaker.rib;
    const d = rib.dest(key);
    const best = d === NONE ? NONE : rib.best(d);
    const bestSource = best === NONE ? undefined : rib.source(best);
    // Without ADD-PATH the path sent is the best; with it, each identifier names its path.
    const source = pathId ? this.speaker.addPathSource(key, pathId) : bestSource;
    return this.route(
      key,
      { source: source ?? peer.source, pathId, attrs: set, stale: false, since: 0 },
      { best: source !== undefined && source === bestSource, ecmp: false, reason: '' },
    );
  }
}
