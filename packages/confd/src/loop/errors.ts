/** The check command rejected a staged file; the destination was left as it was. */
export class CheckFailedError extends Error {
  readonly code = 'CONFD_CHECK_FAILED';
  constructor(
    readonly resource: string,
    readonly command: string,
    readonly exitCode: number,
    readonly output: string,
  ) {
    super(
      `${resource}: check command failed (exit ${exitCode}), keeping the old file: ${command}${output ? `\n${output.trimEnd()}` : ''}`,
    );
    this.name = 'CheckFailedError';
  }
}

/** The destination was updated but the reload command failed; it is retried. */
export class ReloadFailedError extends Error {
  readonly code = 'CONFD_RELOAD_FAILED';
  constructor(
    readonly resource: string,
    readonly command: string,
    readonly exitCode: number,
    readonly output: string,
  ) {
    super(`${resource}: reload command failed (exit ${exitCode}): ${command}${output ? `\n${output.trimEnd()}` : ''}`);
    this.name = 'ReloadFailedError';
  }
}
