/** Stable codes for every error the template engine raises. */
export const TemplateErrorCode = {
  Parse: 'TEMPLATE_PARSE',
  Exec: 'TEMPLATE_EXEC',
  NoTemplate: 'TEMPLATE_NOT_DEFINED',
} as const;
export type TemplateErrorCode = (typeof TemplateErrorCode)[keyof typeof TemplateErrorCode];

/**
 * A template could not be parsed. The message follows Go's text/template:
 * `template: NAME:LINE: what was wrong`.
 */
export class TemplateParseError extends Error {
  readonly code = TemplateErrorCode.Parse;
  constructor(
    message: string,
    /** Name the template was parsed under. */
    readonly templateName: string,
    /** 1-based line of the offending token. */
    readonly line: number,
  ) {
    super(message);
    this.name = 'TemplateParseError';
  }
}

/**
 * Executing a template failed. The message follows Go's text/template:
 * `template: NAME:LINE:COL: executing "TEMPLATE" at <CONTEXT>: what was wrong`.
 */
export class TemplateExecError extends Error {
  readonly code = TemplateErrorCode.Exec;
  constructor(
    message: string,
    /** Name of the template being executed (a `define`d name when inside one). */
    readonly templateName: string,
    /** 1-based line, 0 when the error is not tied to a node. */
    readonly line: number,
    /** 0-based byte column in the line, as Go reports it. */
    readonly column: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TemplateExecError';
  }
}

/** `execute` named a template that the set does not hold. */
export class TemplateNotDefinedError extends Error {
  readonly code = TemplateErrorCode.NoTemplate;
  constructor(
    readonly templateName: string,
    readonly setName: string,
  ) {
    super(`template: no template "${templateName}" associated with template "${setName}"`);
    this.name = 'TemplateNotDefinedError';
  }
}

/**
 * Thrown by a template function to report a wrong number of arguments: the executor reports
 * it as Go does (`wrong number of args for len: want 1 got 2`), without "error calling".
 */
export class ArgumentCountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentCountError';
  }
}

/** Checks an argument count; `max` of -1 means variadic. */
export function checkArgs(name: string, args: readonly unknown[], min: number, max = min): void {
  if (args.length >= min && (max < 0 || args.length <= max)) return;
  if (args.length < min && max !== min) {
    throw new ArgumentCountError(`wrong number of args for ${name}: want at least ${min} got ${args.length}`);
  }
  if (max >= 0 && args.length > max && max !== min) {
    throw new ArgumentCountError(`wrong number of args for ${name}: want at most ${max} got ${args.length}`);
  }
  throw new ArgumentCountError(`wrong number of args for ${name}: want ${min} got ${args.length}`);
}
