import type { FlatKvView } from '@tabby/datastore';
import { isUnderPrefix, type KeyValue, type KeyValueSource, type Unsubscribe } from './key-value-source.js';

/**
 * The datastore's flat key/value view (`createFlatKvView`) as confd's key source. One watch on
 * `/calico/` feeds the in-sync signal and every change notification; rendering waits for the
 * first in-sync, so a half-read datastore never produces a config.
 */
export class FlatViewSource implements KeyValueSource {
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private readonly listeners = new Set<{ prefixes: readonly string[]; onChange: () => void }>();
  private readonly watcher;

  constructor(private readonly view: FlatKvView) {
    this.watcher = view.watch('/calico/');
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      for await (const ev of this.watcher) {
        if (ev.type === 'in-sync') {
          if (!this.synced) {
            this.synced = true;
            for (const w of this.syncWaiters.splice(0)) w();
          }
          continue;
        }
        if (!this.synced) continue;
        for (const l of this.listeners) {
          if (ev.type === 'resync' || l.prefixes.some((p) => isUnderPrefix(ev.key, p))) l.onChange();
        }
      }
    } catch {
      // The watcher was closed.
    }
  }

  list(prefix: string): Promise<KeyValue[]> {
    return this.view.list(prefix).then((items) => items.filter((kv) => isUnderPrefix(kv.key, prefix)));
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => reject(signal.reason ?? new Error('aborted')), { once: true });
    });
  }

  watch(prefixes: readonly string[], onChange: () => void): Unsubscribe {
    const l = { prefixes, onChange };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  close(): void {
    this.watcher.close();
  }
}
