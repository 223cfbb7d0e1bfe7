import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { type DelayMonitor, LOOP_IDLE_MS, LOOP_TICK_MS, LoopWatch } from './loop-delay.js';

/** Stands in for Node's histogram: what a test says the ticks measured, while enabled. */
class FakeMonitor implements DelayMonitor {
  max = 0;
  enabled = false;
  enable(): void {
    this.enabled = true;
  }
  disable(): void {
    this.enabled = false;
  }
  reset(): void {
    this.max = 0;
  }
  saw(ms: number): void {
    if (!this.enabled) throw new Error('the monitor measured while disabled');
    this.max = Math.max(this.max, ms * 1e6);
  }
}

/** A clock whose time can jump while no timer runs: the loop held by synchronous work. */
class StallClock extends ManualClock {
  private held = 0;
  override now(): number {
    return super.now() + this.held;
  }
  stall(ms: number): void {
    this.held += ms;
  }
}

function setup() {
  const clock = new StallClock();
  const monitor = new FakeMonitor();
  return { clock, monitor, watch: new LoopWatch(clock, monitor) };
}

describe('LoopWatch', () => {
  it('measures nothing, and keeps no timer, before the first reading is asked for', () => {
    const { clock, monitor, watch } = setup();
    watch.busy();
    expect(monitor.enabled).toBe(false);
    expect(clock.pendingCount).toBe(0);
    expect(watch.maxMs()).toBe(0);
    expect(watch.armed).toBe(true);
  });

  it('stops after a second without work, keeping the longest hold it saw', () => {
    const { clock, monitor, watch } = setup();
    watch.maxMs();
    clock.advance(LOOP_TICK_MS);
    monitor.saw(42);
    clock.advance(LOOP_IDLE_MS);
    expect(watch.armed).toBe(false);
    expect(monitor.enabled).toBe(false);
    expect(clock.pendingCount).toBe(0);
    expect(watch.maxMs()).toBe(42);
  });

  it('keeps measuring while work goes on', () => {
    const { clock, monitor, watch } = setup();
    watch.maxMs();
    for (let i = 0; i < 10; i++) {
      clock.advance(LOOP_IDLE_MS / 2);
      watch.busy();
    }
    expect(watch.armed).toBe(true);
    expect(monitor.enabled).toBe(true);
    clock.advance(2 * LOOP_IDLE_MS);
    expect(watch.armed).toBe(false);
  });

  it('does not count the idle time as a hold, and measures the first stretch after new work', () => {
    const { clock, monitor, watch } = setup();
    watch.maxMs();
    clock.advance(10 * LOOP_IDLE_MS);
    // A reading includes the tick, as Node's histogram does: an idle loop reads 10 ms.
    expect(watch.maxMs()).toBe(LOOP_TICK_MS);
    watch.busy();
    expect(monitor.enabled).toBe(true);
    // The work that armed it holds the loop 250 ms before the first tick can run.
    clock.stall(250);
    clock.advance(LOOP_TICK_MS);
    expect(watch.maxMs()).toBe(250 + LOOP_TICK_MS);
    monitor.saw(30);
    clock.advance(10 * LOOP_IDLE_MS);
    expect(watch.maxMs()).toBe(250 + LOOP_TICK_MS);
  });

  it('measures a real stall on the real clock', async () => {
    const watch = new LoopWatch();
    watch.maxMs();
    const start = performance.now();
    while (performance.now() - start < 60) {
      // holds the loop
    }
    await new Promise((resolve) => setTimeout(resolve, 3 * LOOP_TICK_MS));
    expect(watch.maxMs()).toBeGreaterThanOrEqual(60);
  });

  it('does not count a real idle second as a hold once work comes back', async () => {
    const watch = new LoopWatch();
    watch.maxMs();
    // Disarmed at 1 s; 500 ms later, work again.
    await new Promise((resolve) => setTimeout(resolve, LOOP_IDLE_MS + 500));
    expect(watch.armed).toBe(false);
    watch.busy();
    await new Promise((resolve) => setTimeout(resolve, 5 * LOOP_TICK_MS));
    expect(watch.maxMs()).toBeLessThan(250);
  });
});
