import { spawn } from 'node:child_process';

/** Failure of a command run by the helpers: carries the command line, exit code and stderr. */
export class CommandError extends Error {
  readonly code = 'COMMAND_FAILED';
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`command failed (exit ${exitCode}): ${argv.join(' ')}\n${stderr.trim()}`);
    this.name = 'CommandError';
  }
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface ExecOptions {
  /** Resolve with the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  /** Kill the command after this many milliseconds (default 30 s). */
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs argv[0] with the rest as arguments (no shell) and collects its output. */
export function exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new TypeError('exec: empty argv');
  return new Promise((resolve, reject) => {
    const stdin = opts.input === undefined ? 'ignore' : 'pipe';
    const child = spawn(cmd, args, { stdio: [stdin, 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new CommandError(argv, null, stdout, `${stderr}${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const exitCode = code ?? (signal ? 128 : 1);
      if (exitCode !== 0 && !opts.allowFailure) reject(new CommandError(argv, exitCode, stdout, stderr));
      else resolve({ stdout, stderr, exitCode });
    });
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => {});
      child.stdin?.end(opts.input);
    }
  });
}
