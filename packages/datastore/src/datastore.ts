/**
 * The one interface every backend implements: a revisioned key/value store with
 * compare-and-swap and ordered watches. Keys are strings (Calico's etcd layout, see keys.ts),
 * values are strings (JSON documents for resources and IPAM records).
 */

/** One stored key. `revision` is the store revision of its last change (etcd's mod_revision). */
export interface KVPair {
  key: string;
  value: string;
  revision: number;
}

/** A consistent snapshot of a prefix: `revision` is the store revision it was read at. */
export interface ListResult {
  items: KVPair[];
  revision: number;
}

/** Watch events, in store order. */
export type WatchEvent =
  /** A key appeared (also used for every key of the initial or resync snapshot). */
  | { type: 'added'; key: string; value: string; revision: number }
  /** An existing key changed. */
  | { type: 'updated'; key: string; value: string; revision: number }
  /** A key went away; `revision` is the revision of the deletion. */
  | { type: 'deleted'; key: string; revision: number }
  /** Everything up to `revision` has been delivered: consumers may act on their state now. */
  | { type: 'in-sync'; revision: number }
  /**
   * The watcher could not deliver every change (history compacted or trimmed, reconnect after an
   * outage, consumer too slow). Drop all state for this prefix: a fresh snapshot (`added` events)
   * follows, then `in-sync` again. `reason` says why.
   */
  | { type: 'resync'; reason: string };

export type WatchEventType = WatchEvent['type'];

export interface WatchOptions {
  /**
   * Deliver changes after this revision (from a previous `list` or event). Without it, the
   * watcher starts with a snapshot of the prefix as `added` events, then `in-sync`. With it,
   * changes after the revision are replayed, then `in-sync`; if they are no longer available a
   * `resync` comes first.
   */
  fromRevision?: number;
}

/** An ordered stream of events; iterate with `for await`, stop with `close()` (or `break`). */
export interface Watcher extends AsyncIterable<WatchEvent> {
  close(): void;
}

/**
 * Whether the datastore answers, as the backend last saw it. Network backends check at least
 * every second (Redis: a PING-like read of the store's identity and revision on its own
 * connection; etcd: a linearizable read, which needs a quorum), and on every reconnect.
 */
export interface DatastoreHealth {
  /**
   * True while the datastore answers. False before the first successful check, while the server
   * (or every etcd member, or the etcd quorum) is unreachable, and after `close()`. Memory and
   * file stores are always connected until closed.
   */
  connected: boolean;
  /** When `connected` last changed, in ms since the epoch (the open time at first). */
  since: number;
  /**
   * Only while not connected: why, in one line without secrets and without the description,
   * e.g. `connect ECONNREFUSED 127.0.0.1:6379` or `health check failed: no answer from
   * 10.0.0.3:2379 within 3.0 s; no etcd member has a leader: the cluster lost quorum (...)`.
   * Good as the reason in a readiness answer, next to `description`.
   */
  lastError?: string;
}

/** A datastore's counters for metrics (`registerDatastoreMetrics`): cheap, no I/O. */
export interface DatastoreStats {
  /** Outages since the datastore was opened (each logged as `datastore unreachable`). */
  outages: number;
  /** Their total length in ms, the current one included. */
  outageMs: number;
  /** Open watchers. */
  watchers: number;
  /** Events queued in watchers and not read yet. */
  watchBacklog: number;
  /** How long the oldest unread event has waited, ms (0 when every watcher is caught up). */
  watchLagMs: number;
  /** `resync` events delivered to watchers. */
  watchResyncs: number;
}

/** The shared state of a Tabby cluster. All methods reject with DatastoreError subclasses. */
export interface Datastore {
  /** A short description for logs (`memory`, `redis://127.0.0.1:6379/0`, ...), without secrets. */
  readonly description: string;
  /** The key, or undefined. */
  get(key: string): Promise<KVPair | undefined>;
  /** Every key starting with `prefix`, sorted by key, as one consistent snapshot. */
  list(prefix: string): Promise<ListResult>;
  /** Creates a key; AlreadyExistsError if it exists. */
  create(key: string, value: string): Promise<KVPair>;
  /**
   * Replaces a key's value. With `expectedRevision`, only if the key is still at that revision
   * (ConflictError otherwise). NotFoundError if the key does not exist.
   */
  update(key: string, value: string, expectedRevision?: number): Promise<KVPair>;
  /** Deletes a key (compare-and-swap with `expectedRevision`); resolves with the deleted pair. */
  delete(key: string, expectedRevision?: number): Promise<KVPair>;
  /** Watches every key under `prefix`. */
  watch(prefix: string, opts?: WatchOptions): Watcher;
  /** The current store revision. */
  revision(): Promise<number>;
  /** Closes connections; open watchers end. */
  close(): Promise<void>;
  /**
   * Connection state now (cheap: no I/O). The backend itself logs once at warn when the datastore
   * is lost (`datastore unreachable`) and once at info when it is back (`datastore reachable
   * again`, with `outageMs`), with the injected logger. A datastore that comes back empty, older
   * or compacted makes every watcher resync (`resync` event, then a snapshot, then `in-sync`):
   * readiness should also wait for the watchers' `in-sync`.
   */
  health(): DatastoreHealth;
  /**
   * Calls `listener` each time `connected` changes (not on every check), with the new state.
   * Returns a function that removes the listener.
   */
  onHealth(listener: (health: DatastoreHealth) => void): () => void;
  /** Outage and watcher counters for metrics. */
  stats(): DatastoreStats;
}
