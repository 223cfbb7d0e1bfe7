/** Timers and time, injected so the loop can be driven by a test. */
export interface Clock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

type LogFn = (obj: object | string, msg?: string) => void;

/** The pino-compatible subset of a logger that the loop uses. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const nop: LogFn = () => {};
/** A logger that drops everything. */
export const silentLogger: Logger = { debug: nop, info: nop, warn: nop, error: nop };
