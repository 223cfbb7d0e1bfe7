import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Clock, systemClock } from './clock.js';

/** What {@link LoopWatch} needs of Node's event-loop delay monitor (nanoseconds, like the histogram). */
export interface DelayMonitor {
  readonly max: number;
  enable(): void;
  disable(): void;
  reset(): void;
}

/** The monitor's tick (ms): a reading includes it, as Node's own histogram does. */
export const LOOP_TICK_MS = 10;
/** The monitor stops after this long (ms) without work. */
export const LOOP_IDLE_MS = 1000;

/**
 * The longest the event loop was held, measured only while the process has work: a 10 ms
 * timer that ticks all the time costs an idle speaker about 5 ms of CPU a second (a wake-up per
 * tick), and the loop cannot be held while there is nothing to do. {@link LoopWatch.busy} (a socket
 * read, a connection, a turn of RIB work) arms Node's monitor; a second without work disarms it.
 * Timers alone do not arm it: what they start (keepalives sent, a hold timer's teardown) is small
 * or schedules RIB work.
 *
 * Node's monitor measures the gap between two of its ticks, so the first gap after arming would
 * be lost (or, without a reset, the whole idle time counted): a one-off timer set at arming
 * measures that first stretch instead.
 */
export class LoopWatch {
  private started = false;
  private armedNow = false;
  private worked = false;
  private settledMs = 0;
  private readonly monitor: DelayMonitor;

  constructor(
    private readonly clock: Clock = systemClock,
    monitor?: DelayMonitor,
  ) {
    this.monitor = monitor ?? monitorEventLoopDelay({ resolution: LOOP_TICK_MS });
  }

  /** Whether the monitor is running. */
  get armed(): boolean {
    return this.armedNow;
  }

  /** The loop has work: keep (or start) measuring. Cheap enough for every socket read. */
  busy(): void {
    if (this.armedNow) {
      this.worked = true;
      return;
    }
    if (!this.started) return;
    this.armedNow = true;
    this.worked = false;
    this.monitor.enable();
    const armedAt = this.clock.now();
    this.clock.setTimeout(() => this.record(this.clock.now() - armedAt), LOOP_TICK_MS);
    this.clock.setTimeout(() => this.check(), LOOP_IDLE_MS);
  }

  /**
   * The longest the loop was held since the first call (ms, rounded, at 10 ms resolution): how late
   * a timer fired, so a keepalive or a control-socket answer waited at most about this long. The
   * first call starts measuring and says 0.
   */
  maxMs(): number {
    if (!this.started) {
      this.started = true;
      this.busy();
      return 0;
    }
    // The histogram records nanoseconds; an empty one reports max 0.
    return Math.round(Math.max(this.settledMs, this.monitor.max / 1e6));
  }

  private record(ms: number): void {
    if (ms > this.settledMs) this.settledMs = ms;
  }

  private check(): void {
    if (this.worked) {
      this.worked = false;
      this.clock.setTimeout(() => this.check(), LOOP_IDLE_MS);
      return;
    }
    this.record(this.monitor.max / 1e6);
    this.monitor.disable();
    this.monitor.reset();
    this.armedNow = false;
  }
}

/**
 * The process's watch, read by `show status` (`event_loop_max_delay_ms`): its first reading
 * starts it. BGP connections call `busy()` on each event (a connection, a read, the peer's FIN, a
 * close: 10,000 peers leaving at once hold the loop in the turn their FINs are read), control
 * connections on connecting and on each read, the speaker on scheduling RIB work.
 */
export const loopWatch = new LoopWatch();
