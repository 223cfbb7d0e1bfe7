import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

let histogram: IntervalHistogram | null = null;

/**
 * The longest the event loop was held since this process first asked (ms, at 10 ms resolution):
 * how late a timer fired, so a keepalive or a control-socket answer waited at most about this
 * long. One monitor per process, started on the first call (the first `show status`).
 */
export function maxLoopDelayMs(): number {
  if (!histogram) {
    histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    return 0;
  }
  // The histogram records nanoseconds; an empty one reports a huge minimum and max 0.
  return Math.round(histogram.max / 1e6);
}
