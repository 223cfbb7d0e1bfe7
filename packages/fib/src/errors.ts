/** Stable error codes of `@tabby/fib`. */
export const FibErrorCode = {
  InvalidCidr: 'FIB_INVALID_CIDR',
  InvalidRoute: 'FIB_INVALID_ROUTE',
  CommandFailed: 'FIB_COMMAND_FAILED',
  ReadBackFailed: 'FIB_READ_BACK_FAILED',
  Closed: 'FIB_CLOSED',
  InvalidInput: 'FIB_INVALID_INPUT',
} as const;
export type FibErrorCode = (typeof FibErrorCode)[keyof typeof FibErrorCode];

export class FibError extends Error {
  constructor(
    readonly code: FibErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A prefix or address that does not parse. */
export class InvalidCidrError extends FibError {
  constructor(readonly input: string) {
    super(FibErrorCode.InvalidCidr, `invalid prefix ${JSON.stringify(input)}: expected a.b.c.d/len or an IPv6 prefix`);
  }
}

/** A route target that cannot be programmed as given. */
export class InvalidRouteError extends FibError {
  constructor(
    readonly dst: string,
    reason: string,
  ) {
    super(FibErrorCode.InvalidRoute, `invalid route ${dst}: ${reason}`);
  }
}

/** An iproute2 command failed; carries its arguments and stderr. */
export class CommandFailedError extends FibError {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(
      FibErrorCode.CommandFailed,
      `command failed (exit ${exitCode}): ${argv.join(' ')}: ${stderr.trim() || 'no output'}; check that iproute2 is installed and the namespace exists`,
    );
  }
}

/** Kernel read-back output could not be understood. */
export class ReadBackError extends FibError {
  constructor(what: string, cause: string) {
    super(FibErrorCode.ReadBackFailed, `could not read back ${what}: ${cause}`);
  }
}

/** A method was called after `close()`. */
export class ClosedError extends FibError {
  constructor(what: string) {
    super(FibErrorCode.Closed, `${what} is closed; create a new one`);
  }
}

/** Manager input that is inconsistent (bad address, unknown mode). */
export class InvalidInputError extends FibError {
  constructor(what: string) {
    super(FibErrorCode.InvalidInput, what);
  }
}
