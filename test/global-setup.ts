import { isRoot, sweepStaleNamespaces, sweepTempDirs } from '@tabby/test-helpers';

/**
 * Before any suite: remove namespaces (and their processes) left by a test run that died.
 * After the run: remove the temporary folders the suites made (daemon configs, sockets, data).
 */
export default async function setup(): Promise<() => void> {
  const started = Date.now() - 1000;
  if (isRoot()) {
    const removed = await sweepStaleNamespaces();
    if (removed.length) console.warn(`removed ${removed.length} stale test namespace(s): ${removed.join(', ')}`);
  }
  return () => {
    sweepTempDirs(started);
  };
}
