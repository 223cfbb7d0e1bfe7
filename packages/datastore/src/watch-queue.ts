import type { DatastoreStats, WatchEvent, Watcher } from './datastore.js';

/**
 * An unbounded-by-default async queue behind every backend's Watcher. Backends push events;
 * `overflow` is called (once per episode) when more than `limit` events wait unread, so the
 * backend can replace the backlog with a resync.
 */
export class WatchQueue implements Watcher {
  private buf: WatchEvent[] = [];
  /** When each unread event was queued (ms, `performance.now()`), for the watch lag. */
  private queuedAt: number[] = [];
  /** Unread events pushed as live changes (snapshots do not count towards `limit`). */
  private live = new WeakSet<WatchEvent>();
  private liveCount = 0;
  private waiting: ((r: IteratorResult<WatchEvent>) => void) | null = null;
  private closed = false;
  private failure: Error | null = null;
  onClose: () => void = () => {};

  constructor(
    readonly limit = Number.POSITIVE_INFINITY,
    private readonly overflow: () => void = () => {},
    private readonly stats?: WatchStats,
  ) {
    stats?.queues.add(this);
  }

  /** How long the oldest unread event has waited (ms; 0 when none waits). */
  get lagMs(): number {
    const t = this.queuedAt[0];
    return t === undefined ? 0 : performance.now() - t;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get backlog(): number {
    return this.buf.length;
  }

  /** Queues an event; `live` events count towards the backlog limit, snapshot events do not. */
  push(ev: WatchEvent, live = false): void {
    if (this.closed) return;
    if (ev.type === 'resync' && this.stats) this.stats.resyncs += 1;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: ev, done: false });
      return;
    }
    this.buf.push(ev);
    this.queuedAt.push(performance.now());
    if (live) {
      this.live.add(ev);
      if (++this.liveCount > this.limit) this.overflow();
    }
  }

  /** Drops everything not yet read (before a resync). */
  clear(): void {
    this.buf = [];
    this.queuedAt = [];
    this.liveCount = 0;
  }

  /** Ends the stream with an error (the iterator rejects). */
  fail(err: Error): void {
    this.failure = err;
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stats?.queues.delete(this);
    this.onClose();
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return {
      next: () => {
        const ev = this.buf.shift();
        this.queuedAt.shift();
        if (ev && this.live.has(ev)) this.liveCount--;
        if (ev) return Promise.resolve({ value: ev, done: false });
        if (this.failure) return Promise.reject(this.failure);
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiting = resolve;
        });
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/** What a backend's watchers add up to (`Datastore.stats()`): one per datastore. */
export class WatchStats {
  readonly queues = new Set<WatchQueue>();
  /** `resync` events delivered to watchers. */
  resyncs = 0;

  snapshot(): Pick<DatastoreStats, 'watchers' | 'watchBacklog' | 'watchLagMs' | 'watchResyncs'> {
    let backlog = 0;
    let lag = 0;
    for (const q of this.queues) {
      backlog += q.backlog;
      lag = Math.max(lag, q.lagMs);
    }
    return { watchers: this.queues.size, watchBacklog: backlog, watchLagMs: lag, watchResyncs: this.resyncs };
  }
}
