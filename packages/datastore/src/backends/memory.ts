import type {
  Datastore,
  DatastoreHealth,
  DatastoreStats,
  KVPair,
  ListResult,
  WatchEvent,
  Watcher,
  WatchOptions,
} from '../datastore.js';
import { AlreadyExistsError, ConflictError, NotFoundError, UnavailableError } from '../errors.js';
import { HealthTracker } from '../health.js';
import { nullLogger } from '../logger.js';
import { WatchQueue, WatchStats } from '../watch-queue.js';

export interface MemoryDatastoreOptions {
  /** Changes kept for watchers that resume from a revision (older ones get a resync). Default 10,000. */
  historyLimit?: number;
  /** Unread events a watcher may hold before it is resynced instead. Default 100,000. */
  watcherBacklogLimit?: number;
}

interface Change {
  revision: number;
  key: string;
  value: string | null;
  created: boolean;
}

/** The embedded in-process datastore: same semantics as the servers, nothing persisted. */
export class MemoryDatastore implements Datastore {
  readonly description: string = 'memory';
  private data = new Map<string, KVPair>();
  /**
   * Every key, sorted, so a prefix list costs O(log n + matches). Keys created or deleted since
   * the last list wait in `added`/`removed` and are merged in by the next list (sorted once, not
   * spliced in one by one: n creates in a row would otherwise move O(n²) array elements).
   */
  private sorted: string[] = [];
  private added = new Set<string>();
  private removed = new Set<string>();
  private rev = 0;
  private log: Change[] = [];
  private watchers = new Set<(c: Change) => void>();
  private closed = false;
  private readonly historyLimit: number;
  private readonly backlogLimit: number;

  constructor(opts: MemoryDatastoreOptions = {}) {
    this.historyLimit = opts.historyLimit ?? 10_000;
    this.backlogLimit = opts.watcherBacklogLimit ?? 100_000;
  }

  private live(): void {
    if (this.closed) throw new UnavailableError('memory datastore is closed');
  }

  async get(key: string): Promise<KVPair | undefined> {
    this.live();
    const kv = this.data.get(key);
    return kv && { ...kv };
  }

