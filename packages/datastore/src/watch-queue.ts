import type { WatchEvent, Watcher } from './datastore.js';

/**
 * An unbounded-by-default async queue behind every backend's Watcher. Backends push events;
 * `overflow` is called (once per episode) when more than `limit` events wait unread, so the
 * backend can replace the backlog with a resync.
 */
export class WatchQueue implements Watcher {
  private buf: WatchEvent[] = [];
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
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  get backlog(): number {
    return this.buf.length;
  }

  /** Queues an event; `live` events count towards the backlog limit, snapshot events do not. */
  push(ev: WatchEvent, live = false): void {
    if (this.closed) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: ev, done: false });
      return;
    }
    this.buf.push(ev);
    if (live) {
      this.live.add(ev);
      if (++this.liveCount > this.limit) this.overflow();
    }
  }

  /** Drops everything not yet read (before a resync). */
  clear(): void {
    this.buf = [];
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
