import type { KeyValueSource, Unsubscribe } from '../kv/key-value-source.js';
import { type CommandRunner, ShellCommandRunner } from './command-runner.js';
import { type Outcome, type ProcessResult, ResourceProcessor } from './resource-processor.js';
import { type Clock, type Logger, silentLogger, systemClock } from './runtime.js';
import type { TemplateResource } from './template-resource.js';

/** Options for the render loop. */
export interface ConfdLoopOptions {
  readonly resources: readonly TemplateResource[];
  readonly source: KeyValueSource;
  readonly runner?: CommandRunner;
  /** Environment for `getenv` (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Render and report differences; never write or run commands. */
  readonly noop?: boolean;
  /** Quiet period after a change before rendering (coalesces bursts). Default 100 ms. */
  readonly debounceMs?: number;
  /** First retry delay after an error, doubled per failure up to `maxBackoffMs`. Default 1 s. */
  readonly initialBackoffMs?: number;
  /** Default 30 s. */
  readonly maxBackoffMs?: number;
  /** Called after every pass of a resource, with its result or error. */
  readonly onResult?: (result: ProcessResult | { resource: string; error: Error }) => void;
}

/** Counters over the loop's life. */
export interface ConfdStats {
  renders: number;
  updates: number;
  unchanged: number;
  errors: number;
}

interface ResourceState {
  readonly processor: ResourceProcessor;
  timer: unknown;
  /** When the pending timer fires (clock milliseconds). */
  timerDue: number;
  running: Promise<void> | undefined;
  dirty: boolean;
  failures: number;
}

/**
 * confd's loop: wait for the source's initial sync, render every resource, then re-render a
 * resource when keys under its prefixes change. Changes are debounced; errors (including a
 * failed check) retry with exponential back-off.
 */
export class ConfdLoop {
  readonly stats: ConfdStats = { renders: 0, updates: 0, unchanged: 0, errors: 0 };
  private readonly states: ResourceState[];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly debounceMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private unsubscribes: Unsubscribe[] = [];
  private stopped = false;
  private stopResolve: (() => void) | undefined;

  constructor(private readonly options: ConfdLoopOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.debounceMs = options.debounceMs ?? 100;
    this.initialBackoffMs = options.initialBackoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    const deps = {
      source: options.source,
      runner: options.runner ?? new ShellCommandRunner(),
      env: options.env ?? process.env,
      clock: this.clock,
      logger: this.logger,
      noop: options.noop ?? false,
    };
    this.states = options.resources.map((r) => ({
      processor: new ResourceProcessor(r, deps),
      timer: undefined,
      timerDue: 0,
      running: undefined,
      dirty: false,
      failures: 0,
    }));
  }

  /**
   * `--onetime`: waits for sync, processes every resource once, and returns the results. Errors
   * are returned, not thrown, so that one bad resource does not hide the others.
   */
  async runOnce(signal?: AbortSignal): Promise<Array<ProcessResult | { resource: string; error: Error }>> {
    await this.options.source.waitForSync(signal);
    const out: Array<ProcessResult | { resource: string; error: Error }> = [];
    for (const s of this.states) out.push(await this.processOnce(s));
    return out;
  }

  /** Runs until `stop()` (or the signal aborts). Resolves when stopped. */
  async run(signal?: AbortSignal): Promise<void> {
    signal?.addEventListener('abort', () => this.stop(), { once: true });
    await this.options.source.waitForSync(signal);
    if (this.stopped) return;
    for (const s of this.states) {
      this.unsubscribes.push(
        this.options.source.watch(s.processor.resource.keys, () => this.schedule(s, this.debounceMs)),
      );
      this.schedule(s, 0);
    }
    await new Promise<void>((resolve) => {
      this.stopResolve = resolve;
      if (this.stopped) resolve();
    });
    await this.idle();
  }

  /** Stops watching and cancels pending renders. */
  stop(): void {
    this.stopped = true;
    for (const u of this.unsubscribes.splice(0)) u();
    for (const s of this.states) {
      if (s.timer !== undefined) this.clock.clearTimeout(s.timer);
      s.timer = undefined;
    }
    this.stopResolve?.();
  }

  /** Resolves when no resource is being processed (pending timers are not waited for). */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.states.map((s) => s.running).filter((p) => p !== undefined);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Whether any resource has a render or retry scheduled. */
  hasPendingWork(): boolean {
    return this.states.some((s) => s.timer !== undefined || s.running !== undefined || s.dirty);
  }

  private schedule(s: ResourceState, delayMs: number): void {
    if (this.stopped) return;
    if (s.running) {
      s.dirty = true;
      return;
    }
    const due = this.clock.now().getTime() + delayMs;
    if (s.timer !== undefined) {
      // Already scheduled; a change during a back-off wait pulls the retry forward.
      if (s.timerDue <= due) return;
      this.clock.clearTimeout(s.timer);
    }
    s.timerDue = due;
    s.timer = this.clock.setTimeout(() => {
      s.timer = undefined;
      s.running = this.pass(s).then((retryMs) => {
        s.running = undefined;
        // New data may fix an error, so a change during the pass beats the back-off.
        if (s.dirty) {
          s.dirty = false;
          this.schedule(s, this.debounceMs);
        } else if (retryMs !== undefined) this.schedule(s, retryMs);
      });
    }, delayMs);
  }

  /** One pass; returns the retry delay after an error. */
  private async pass(s: ResourceState): Promise<number | undefined> {
    const r = await this.processOnce(s);
    if ('error' in r) {
      s.failures++;
      const delay = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (s.failures - 1));
      this.logger.warn({ resource: r.resource, retryInMs: delay, err: r.error.message }, 'confd: will retry');
      return delay;
    }
    s.failures = 0;
    return undefined;
  }

  private async processOnce(s: ResourceState): Promise<ProcessResult | { resource: string; error: Error }> {
    const before = s.processor.renders;
    let result: ProcessResult | { resource: string; error: Error };
    try {
      result = await s.processor.process();
      this.count(result.outcome);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      this.stats.errors++;
      this.logger.error({ resource: s.processor.resource.name, err: error.message }, 'confd: processing failed');
      result = { resource: s.processor.resource.name, error };
    }
    this.stats.renders += s.processor.renders - before;
    this.options.onResult?.(result);
    return result;
  }

  private count(o: Outcome): void {
    if (o === 'updated') this.stats.updates++;
    else if (o === 'unchanged') this.stats.unchanged++;
  }
}
