import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';
import { ConfigError } from './config/reader.js';
import type { ControlHandler } from './control/handler.js';
import { ControlServer } from './control/server.js';
import { serveMetrics } from './metrics.js';
import type { Speaker } from './speaker.js';

/** The options every config-file daemon takes. */
export interface DaemonArgs {
  config?: string | undefined;
  help?: boolean | undefined;
}

/**
 * The start every config-file daemon shares (`tabby bgpd`, `tabby rr`): parse the arguments,
 * print `--help`, require `--config`, load and validate the file. Returns the parsed arguments and
 * config, or the exit code when the daemon should stop here (with the reason already printed).
 */
export function daemonPrologue<A extends DaemonArgs, C>(
  name: string,
  argv: string[],
  parse: (argv: string[]) => A,
  help: string,
  load: (file: string) => C,
): { args: A; file: string; config: C } | { exit: number } {
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
  try {
    return { args, file, config: load(file) };
  } catch (err) {
    if (err instanceof ConfigError) {
      const n = err.issues.length;
      process.stderr.write(`${err.message}\n${file}: ${n} problem${n === 1 ? '' : 's'}\n`);
      return { exit: 1 };
    }
    throw err;
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
  /** The speaker whose state `/metrics` shows (when `metricsPort` is set). */
  speaker: Speaker;
  metricsPort?: number | undefined;
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
  const control = new ControlServer(o.socketPath, o.handler.handle);
  try {
    mkdirSync(dirname(o.socketPath), { recursive: true });
    await control.start();
    await o.start();
  } catch (err) {
    o.log.error({ err: (err as Error).message }, 'start-up failed');
    process.stderr.write(`tabby ${o.name}: ${(err as Error).message}\n`);
    await control.stop().catch(() => {});
    await o.stop().catch(() => {});
    return 1;
  }
  const metrics = o.metricsPort ? await serveMetrics(o.speaker, o.metricsPort) : null;
  o.log.info({ ...o.started, socket: o.socketPath }, `${o.name} started`);
  return new Promise<number>((resolve) => {
    const stop = async (signal: string) => {
      o.log.info({ signal }, 'shutting down');
      await o.stop();
      await control.stop();
      metrics?.close();
      // Give the NOTIFICATIONs a moment to leave before the process goes.
      setTimeout(() => resolve(0), 200);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    process.on('SIGHUP', () => {
      try {
        o.log.info({ ...(o.reload() as object) }, 'config reloaded');
      } catch (err) {
        o.log.error({ err: (err as Error).message }, 'config not reloaded; the running one stays');
      }
    });
  });
}
