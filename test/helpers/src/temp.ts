import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from './netns.js';

const RUN_PREFIX = 'tabby-run-';

/**
 * A temporary folder for one test run, named after this process: `tabby-run-<pid>-XXXXXX`.
 * Pointing TMPDIR at it makes every temporary file of the run (and of the processes it starts)
 * land there, so removing it at the end cleans up after every suite, even one that failed,
 * without touching what another run on the same machine is using.
 */
export function createRunTempDir(): string {
  return mkdtempSync(join(tmpdir(), `${RUN_PREFIX}${process.pid}-`));
}

/** Removes the run folders of test runs whose process is gone (killed before they cleaned up). */
export function sweepStaleRunDirs(): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    const m = new RegExp(`^${RUN_PREFIX}(\\d+)-`).exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
