import { mkdirSync } from 'node:fs';
import type http from 'node:http';
import { dirname } from 'node:path';
import pino from 'pino';
import type { Registry } from 'prom-client';
import { ConfigError } from './config/reader.js';
import type { ControlHandler } from './control/handler.js';
import { ControlServer } from './control/server.js';
import type { MetricsEndpoint } from './metrics.js';
import { applyDaemonNodeOptions, nodeOptionsLogged } from './node-options.js';

/** The options every config-file daemon takes. */
export interface DaemonArgs {
  config?: string | undefined;
  help?: boolean | undefined;
  'metrics-port'?: string | undefined;
  'metrics-address'?: string | undefined;
}

/**
 * The start every config-file daemon shares (`tabby bgpd`, `tabby rr`): set the daemon's Node
 * options it was not started with (`applyDaemonNodeOptions`), parse the arguments, print `--help`,
 * require `--config`, load and validate the file, find where `/metrics` goes.
 * Returns the parsed arguments, config and metrics endpoint, or the exit code when the daemon
 * should stop here (with the reason already printed).
 */
export function daemonPrologue<A extends DaemonArgs, C extends { metricsPort?: number | undefined }>(
  name: string,
  argv: string[],
  parse: (argv: string[]) => A,
  help: string,
  load: (file: string) => C,
): { args: A; file: string; config: C; endpoint: MetricsEndpoint | undefined } | { exit: number } {
  applyDaemonNodeOptions();
  let args: A;
  try {
    args = parse(argv);
  } catch (err) {
    process.stderr.write(`tabby ${name}: ${(err as Error).message}\nRun 'tabby ${name} --help' for usage.\n`);
    return { exit: 1 };
  }
  if (args.help) {
    process.stdout.write(help);
    return { exit: 0 };
  }
  const file = args.config;
  if (!file) {
    process.stderr.write(`tabby ${name}: --config FILE is required\nRun 'tabby ${name} --help' for usage.\n`);
    return { exit: 1 };
  }
  let config: C;
  try {
    config = load(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      const n = err.issues.length;
      process.stderr.write(`${err.message}\n${file}: ${n} problem${n === 1 ? '' : 's'}\n`);
      return { exit: 1 };
    }
    throw err;
  }
  try {
    return { args, file, config, endpoint: metricsEndpoint(args, config.metricsPort) };
  } catch (err) {
    process.stderr.write(`tabby ${name}: ${(err as Error).message}\n`);
    return { exit: 1 };
  }
}

/** A daemon's logger: JSON lines on stderr (`pretty`: one readable line each). */
export function daemonLogger(daemon: string, level: string | undefined, pretty = false): pino.Logger {
  return pino(
    { level: level ?? process.env.TABBY_LOG_LEVEL ?? 'info', base: { daemon } },
    pretty ? prettyStream() : pino.destination({ dest: 2, sync: false }),
  );
}

/** A minimal human-readable log stream (no pino-pretty dependency). */
function prettyStream(): { write(s: string): void } {
  const names: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
  return {
    write(line: string) {
      try {
        const { time, level, msg, daemon: _d, pid: _p, hostname: _h, ...rest } = JSON.parse(line);
        const extra = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        process.stderr.write(`${new Date(time).toISOString()} ${names[level] ?? level} ${msg ?? ''} ${extra}\n`);
      } catch {
        process.stderr.write(line);
      }
    },
  };
}

export interface ServeOptions {
  name: string;
  log: pino.Logger;
  socketPath: string;
  handler: ControlHandler;
  /**
   * Where to serve `/metrics` (`--metrics-port`, config `metricsPort`) and the daemon's registry,
   * made only then: prom-client and the metrics are loaded only by a daemon that serves them
   * (about 10 MB). Absent: no `/metrics`.
   */
  metrics?: { endpoint: MetricsEndpoint; registry(): Promise<Registry> } | undefined;
  start(): Promise<void>;
  /** Cease to every peer and release what `start` took. */
  stop(): Promise<void>;
  /** Re-reads the config file and applies it; the result is logged. */
  reload(): unknown;
  /** Extra fields for the "started" log line. */
  started: object;
}

/**
 * The life of a speaker daemon after its config is loaded (`tabby bgpd`, `tabby rr`): the control
 * socket, start, optional metrics, then SIGHUP reloads and SIGTERM/SIGINT stop it. Resolves
 * with the exit code.
 */
export async function serveDaemon(o: ServeOptions): Promise<number> {
  const lifecycle = new DaemonLifecycle(o.log);
  const control = new ControlServer(o.socketPath, o.handler.handle, { logger: o.log });
  let metrics: http.Server | undefined;
  try {
    mkdirSync(dirname(o.socketPath), { recursive: true });
    await lifecycle.starting(control.start());
    if (o.metrics) {
      const { endpoint, registry } = o.metrics;
      const { serveMetrics } = await import('./metrics.js');
      metrics = await lifecycle.starting(registry().then((r) => serveMetrics(r, endpoint)));
    }
    await lifecycle.starting(o.start());
  } catch (err) {
    metrics?.close();
    await control.stop().catch(() => {});
    await o.stop().catch(() => {});
    return lifecycle.failed(o.name, err);
  }
  o.log.info({ ...o.started, socket: o.socketPath, ...nodeOptionsLogged() }, `${o.name} started`);
  const onHup = () => {
    try {
      o.log.info({ ...(o.reload() as object) }, 'config reloaded');
    } catch (err) {
      o.log.error({ err: (err as Error).message }, 'config not reloaded; the running one stays');
    }
  };
  process.on('SIGHUP', onHup);
  const code = await lifecycle.stopped(async () => {
    await o.stop();
    await control.stop();
    metrics?.close();
  });
  process.removeListener('SIGHUP', onHup);
  return code;
}

