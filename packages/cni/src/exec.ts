import { spawn } from 'node:child_process';
import { CniError, CniErrorCode } from './errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs argv (no shell) and collects its output. Throws a CniError (InterfaceFailure by default)
 * naming the command and its stderr when it exits non-zero, unless `allowFailure`.
 */
export function run(
  argv: readonly string[],
  opts: { input?: string; allowFailure?: boolean; timeoutMs?: number; code?: CniErrorCode } = {},
): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new TypeError('run: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new CniError(opts.code ?? CniErrorCode.InterfaceFailure, `cannot run ${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const exitCode = code ?? (signal ? 128 : 1);
      if (exitCode !== 0 && !opts.allowFailure) {
        const what = opts.input ? `${argv.join(' ')} <<< ${opts.input.trim().replaceAll('\n', '; ')}` : argv.join(' ');
        reject(
          new CniError(
            opts.code ?? CniErrorCode.InterfaceFailure,
            `command failed (exit ${exitCode}): ${what}`,
            stderr.trim(),
          ),
        );
      } else resolve({ stdout, stderr, exitCode });
    });
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => {});
      child.stdin?.end(opts.input);
    }
  });
}
