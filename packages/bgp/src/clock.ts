/** An opaque handle for a scheduled callback. */
export interface TimerHandle {
  readonly id: number;
}

/**
 * Time as the speaker sees it. Production uses {@link systemClock}; tests use {@link ManualClock}
 * and advance time explicitly, so hold and keepalive timers are tested without sleeping.
 */
export interface Clock {
  /** Milliseconds since an arbitrary epoch (monotonic in the system clock). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  /** A number in [0, 1] for timer jitter, 1 for none (`Math.random` when absent). */
  random?(): number;
}

/**
 * RFC 4271 10: `ms` less a random quarter at most, for the timers that must not run in step
 * (KeepaliveTimer, ConnectRetryTimer), as BIRD does. A reflector's 10,000 clients come up in
 * bursts of a thousand; unjittered, each burst's keepalives would fall due in one turn of the
 * event loop every interval, forever, and their reconnects after a mass disconnect likewise.
 */
export function jittered(clock: Clock, ms: number): number {
  return ms * (0.75 + 0.25 * (clock.random?.() ?? Math.random()));
}

let nextId = 1;

/** The real clock: `performance.now()` and Node timers (unref'd: timers alone never keep a process alive). */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    const handle = { id: nextId++, t };
    return handle;
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
  private pending = new Map<number, Pending>();

  /** No jitter unless a test asks for it (timers then fire at exactly the time they were set for). */
  random: () => number = () => 1;

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

  /** Number of callbacks waiting. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Moves time forward by `ms`, running every callback that falls due, in time order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending.values()) {
        if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      }
      if (!next) break;
      this.pending.delete(next.id);
      this.time = next.at;
      next.fn();
    }
    this.time = end;
  }
}
