import type { Logger } from '../logger.js';

/** One line a `CaptureLogger` received. */
export interface CapturedLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: Record<string, unknown>;
}

/** A Logger that keeps every line, for tests that assert what an operator would read. */
export class CaptureLogger implements Logger {
  readonly lines: CapturedLine[] = [];
  debug(obj: object, msg = ''): void {
    this.lines.push({ level: 'debug', msg, obj: obj as Record<string, unknown> });
  }
  info(obj: object, msg = ''): void {
    this.lines.push({ level: 'info', msg, obj: obj as Record<string, unknown> });
  }
  warn(obj: object, msg = ''): void {
    this.lines.push({ level: 'warn', msg, obj: obj as Record<string, unknown> });
  }
  error(obj: object, msg = ''): void {
    this.lines.push({ level: 'error', msg, obj: obj as Record<string, unknown> });
  }
  /** Lines with this message (at any level). */
  named(msg: string): CapturedLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }
}