/**
 * Where a daemon serves `/metrics`: `--metrics-port` (else the config's `metricsPort`), on
 * `--metrics-address` (default 127.0.0.1); undefined when no port is set. Throws a one-line
 * error for a bad port.
 */
export function metricsEndpoint(
  flags: { 'metrics-port'?: string | undefined; 'metrics-address'?: string | undefined },
  configPort?: number,
): MetricsEndpoint | undefined {
  const text = flags['metrics-port'];
  const port = text === undefined ? configPort : Number(text);
  if (port === undefined) return undefined;
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535))
    throw new Error(`--metrics-port must be a port number from 1 to 65535, not "${text}"`);
  return { port, host: flags['metrics-address'] ?? '127.0.0.1' };
}

/** Raised by `DaemonLifecycle.starting` when a signal arrives before start-up is over. */
export class StopRequestedError extends Error {
  readonly code = 'STOP_REQUESTED';
  constructor(readonly signal: string) {
    super(`stopped by ${signal} during start-up`);
  }
}

type LifecycleLogger = Pick<pino.Logger, 'info' | 'warn' | 'error'> & {
  flush?: (cb?: (err?: Error) => void) => void;
};

/**
 * A daemon's process lifecycle: SIGTERM and SIGINT are caught from the start (a signal during
 * start-up ends start-up too), stopping is bounded (DESIGN: a daemon ends within 2 s of the
 * signal), a second signal ends the process at once, and the log is flushed before the exit code
 * is handed back. The bins end the process once `main` resolves, so no forgotten handle can keep
 * a stopped daemon alive.
 */
export class DaemonLifecycle {
  private signal: string | undefined;
  private readonly signalled: Promise<string>;
  private resolveSignal!: (signal: string) => void;
  private readonly startWaiters = new Set<(signal: string) => void>();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.signal !== undefined) {
      this.log.warn({ signal }, 'second signal: exiting now');
      this.log.flush?.();
      process.exit(1);
    }
    this.signal = signal;
    this.resolveSignal(signal);
    for (const w of this.startWaiters) w(signal);
  };

  /** `graceMs`: how long stopping may take before the daemon exits anyway. */
  constructor(
    private readonly log: LifecycleLogger,
    private readonly graceMs = 1500,
  ) {
    this.signalled = new Promise((r) => {
      this.resolveSignal = r;
    });
    process.on('SIGTERM', this.onSignal);
    process.on('SIGINT', this.onSignal);
  }

  /** `work`'s outcome, or StopRequestedError as soon as a signal arrives (the work is abandoned). */
  starting<T>(work: Promise<T>): Promise<T> {
    if (this.signal !== undefined) {
      work.catch(() => {});
      return Promise.reject(new StopRequestedError(this.signal));
    }
    let waiter!: (signal: string) => void;
    const stop = new Promise<never>((_, reject) => {
      waiter = (signal) => reject(new StopRequestedError(signal));
      this.startWaiters.add(waiter);
    });
    return Promise.race([work, stop]).finally(() => this.startWaiters.delete(waiter));
  }

  /** Waits `ms`, or rejects with StopRequestedError when a signal arrives first. */
  sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const wait = new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    });
    return this.starting(wait).finally(() => clearTimeout(timer));
  }

  /**
   * Start-up failed: logs it and prints `tabby NAME: reason` on one line, unless a signal ended
   * start-up (a normal stop). Resolves with the exit code.
   */
  async failed(name: string, err: unknown): Promise<number> {
    this.dispose();
    if (err instanceof StopRequestedError) {
      this.log.info({ signal: err.signal }, 'stopped during start-up');
      await this.flush();
      return 0;
    }
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    this.log.error({ err: message }, 'start-up failed');
    await this.flush();
    process.stderr.write(`tabby ${name}: ${message}\n`);
    return 1;
  }

  /**
   * Waits for SIGTERM or SIGINT, then runs `stop` for at most `graceMs`. Resolves with 0, or 1
   * when `stop` failed or did not finish in time (the process exits anyway).
   */
  async stopped(stop: () => Promise<void>): Promise<number> {
    const signal = await this.signalled;
    this.log.info({ signal }, 'shutting down');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => {
      timer = setTimeout(() => r('late'), this.graceMs);
    });
    const outcome = await Promise.race([
      stop().then(
        () => 'done' as const,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      ),
      late,
    ]);
    clearTimeout(timer);
    this.dispose();
    let code = 1;
    if (outcome === 'late') this.log.warn({ graceMs: this.graceMs }, 'did not stop in time; exiting anyway');
    else if (outcome !== 'done') this.log.error({ err: outcome.message }, 'error while stopping; exiting anyway');
    else {
      this.log.info({}, 'stopped');
      code = 0;
    }
    await this.flush();
    return code;
  }

  private dispose(): void {
    process.removeListener('SIGTERM', this.onSignal);
    process.removeListener('SIGINT', this.onSignal);
  }

  private flush(): Promise<void> {
    const flush = this.log.flush;
    if (!flush) return Promise.resolve();
    return new Promise((r) => {
      const t = setTimeout(r, 200);
      flush.call(this.log, () => {
        clearTimeout(t);
        r();
      });
    });
  }
}
