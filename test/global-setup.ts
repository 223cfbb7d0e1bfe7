import { isRoot, sweepStaleNamespaces } from '@tabby/test-helpers';

/** Before any suite: remove namespaces (and their processes) left by a test run that died. */
export default async function setup(): Promise<void> {
  if (!isRoot()) return;
  const removed = await sweepStaleNamespaces();
  if (removed.length) console.warn(`removed ${removed.length} stale test namespace(s): ${removed.join(', ')}`);
}
