import { spawn } from 'node:child_process';
import { CommandFailedError } from './errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs a command without a shell, feeding `input` on stdin. Rejects with `CommandFailedError`
 * on a non-zero exit unless `allowFailure`.
 */
export function run(
  argv: readonly string[],
  opts: { input?: string | Iterable<string>; allowFailure?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new TypeError('run: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CommandFailedError(argv, null, e.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const exitCode = code ?? (signal ? 128 : 1);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (exitCode !== 0 && !opts.allowFailure) reject(new CommandFailedError(argv.slice(0, 8), exitCode, stderr));
      else resolve({ stdout, stderr, exitCode });
    });
    const stdin = child.stdin;
    if (opts.input !== undefined && stdin) {
      stdin.on('error', () => {});
      if (typeof opts.input === 'string') stdin.end(opts.input);
      else {
        // Pieces are produced while the child already works on the earlier ones.
        const it = opts.input[Symbol.iterator]();
        const pump = (): void => {
          for (;;) {
            const n = it.next();
            if (n.done) {
              stdin.end();
              return;
            }
            if (!stdin.write(n.value)) {
              stdin.once('drain', pump);
              return;
            }
          }
        };
        pump();
      }
    }
  });
}

/**
 * Splits the stderr of `ip -force -batch` into per-line errors: iproute2 prints the error text,
 * then `Command failed -:N` with the 1-based batch line.
 */
export function parseBatchErrors(stderr: string): Map<number, string> {
  const out = new Map<number, string>();
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed (?:-|\S+):(\d+)\s*$/.exec(line);
    if (m) {
      out.set(Number(m[1]), pending.join('; ').trim() || 'failed');
      pending = [];
    } else if (line.trim()) pending.push(line.trim());
  }
  return out;
}
