import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { sweepTempDirs } from './temp.js';

it('sweepTempDirs removes the folders made since a time, and only those', async () => {
  const prefix = `tabby-sweeptest-${process.pid}-`;
  const old = mkdtempSync(join(tmpdir(), prefix));
  await new Promise((r) => setTimeout(r, 200));
  // File times come from a coarse kernel clock: allow for it, as the global teardown does.
  const since = Date.now() - 50;
  const fresh = mkdtempSync(join(tmpdir(), prefix));
  try {
    expect(sweepTempDirs(since, prefix)).toBe(1);
    expect(existsSync(fresh)).toBe(false);
    expect(existsSync(old)).toBe(true);
  } finally {
    rmSync(old, { recursive: true, force: true });
    rmSync(fresh, { recursive: true, force: true });
  }
});
