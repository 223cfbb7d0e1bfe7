import type { Afi } from '@tabby/wire';
import type { AttrSet, PathSource } from '../rib/path.js';
import type { PrefixKey } from '../rib/prefix-key.js';

/** What a group needs of a member: the source of the paths it sent us (it is never sent them back). */
export interface GroupMember {
  readonly source: PathSource;
}

/**
 * Peers whose outbound view is identical (same export computation and session encoding) and
 * that hold the same routes: they share one Adj-RIB-Out and one stream of encoded UPDATEs, so a
 * route reflected to a thousand clients is exported, encoded and packed once.
 *
 * The table is member-independent: for each prefix, the attribute set every member holds, and the
 * source of the exported path. The member that is that source holds nothing for the prefix (a
 * route is never sent back to the peer it came from), so `held(m, k)` is the set unless the
 * prefix's source is `m`. A peer that joins a group which already advertised something starts in
 * a group of its own with the same key (an initial transfer, nothing held yet); once both groups
 * are quiet (no queue, transfer done), their tables are equal and the groups merge.
 */
export class UpdateGroup<M extends GroupMember = GroupMember> {
  private static nextId = 1;
  readonly id = UpdateGroup.nextId++;
  readonly members = new Set<M>();
  /** What the members hold, per prefix key (families sent without ADD-PATH). */
  readonly adjOut = new Map<PrefixKey, AttrSet>();
  /** The source of the path behind `adjOut`'s entry, when it is a peer: that member holds nothing. */
  readonly sources = new Map<PrefixKey, PathSource>();
  /** How many prefixes each source is excluded from (for `advertisedCount`). */
  private readonly sourceCounts = new Map<PathSource, number>();
  /** Prefixes to re-evaluate and send on the next flush. */
  readonly queue = new Set<PrefixKey>();
  /** Prefixes to announce even when unchanged (ROUTE-REFRESH). */
  readonly force = new Set<PrefixKey>();
  /** The initial (or re-)transfer in progress: the Loc-RIB still to walk. */
  sync: Iterator<PrefixKey> | null = null;
  /** A new group whose transfer has not started: when (the export stage's clock) its first member joined. */
  gatheringSince: number | null = null;
  /** RFC 8212: the members get nothing (eBGP without export policy): nothing to queue. */
  exportsNothing = false;
  /** The merge check failed once (a bug): the group stays apart. */
  unmergeable = false;

  constructor(
    /** Members share this key: export view, families, ADD-PATH and session encoding. */
    public key: string,
    /** The export view (policies, role, next hop): the memo key of the export cache. */
    public viewKey: string,
    /** Families sent from the shared table (without ADD-PATH). */
    readonly families: ReadonlySet<Afi>,
    /** Families sent with ADD-PATH, per member. */
    readonly addPathFamilies: ReadonlySet<Afi>,
  ) {}

  /** Nothing queued, no transfer running: the table is what the Loc-RIB says. */
  get quiet(): boolean {
    return this.queue.size === 0 && this.force.size === 0 && this.sync === null;
  }

  /** Records what the group now advertises for `key` (null: nothing) and the path's peer source. */
  record(key: PrefixKey, set: AttrSet | null, source: PathSource | undefined): void {
    const oldSource = this.sources.get(key);
    if (oldSource !== source) {
      if (oldSource) {
        const n = (this.sourceCounts.get(oldSource) ?? 1) - 1;
        if (n > 0) this.sourceCounts.set(oldSource, n);
        else this.sourceCounts.delete(oldSource);
      }
      if (source && set) {
        this.sources.set(key, source);
        this.sourceCounts.set(source, (this.sourceCounts.get(source) ?? 0) + 1);
      } else this.sources.delete(key);
    }
    if (set) this.adjOut.set(key, set);
    else this.adjOut.delete(key);
  }

  /** What `member` holds for `key`. */
  held(member: GroupMember, key: PrefixKey): AttrSet | undefined {
    return this.sources.get(key) === member.source ? undefined : this.adjOut.get(key);
  }

  /** The prefixes `member` holds, with their attribute sets. */
  *advertised(member: GroupMember): IterableIterator<[PrefixKey, AttrSet]> {
    for (const e of this.adjOut) if (this.sources.get(e[0]) !== member.source) yield e;
  }

  advertisedCount(member: GroupMember): number {
    return this.adjOut.size - (this.sourceCounts.get(member.source) ?? 0);
  }

  /** A group with the same key and table (and queue), without members; `ref` is called per set kept. */
  clone(ref: (s: AttrSet) => void): UpdateGroup<M> {
    const g = new UpdateGroup<M>(this.key, this.viewKey, this.families, this.addPathFamilies);
    for (const [k, set] of this.adjOut) {
      ref(set);
      g.record(k, set, this.sources.get(k));
    }
    for (const k of this.queue) g.queue.add(k);
    for (const k of this.force) g.force.add(k);
    g.exportsNothing = this.exportsNothing;
    return g;
  }

  /** True when `other` holds the same table (the merge check). */
  sameTable(other: UpdateGroup<M>): boolean {
    if (other.adjOut.size !== this.adjOut.size || other.sources.size !== this.sources.size) return false;
    for (const [k, set] of this.adjOut) {
      const o = other.adjOut.get(k);
      if ((o !== set && o?.key !== set.key) || other.sources.get(k) !== this.sources.get(k)) return false;
    }
    return true;
  }

  /** Drops the table; `unref` is called per set held. */
  clear(unref: (s: AttrSet) => void): void {
    for (const set of this.adjOut.values()) unref(set);
    this.adjOut.clear();
    this.sources.clear();
    this.sourceCounts.clear();
    this.queue.clear();
    this.force.clear();
    this.sync = null;
  }
}
