import type { Clock, TimerHandle } from './clock.js';
import type { Logger } from './logger.js';

interface Entry {
  /** Refusals since the last line for this address. */
  unlogged: number;
  timer: TimerHandle;
}

/** Addresses tracked at once; beyond that, new addresses share one entry (`other`). */
const MAX_ADDRESSES = 1024;

/**
 * Logs refused connections from addresses that are no configured peer: the first from an address
 * at once, then at most one line per address per interval with the count of the others, so a
 * scanner making thousands of attempts costs a line a minute, not a line per attempt.
 */
export class RefusalLog {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
  ) {}

  refused(address: string, port: number): void {
    const key = this.entries.has(address) || this.entries.size < MAX_ADDRESSES ? address : 'other';
    const e = this.entries.get(key);
    if (e) {
      e.unlogged += 1;
      return;
    }
    this.log.warn({ remote: key, port }, 'connection from unknown peer refused');
    this.entries.set(key, { unlogged: 0, timer: this.arm(key) });
  }

  private arm(key: string): TimerHandle {
    return this.clock.setTimeout(() => {
      const e = this.entries.get(key);
      if (!e) return;
      if (e.unlogged === 0) {
        this.entries.delete(key);
        return;
      }
      this.log.warn(
        { remote: key, refused: e.unlogged, seconds: this.intervalMs / 1000 },
        `connections from unknown peer refused: ${e.unlogged} more in ${this.intervalMs / 1000} s`,
      );
      e.unlogged = 0;
      e.timer = this.arm(key);
    }, this.intervalMs);
  }

  stop(): void {
    for (const e of this.entries.values()) this.clock.clearTimeout(e.timer);
    this.entries.clear();
  }
}
