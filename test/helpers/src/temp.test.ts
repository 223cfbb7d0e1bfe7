import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createRunTempDir, sweepStaleRunDirs } from './temp.js';

it('run folders carry the run pid; the sweep removes those of dead runs only', () => {
  const mine = createRunTempDir();
  // A pid that is surely gone: a child that has already exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  }).stdout;
  const stale = join(tmpdir(), `tabby-run-${dead}-test`);
  mkdirSync(stale);
  try {
    expect(mine).toContain(`tabby-run-${process.pid}-`);
    const removed = sweepStaleRunDirs();
    expect(removed).toContain(`tabby-run-${dead}-test`);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(mine)).toBe(true);
  } finally {
    rmSync(mine, { recursive: true, force: true });
    rmSync(stale, { recursive: true, force: true });
  }
});
