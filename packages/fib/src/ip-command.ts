import type { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { spawnBound } from './child-process.js';
import { CommandFailedError } from './errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs a command without a shell, feeding `input` on stdin. Rejects with `CommandFailedError`
 * on a non-zero exit unless `allowFailure`. With `spool`, a large standard output goes through a
 * deleted temporary file rather than a pipe (see `spoolFile`). With `onStdout`, the output is
 * handed over in pieces while the command runs (UTF-8, never split inside a character; from a
 * spool file every few milliseconds) and the result's `stdout` is empty. With `spoolInput`, the
 * input is written to a deleted temporary file first and the command reads that: it never waits
 * for this process (busy, or descheduled on a loaded machine) to refill a pipe.
 */
export function run(
  argv: readonly string[],
  opts: {
    input?: string | Iterable<string>;
    allowFailure?: boolean;
    timeoutMs?: number;
    spool?: boolean;
    spoolInput?: boolean;
    onStdout?: (text: string) => void;
  } = {},
): Promise<RunResult> {
  if (!argv[0]) throw new TypeError('run: empty argv');
  return new Promise((resolve, reject) => {
    let inFd: number | undefined;
    if (opts.input !== undefined && opts.spoolInput) {
      try {
        inFd = spoolInputFile(opts.input);
      } catch (e) {
        reject(new CommandFailedError(argv.slice(0, 8), null, `spooling its input: ${(e as Error).message}`));
        return;
      }
    }
    const spoolFd = opts.spool ? spoolFile() : undefined;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawnBound(argv, {
        stdio: [inFd ?? (opts.input === undefined ? 'ignore' : 'pipe'), spoolFd ?? 'pipe', 'pipe'],
      });
    } catch (e) {
      if (spoolFd !== undefined) closeSync(spoolFd);
      throw e;
    } finally {
      // The child has its own copy.
      if (inFd !== undefined) closeSync(inFd);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const onStdout = opts.onStdout;
    const decoder = onStdout ? new StringDecoder('utf8') : undefined;
    let consumerError: unknown;
    const hand = (b: Buffer | undefined): void => {
      if (!onStdout || !decoder || consumerError !== undefined) return;
      try {
        const text = b ? decoder.write(b) : decoder.end();
        if (text) onStdout(text);
      } catch (e) {
        consumerError = e;
      }
    };
    let spooled = 0;
    let pollBuf: Buffer | undefined;
    /** Hands over what the child has written to the spool file so far. */
    const drain = (): void => {
      if (spoolFd === undefined) return;
      pollBuf ??= Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const n = readSync(spoolFd, pollBuf, 0, pollBuf.length, spooled);
        if (n <= 0) return;
        spooled += n;
        hand(pollBuf.subarray(0, n));
      }
    };
    const poller = spoolFd !== undefined && onStdout ? setInterval(drain, 5) : undefined;
    if (onStdout) child.stdout?.on('data', (d: Buffer) => hand(d));
    else child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      if (poller) clearInterval(poller);
      if (spoolFd !== undefined) closeSync(spoolFd);
      reject(new CommandFailedError(argv, null, e.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (poller) clearInterval(poller);
      const exitCode = code ?? (signal ? 128 : 1);
      let stdout = '';
      if (spoolFd === undefined) {
        if (onStdout) hand(undefined);
        else stdout = Buffer.concat(out).toString('utf8');
      } else {
        try {
          if (onStdout) {
            drain();
            hand(undefined);
          } else stdout = readAll(spoolFd).toString('utf8');
        } catch (e) {
          reject(new CommandFailedError(argv.slice(0, 8), exitCode, `reading its output: ${(e as Error).message}`));
          return;
        } finally {
          closeSync(spoolFd);
        }
      }
      const stderr = Buffer.concat(err).toString('utf8');
      if (consumerError !== undefined) reject(consumerError);
      else if (exitCode !== 0 && !opts.allowFailure) reject(new CommandFailedError(argv.slice(0, 8), exitCode, stderr));
      else resolve({ stdout, stderr, exitCode });
    });
    const stdin = child.stdin;
    if (opts.input !== undefined && inFd === undefined && stdin) {
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

/** Free space a spool directory must have: far more than any routing table's text. */
const SPOOL_MIN_FREE = 256 * 1024 * 1024;

/** A new temporary file (in `/dev/shm`, else the temporary directory) with room to spare. */
function openSpool(): { fd: number; path: string } | undefined {
  for (const dir of ['/dev/shm', tmpdir()]) {
    try {
      const st = statfsSync(dir);
      if (st.bavail * st.bsize < SPOOL_MIN_FREE) continue;
      const path = join(dir, `.tabby-fib-${process.pid}-${Math.random().toString(36).slice(2)}`);
      return { fd: openSync(path, 'wx+', 0o600), path };
    } catch {}
  }
  return undefined;
}

/**
 * An open, already deleted temporary file for a child's standard output, or undefined when no
 * directory has room. A child writing a few megabytes into a file finishes in about half the time
 * it takes through a pipe, whose 4 KiB writes each wake the reader. The free-space check keeps a
 * full disk from silently truncating the output.
 */
export function spoolFile(): number | undefined {
  const f = openSpool();
  if (!f) return undefined;
  try {
    unlinkSync(f.path);
  } catch {
    closeSync(f.fd);
    return undefined;
  }
  return f.fd;
}

/**
 * Writes `input` to a deleted temporary file and returns a descriptor that reads it from the
 * start, or undefined when no directory has room (the caller then uses a pipe). Throws when a
 * write fails (the input may be a generator: it cannot be replayed into a pipe).
 */
function spoolInputFile(input: string | Iterable<string>): number | undefined {
  const f = openSpool();
  if (!f) return undefined;
  try {
    if (typeof input === 'string') writeAll(f.fd, input);
    else for (const piece of input) writeAll(f.fd, piece);
    return openSync(f.path, 'r');
  } finally {
    closeSync(f.fd);
    try {
      unlinkSync(f.path);
    } catch {}
  }
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function readAll(fd: number): Buffer {
  const size = fstatSync(fd).size;
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  return off === size ? buf : buf.subarray(0, off);
}
