import { isUnderPrefix, type KeyValue, type KeyValueSource, type Unsubscribe } from './key-value-source.js';

interface Watcher {
  prefixes: readonly string[];
  onChange: () => void;
}

/**
 * An in-memory KeyValueSource: for tests, for `tabby confd --keys FILE`, and as the shape an
 * adapter over the datastore's flat view can follow. Starts out of sync unless `inSync` is set.
 */
export class MemoryKeyValueSource implements KeyValueSource {
  private readonly data = new Map<string, string>();
  private readonly watchers = new Set<Watcher>();
  private synced = false;
  private readonly syncWaiters: Array<() => void> = [];

  constructor(initial: Iterable<KeyValue> | Record<string, string> = [], options: { inSync?: boolean } = {}) {
    const pairs =
      Symbol.iterator in initial ? initial : Object.entries(initial).map(([key, value]) => ({ key, value }));
    for (const { key, value } of pairs as Iterable<KeyValue>) this.data.set(key, value);
    if (options.inSync) this.markInSync();
  }

  async list(prefix: string): Promise<KeyValue[]> {
    const out: KeyValue[] = [];
    for (const [key, value] of this.data) if (isUnderPrefix(key, prefix)) out.push({ key, value });
    return out;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => resolve();
      this.syncWaiters.push(done);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.syncWaiters.indexOf(done);
          if (i >= 0) this.syncWaiters.splice(i, 1);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  watch(prefixes: readonly string[], onChange: () => void): Unsubscribe {
    const w: Watcher = { prefixes: [...prefixes], onChange };
    this.watchers.add(w);
    return () => {
      this.watchers.delete(w);
    };
  }

  /** Declares the first snapshot complete. */
  markInSync(): void {
    if (this.synced) return;
    this.synced = true;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  get(key: string): string | undefined {
    return this.data.get(key);
  }

  /** Sets one key (notifies watchers when the value changed). */
  set(key: string, value: string): void {
    this.apply([{ key, value }], []);
  }

  delete(key: string): void {
    this.apply([], [key]);
  }

  /** Replaces the whole content, notifying watchers of what changed. */
  replaceAll(pairs: Iterable<KeyValue>): void {
    const next = new Map<string, string>();
    for (const { key, value } of pairs) next.set(key, value);
    const removed = [...this.data.keys()].filter((k) => !next.has(k));
    this.apply(
      [...next].map(([key, value]) => ({ key, value })),
      removed,
    );
  }

  private apply(sets: KeyValue[], deletes: string[]): void {
    const changed: string[] = [];
    for (const { key, value } of sets) {
      if (this.data.get(key) === value) continue;
      this.data.set(key, value);
      changed.push(key);
    }
    for (const key of deletes) if (this.data.delete(key)) changed.push(key);
    if (changed.length === 0 || !this.synced) return;
    for (const w of [...this.watchers]) {
      if (changed.some((k) => w.prefixes.some((p) => isUnderPrefix(k, p)))) w.onChange();
    }
  }
}
