/** One key and its value, as confd's backends return them. Keys are absolute paths (`/a/b`). */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

/** Stops a watch. */
export type Unsubscribe = () => void;

/**
 * Where confd reads its keys: the structural interface a datastore's flat key/value view must
 * satisfy (Calico's `/calico/bgp/v1/...` layout). Nothing here depends on a particular backend.
 *
 * - `list(prefix)` returns every pair whose key is `prefix` or lies under `prefix + '/'`, in any
 *   order; confd sorts. It reflects the latest state the source has seen.
 * - `waitForSync()` resolves once the source holds a complete first snapshot ("in sync"); confd
 *   renders nothing before that, so a half-read datastore never produces a config.
 * - `watch(prefixes, onChange)` calls `onChange` after any change under one of the prefixes
 *   (calls may be coalesced; confd re-lists on each). It returns a function that stops the watch.
 */
export interface KeyValueSource {
  list(prefix: string): Promise<KeyValue[]>;
  waitForSync(signal?: AbortSignal): Promise<void>;
  watch(prefixes: readonly string[], onChange: () => void): Unsubscribe;
}

/** True when `key` is `prefix` itself or lies under it as a path. */
export function isUnderPrefix(key: string, prefix: string): boolean {
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (p === '') return true;
  return key === p || key.startsWith(`${p}/`);
}
