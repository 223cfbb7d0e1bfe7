import type { AttributeSet } from '@tabby/wire';
import type { Logger } from '../logger.js';
import type { AttrTable } from '../rib/attr-table.js';
import type { LocRib } from '../rib/loc-rib.js';
import type { ExportView } from './export-path.js';
import type { PeerOut } from './peer-out.js';
import { UpdateGroup } from './update-group.js';

type Group = UpdateGroup<PeerOut>;

/** The update-group key of an established peer: export view, families, ADD-PATH, encoding. */
export function groupKey(out: PeerOut, view: ExportView): string {
  const ctx = out.peer.established!.ctx;
  const addPath = [...out.addPathSend].sort();
  return JSON.stringify([
    view.key,
    [...out.peer.families].filter((a) => !out.addPathSend.has(a)).sort(),
    addPath,
    ctx.fourOctetAs,
    ctx.extendedMessage,
    ctx.addPathSend.ipv4,
    ctx.addPathSend.ipv6,
    // ADD-PATH state (what was sent per path) is per peer: such a peer is a group of its own.
    addPath.length ? out.peer.config.name : '',
  ]);
}

/**
 * The update groups and who is in which. Usually one group per key; more while a peer that joined
 * late (or asked for a refresh) gets its own transfer, until the tables are equal and they merge.
 */
export class UpdateGroups {
  private readonly byKey = new Map<string, Group[]>();
  private flat: Group[] | null = null;
  /** Attribute sets encoded for each key's session encoding, by AttrSet id (see `encoded`). */
  private readonly encodings = new Map<string, Map<number, AttributeSet>>();

  constructor(
    private readonly rib: LocRib,
    /** The table of the sets the groups hold (a reference per prefix held). */
    private readonly attrs: AttrTable,
    private readonly log: Logger,
  ) {}

  /** Every group. */
  get list(): readonly Group[] {
    if (!this.flat) {
      this.flat = [];
      for (const l of this.byKey.values()) this.flat.push(...l);
    }
    return this.flat;
  }

  private add(g: Group): void {
    const list = this.byKey.get(g.key);
    if (list) list.push(g);
    else this.byKey.set(g.key, [g]);
    this.flat = null;
  }

  private remove(g: Group): void {
    const list = this.byKey.get(g.key);
    const i = list?.indexOf(g) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    if (list && !list.length) {
      this.byKey.delete(g.key);
      this.encodings.delete(g.key);
    }
    this.flat = null;
  }

  /**
   * The attribute sets encoded for the groups of `key`, by AttrSet id, kept while one of them is:
   * the key includes the session encoding, so its groups share one cache. Each group had its
   * own, and every group made for peers that came up late encoded its whole transfer again: a
   * reflector's 1,000 routes (a set each) cost 7-24 ms of one turn per new group while 10,000
   * clients came up.
   */
  encoded(key: string): Map<number, AttributeSet> {
    let m = this.encodings.get(key);
    if (!m) {
      m = new Map();
      this.encodings.set(key, m);
    }
    return m;
  }

  /**
   * Puts a newly established peer (which holds nothing from us) in a group: one that holds
   * nothing either shares its transfer at once; otherwise a new group of its own with the same
   * key transfers the table, and merges with the others when both are quiet.
   */
  join(out: PeerOut, view: ExportView): void {
    const key = groupKey(out, view);
    let g = this.byKey.get(key)?.find((x) => x.adjOut.size === 0);
    if (!g) {
      const families = out.peer.families;
      g = new UpdateGroup<PeerOut>(
        key,
        view.key,
        new Set([...families].filter((a) => !out.addPathSend.has(a))),
        new Set([...out.addPathSend].filter((a) => families.has(a))),
      );
      g.exportsNothing = view.nothing;
      if (!g.exportsNothing) g.sync = this.rib.keys();
      this.add(g);
    }
    g.members.add(out);
    out.group = g;
  }

  leave(out: PeerOut): void {
    const g = out.group;
    out.group = null;
    if (!g) return;
    g.members.delete(out);
    if (g.members.size === 0) this.drop(g);
  }

  private drop(g: Group): void {
    g.clear((set) => this.attrs.unref(set));
    this.remove(g);
  }

  /** Moves `members` of `g` to a copy of it, which re-walks the Loc-RIB; returns the copy. */
  split(g: Group, members: PeerOut[], key = g.key, view?: ExportView): Group {
    const c = g.clone((set) => this.attrs.ref(set));
    c.key = key;
    if (view) {
      c.viewKey = view.key;
      c.exportsNothing = view.nothing;
    }
    this.add(c);
    for (const m of members) {
      g.members.delete(m);
      c.members.add(m);
      m.group = c;
    }
    c.sync = this.rib.keys();
    if (g.members.size === 0) this.drop(g);
    return c;
  }

  /** Merges quiet groups of one key (their tables are then equal) into the first of them. */
  merge(): void {
    for (const list of [...this.byKey.values()]) {
      if (list.length < 2) continue;
      const quiet = list.filter((g) => g.quiet && g.members.size > 0);
      const into = quiet[0];
      for (const g of quiet.slice(1)) {
        if (g.unmergeable || !into!.sameTable(g)) {
          // Cannot happen while both follow the Loc-RIB; should it, the group just stays apart.
          if (!g.unmergeable) this.log.error({ group: g.key }, 'update groups hold different tables: not merged');
          g.unmergeable = true;
          continue;
        }
        for (const m of g.members) {
          into!.members.add(m);
          m.group = into!;
        }
        g.members.clear();
        this.drop(g);
      }
    }
  }

  /**
   * After a reload: members whose group key changed (export policies) move to a group of the new
   * key, with the table they hold; with `resync`, every group re-walks the Loc-RIB.
   */
  regroup(resync: boolean, viewOf: (out: PeerOut) => ExportView): void {
    for (const g of [...this.list]) {
      const byKey = new Map<string, PeerOut[]>();
      for (const m of g.members) {
        const k = groupKey(m, viewOf(m));
        const list = byKey.get(k);
        if (list) list.push(m);
        else byKey.set(k, [m]);
      }
      const parts = [...byKey];
      for (const [key, members] of parts.slice(1)) this.split(g, members, key, viewOf(members[0]!));
      const [first] = parts;
      if (!first) continue;
      const [key, members] = first;
      if (g.key !== key) {
        this.remove(g);
        g.key = key;
        this.add(g);
      }
      const view = viewOf(members[0]!);
      g.viewKey = view.key;
      g.exportsNothing = view.nothing;
      if (resync || parts.length > 1) g.sync = this.rib.keys();
    }
  }
}