  async list(prefix: string): Promise<ListResult> {
    this.live();
    return { items: this.snapshot(prefix), revision: this.rev };
  }

  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.sorted[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Brings `sorted` up to date with the creates and deletes since the last list. */
  private index(): void {
    if (this.removed.size) {
      if (this.removed.size < 32) for (const k of this.removed) this.sorted.splice(this.lowerBound(k), 1);
      else this.sorted = this.sorted.filter((k) => !this.removed.has(k));
      this.removed.clear();
    }
    if (this.added.size) {
      if (this.added.size < 32) for (const k of this.added) this.sorted.splice(this.lowerBound(k), 0, k);
      else {
        const add = [...this.added].sort();
        const merged: string[] = new Array(this.sorted.length + add.length);
        let i = 0;
        let j = 0;
        let o = 0;
        while (i < this.sorted.length || j < add.length) {
          if (j >= add.length || (i < this.sorted.length && (this.sorted[i] as string) < (add[j] as string)))
            merged[o++] = this.sorted[i++] as string;
          else merged[o++] = add[j++] as string;
        }
        this.sorted = merged;
      }
      this.added.clear();
    }
  }

  private snapshot(prefix: string): KVPair[] {
    this.index();
    const items: KVPair[] = [];
    for (let i = this.lowerBound(prefix); i < this.sorted.length; i++) {
      const k = this.sorted[i] as string;
      if (!k.startsWith(prefix)) break;
      items.push({ ...(this.data.get(k) as KVPair) });
    }
    return items;
  }

  async create(key: string, value: string): Promise<KVPair> {
    this.live();
    if (this.data.has(key)) throw new AlreadyExistsError(key);
    return this.write(key, value, true);
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KVPair> {
    this.live();
    const cur = this.data.get(key);
    if (!cur) throw new NotFoundError(key);
    if (expectedRevision !== undefined && cur.revision !== expectedRevision) {
      throw new ConflictError(key, expectedRevision, cur.revision);
    }
    return this.write(key, value, false);
  }

  async delete(key: string, expectedRevision?: number): Promise<KVPair> {
    this.live();
    const cur = this.data.get(key);
    if (!cur) throw new NotFoundError(key);
    if (expectedRevision !== undefined && cur.revision !== expectedRevision) {
      throw new ConflictError(key, expectedRevision, cur.revision);
    }
    this.data.delete(key);
    if (!this.added.delete(key)) this.removed.add(key);
    this.record({ revision: ++this.rev, key, value: null, created: false });
    return { ...cur };
  }

  private write(key: string, value: string, created: boolean): KVPair {
    const kv = { key, value, revision: ++this.rev };
    if (created && !this.removed.delete(key)) this.added.add(key);
    this.data.set(key, kv);
    this.record({ revision: kv.revision, key, value, created });
    return { ...kv };
  }

  private record(c: Change): void {
    this.log.push(c);
    if (this.log.length > this.historyLimit * 2) this.log = this.log.slice(-this.historyLimit);
    for (const w of this.watchers) w(c);
  }

  /** Forgets history up to `revision` (like etcd compaction): watchers resuming before it resync. */
  compact(revision = this.rev): void {
    this.log = this.log.filter((c) => c.revision > revision);
  }

  async revision(): Promise<number> {
    this.live();
    return this.rev;
  }

  watch(prefix: string, opts: WatchOptions = {}): Watcher {
    const q: WatchQueue = new WatchQueue(
      this.backlogLimit,
      () => resync('watcher fell too far behind'),
      this.watchStats,
    );
    const snapshot = () => {
      for (const kv of this.snapshot(prefix))
        q.push({ type: 'added', key: kv.key, value: kv.value, revision: kv.revision });
      q.push({ type: 'in-sync', revision: this.rev });
    };
    const resync = (reason: string) => {
      q.clear();
      q.push({ type: 'resync', reason });
      snapshot();
    };
    const toEvent = (c: Change): WatchEvent =>
      c.value === null
        ? { type: 'deleted', key: c.key, revision: c.revision }
        : { type: c.created ? 'added' : 'updated', key: c.key, value: c.value, revision: c.revision };
    if (this.closed) {
      q.close();
      return q;
    }
    const from = opts.fromRevision;
    if (from === undefined) snapshot();
    else {
      const oldest = this.log[0]?.revision ?? this.rev + 1;
      if (from + 1 < oldest && from < this.rev) resync(`history before revision ${oldest} is compacted`);
      else {
        for (const c of this.log) if (c.revision > from && c.key.startsWith(prefix)) q.push(toEvent(c));
        q.push({ type: 'in-sync', revision: this.rev });
      }
    }
    const listener = (c: Change) => {
      if (c.key.startsWith(prefix)) q.push(toEvent(c), true);
    };
    this.watchers.add(listener);
    const ends = () => q.close();
    this.closers.add(ends);
    q.onClose = () => {
      this.watchers.delete(listener);
      this.closers.delete(ends);
    };
    return q;
  }

  private closers = new Set<() => void>();

  async close(): Promise<void> {
    this.closed = true;
    this.healthState.close();
    for (const c of [...this.closers]) c();
  }

  /** In-process: connected until closed. */
  private readonly healthState = new HealthTracker('memory', nullLogger, true);
  private readonly watchStats = new WatchStats();
  stats(): DatastoreStats {
    return { ...this.healthState.outageStats(), ...this.watchStats.snapshot() };
  }

  health(): DatastoreHealth {
    return this.healthState.current;
  }
  onHealth(listener: (h: DatastoreHealth) => void): () => void {
    return this.healthState.subscribe(listener);
  }

  /** Everything, for the `file://` store: key → pair, plus the revision. */
  dump(): { revision: number; items: KVPair[] } {
    return { revision: this.rev, items: this.snapshot('') };
  }

  /** Like `dump`, without copying: the stored pairs in key order (read them before the next write). */
  protected pairs(): { revision: number; items: Iterable<KVPair> } {
    this.index();
    const { data, sorted } = this;
    return {
      revision: this.rev,
      items: (function* () {
        for (const k of sorted) yield data.get(k) as KVPair;
      })(),
    };
  }

  /** Loads a dump (replacing everything; no events). */
  load(d: { revision: number; items: KVPair[] }): void {
    this.data = new Map(d.items.map((kv) => [kv.key, { ...kv }]));
    this.sorted = [...this.data.keys()].sort();
    this.added.clear();
    this.removed.clear();
    this.rev = d.revision;
    this.log = [];
  }
}
