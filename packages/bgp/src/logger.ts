/** The subset of pino's logger the libraries use; daemons pass a real pino logger. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child?(bindings: object): Logger;
}

/** Discards everything (the default for tests and embedding). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export function childLogger(log: Logger, bindings: object): Logger {
  return log.child ? log.child(bindings) : log;
}
