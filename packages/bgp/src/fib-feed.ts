import type { DestChange, LocRib } from './rib/loc-rib.js';
import { NONE } from './rib/loc-rib.js';
import type { PathSource } from './rib/path.js';
import { type PrefixKey, prefixKeyText } from './rib/prefix-key.js';

/** A change of the best route(s) for a prefix, as handed to the FIB programmer. */
export interface BestRouteEvent {
  type: 'add' | 'change' | 'withdraw';
  prefix: string;
  family: 4 | 6;
  /** ECMP next hops (empty for a blackhole or a withdrawal). */
  nextHops: string[];
  blackhole: boolean;
  /** Peer names the paths came from (`local` for originated routes). */
  sources: string[];
}

/** One distinct forwarding outcome, shared by every prefix that has it. */
export interface FibEntry {
  readonly nextHops: readonly string[];
  readonly blackhole: boolean;
  readonly sources: readonly string[];
}

function event(type: BestRouteEvent['type'], key: PrefixKey, e: FibEntry): BestRouteEvent {
  return {
    type,
    prefix: prefixKeyText(key),
    family: typeof key === 'number' ? 4 : 6,
    nextHops: type === 'withdraw' ? [] : [...e.nextHops],
    blackhole: type === 'withdraw' ? false : e.blackhole,
    sources: [...e.sources],
  };
}

/**
 * The FIB feed: what the decision process chose, as forwarding outcomes (ECMP next hops or a
 * blackhole) for subscribers (the FIB programmer). Outcomes are interned and numbered: each
 * prefix keeps the number of its current one in the RIB's FIB column, so a full table shares a
 * few entries, and a prefix whose outcome did not change sends nothing. The column is kept only
 * while someone subscribes (a node agent always does; a reflector or a plain bgpd, like BIRD
 * without a kernel protocol, programs nothing): without subscribers a change costs nothing, `at`
 * and `table` work the outcome out when asked, and the first subscriber fills the column.
 */
export class FibFeed {
  private readonly subscribers = new Set<(e: BestRouteEvent) => void>();
  /** Interned forwarding outcomes, numbered from 1. */
  private readonly ids = new Map<string, number>();
  private readonly entries: FibEntry[] = [{ nextHops: [], blackhole: false, sources: [] }];
  /** The entries of single-path outcomes, by source and next hop (a shortcut into `ids`). */
  private readonly single = new Map<PathSource, Map<string, number>>();
  /** The last single-path outcome found (a full table's neighbours share it): source, next hop, entry. */
  private lastSource: PathSource | null = null;
  private lastNextHop = '';
  private lastEntry = 0;

  constructor(
    private readonly rib: LocRib,
    /** Whether a local route of `key` is to be a blackhole (the node's own blocks). */
    private readonly blackhole: (key: PrefixKey) => boolean,
  ) {}

  /** Calls `cb` for every best-route change; returns an unsubscribe function. Replays the current state first. */
  subscribe(cb: (e: BestRouteEvent) => void): () => void {
    const rib = this.rib;
    if (!this.subscribers.size) for (const d of rib.dests()) rib.setFib(d, this.outcome(d));
    // From the column (filled now): `table` would work every outcome out again until `cb` is in.
    for (const d of rib.dests()) {
      const f = rib.fib(d);
      if (f) cb(event('add', rib.destKey(d), this.entries[f]!));
    }
    this.subscribers.add(cb);
    return () => this.subscribers.delete(cb);
  }

  /** Something subscribes: `changed` has work to do. */
  get listening(): boolean {
    return this.subscribers.size > 0;
  }

  /** The decision process changed the best path or ECMP set of a prefix. */
  changed(change: DestChange): void {
    if (!this.subscribers.size) return;
    const d = change.dest;
    const prev = this.rib.fib(d);
    const next = this.outcome(d, change.key);
    if (next === prev) return;
    this.rib.setFib(d, next);
    const ev = next
      ? event(prev ? 'change' : 'add', change.key, this.entries[next]!)
      : event('withdraw', change.key, this.entries[prev]!);
    for (const s of this.subscribers) s(ev);
  }

  /** The number of prefix `d`'s forwarding outcome as the RIB stands (0: nothing to install). */
  private outcome(d: number, key?: PrefixKey): number {
    const rib = this.rib;
    let next = 0;
    const best = rib.best(d);
    if (best !== NONE) {
      const source = rib.source(best);
      const blackhole = source.local && this.blackhole(key ?? rib.destKey(d));
      if (!blackhole && rib.ecmpRest(d).length === 0) {
        const nextHop = rib.attrs(best).nextHop;
        if (source === this.lastSource && nextHop === this.lastNextHop) next = this.lastEntry;
        else {
          next = this.single.get(source)?.get(nextHop) ?? 0;
          if (next) {
            this.lastSource = source;
            this.lastNextHop = nextHop;
            this.lastEntry = next;
          }
        }
      }
      if (!next && (!source.local || blackhole)) {
        const members = rib.ecmpMembers(d);
        const nextHops = blackhole ? [] : members.map((r) => rib.attrs(r).nextHop).filter(Boolean);
        const sources = members.map((r) => rib.source(r).name);
        const id = `${blackhole}|${nextHops.join(',')}|${sources.join(',')}`;
        next = this.ids.get(id) ?? 0;
        if (!next) {
          next = this.entries.push({ nextHops, blackhole, sources }) - 1;
          this.ids.set(id, next);
        }
        if (!blackhole && members.length === 1) {
          // One path, one next hop: found again without building the key (a full table hits this).
          let m = this.single.get(source);
          if (!m) {
            m = new Map();
            this.single.set(source, m);
          }
          m.set(rib.attrs(best).nextHop, next);
        }
      }
    }
    return next;
  }

  /** The source's sessions are gone: it never wins again, its shortcut goes. */
  forget(source: PathSource): void {
    this.single.delete(source);
    if (this.lastSource === source) this.lastSource = null;
  }

  /** What the feed last said for prefix number `d`, if anything. */
  at(d: number): FibEntry | undefined {
    const f = this.subscribers.size ? this.rib.fib(d) : this.outcome(d);
    return f ? this.entries[f] : undefined;
  }

  /** The feed's current state: prefix key to forwarding outcome. */
  table(): Map<PrefixKey, FibEntry> {
    const out = new Map<PrefixKey, FibEntry>();
    for (const d of this.rib.dests()) {
      const e = this.at(d);
      if (e) out.set(this.rib.destKey(d), e);
    }
    return out;
  }
}
