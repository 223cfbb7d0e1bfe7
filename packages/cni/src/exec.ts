import { CommandFailedError, runCommand } from '@tabby/fib';
import { CniError, CniErrorCode } from './errors.js';

export type { RunResult } from '@tabby/fib';

/**
 * Runs argv (no shell) with the FIB's command runner. A non-zero exit (unless `allowFailure`)
 * or a command that cannot start becomes a CniError (InterfaceFailure by default) naming the
 * command and its stderr.
 */
export async function run(
  argv: readonly string[],
  opts: { input?: string; allowFailure?: boolean; timeoutMs?: number; code?: CniErrorCode } = {},
) {
  try {
    return await runCommand(argv, {
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.allowFailure !== undefined ? { allowFailure: opts.allowFailure } : {}),
      timeoutMs: opts.timeoutMs ?? 20_000,
    });
  } catch (err) {
    if (!(err instanceof CommandFailedError)) throw err;
    const what = opts.input ? `${argv.join(' ')} <<< ${opts.input.trim().replaceAll('\n', '; ')}` : argv.join(' ');
    const code = opts.code ?? CniErrorCode.InterfaceFailure;
    if (err.exitCode === null) throw new CniError(code, `cannot run ${argv[0]}: ${err.stderr}`);
    throw new CniError(code, `command failed (exit ${err.exitCode}): ${what}`, err.stderr.trim());
  }
}
