/** An opaque handle for a scheduled callback. */
export interface TimerHandle {
  readonly id: number;
}

/**
 * Time as the BFD state machine sees it: milliseconds (fractional) on an epoch-based monotonic
 * scale, so values are comparable across threads. Production uses {@link systemClock}; tests use
 * {@link ManualClock} and advance time explicitly.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

let nextId = 1;

/** `performance.timeOrigin + performance.now()` and Node timers (unref'd). */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { id: nextId++, t } as TimerHandle;
  },
  clearTimeout(handle) {
    if (handle) clearTimeout((handle as unknown as { t: NodeJS.Timeout }).t);
  },
};

interface Pending {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

/** A clock that moves only when told to. Callbacks due at the same time run in scheduling order. */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = nextId++;
    this.pending.set(id, { id, at: this.time + Math.max(0, ms), seq: this.seq++, fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.pending.delete(handle.id);
  }

  /** Moves time forward by `ms`, running every callback that falls due, in time order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending.values())
        if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      if (!next) break;
      this.pending.delete(next.id);
      this.time = next.at;
      next.fn();
    }
    this.time = end;
  }
}
