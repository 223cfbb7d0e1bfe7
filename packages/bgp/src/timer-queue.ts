import type { Clock, TimerHandle } from './clock.js';

/**
 * A timer its owner restarts without allocating: a session's keepalive and hold timers restart
 * thousands of times a second on a reflector with 10,000 clients. As Node timers, each start made
 * a `Timeout`, its handle and a closure that lived the timer's 7-30 s: every one survived the young
 * generation's collections and was copied into the old one. Quiet, with only keepalives flowing,
 * that was 2-3 MB copied per scavenge (pauses of 10-28 ms on a slow machine) and the old
 * generation growing 1 MB a second until a full collection.
 */
export class QueuedTimer {
  /** When it falls due (clock ms). */
  at = 0;
  /** Start order: timers due at the same time run in the order they were started. */
  seq = 0;
  /** Position in the queue's heap; -1 while stopped. */
  index = -1;

  constructor(readonly fn: () => void) {}

  get running(): boolean {
    return this.index >= 0;
  }
}

/**
 * Timers kept in one binary heap by due time, behind a single clock timer set for the earliest
 * (as BIRD keeps its timers). Starting or stopping one allocates nothing; the clock timer is set
 * again only when the earliest changes, and once per wake-up.
 */
export class TimerQueue {
  private readonly heap: QueuedTimer[] = [];
  private wake: TimerHandle | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private seq = 0;
  private firing = false;

  constructor(private readonly clock: Clock) {}

  /** Number of timers running. */
  get size(): number {
    return this.heap.length;
  }

  /** (Re)starts `t` to fall due `ms` from now. */
  start(t: QueuedTimer, ms: number): void {
    if (t.index >= 0) this.remove(t);
    t.at = this.clock.now() + Math.max(0, ms);
    t.seq = this.seq++;
    t.index = this.heap.length;
    this.heap.push(t);
    this.up(t.index);
    if (!this.firing && t.at < this.wakeAt) this.arm();
  }

  /** Stops `t` if it runs. */
  stop(t: QueuedTimer): void {
    if (t.index < 0) return;
    this.remove(t);
    // A wake-up set for it stays: it finds nothing due and is set for the next. None is left set
    // for an empty queue.
    if (this.heap.length === 0 && !this.firing) this.disarm();
  }

  private readonly fire = (): void => {
    this.wake = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
    this.firing = true;
    try {
      for (;;) {
        const t = this.heap[0];
        if (!t || t.at > this.clock.now()) break;
        this.remove(t);
        t.fn();
      }
    } finally {
      this.firing = false;
      if (this.heap.length > 0) this.arm();
    }
  };

  private arm(): void {
    this.disarm();
    const first = this.heap[0]!;
    this.wakeAt = first.at;
    this.wake = this.clock.setTimeout(this.fire, first.at - this.clock.now());
  }

  private disarm(): void {
    if (this.wake) this.clock.clearTimeout(this.wake);
    this.wake = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
  }

  private remove(t: QueuedTimer): void {
    const i = t.index;
    const last = this.heap.pop()!;
    t.index = -1;
    if (last === t) return;
    this.heap[i] = last;
    last.index = i;
    this.down(i);
    this.up(last.index);
  }

  private before(a: QueuedTimer, b: QueuedTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!this.before(t, parent)) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = t;
    t.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.before(h[r]!, h[l]!) ? r : l;
      const child = h[c]!;
      if (!this.before(child, t)) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = t;
    t.index = i;
  }
}

const queues = new WeakMap<Clock, TimerQueue>();

/** The queue of `clock`'s timers, shared by everything that runs on that clock. */
export function timerQueue(clock: Clock): TimerQueue {
  let q = queues.get(clock);
  if (!q) {
    q = new TimerQueue(clock);
    queues.set(clock, q);
  }
  return q;
}
