import { rmSync } from 'node:fs';
import { createRunTempDir, isRoot, sweepStaleNamespaces, sweepStaleRunDirs } from '@tabby/test-helpers';

/**
 * Before any suite: remove namespaces (and their processes) and temporary folders left by a test
 * run that died, then give this run a temporary folder of its own (TMPDIR, inherited by the test
 * workers and the daemons they start). After the run: remove that folder.
 */
export default async function setup(): Promise<() => void> {
  if (isRoot()) {
    const removed = await sweepStaleNamespaces();
    if (removed.length) console.warn(`removed ${removed.length} stale test namespace(s): ${removed.join(', ')}`);
  }
  sweepStaleRunDirs();
  const dir = createRunTempDir();
  process.env.TMPDIR = dir;
  return () => {
    rmSync(dir, { recursive: true, force: true });
  };
}
