import { readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Removes the `tabby-*` folders in the temporary directory that were created at or after `since`
 * (ms since the epoch): what a test run made there, even when a test failed before cleaning up.
 * Returns how many it removed.
 */
export function sweepTempDirs(since: number, prefix = 'tabby-'): number {
  let n = 0;
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(prefix)) continue;
    const path = join(tmpdir(), name);
    try {
      const st = statSync(path);
      if (!st.isDirectory() || st.birthtimeMs < since) continue;
      rmSync(path, { recursive: true, force: true });
      n += 1;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}
