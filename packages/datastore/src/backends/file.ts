import { closeSync, existsSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { KVPair } from '../datastore.js';
import { UnavailableError } from '../errors.js';
import { MemoryDatastore } from './memory.js';

/**
 * The memory datastore persisted to one JSON file: for a single user's CLI experiments
 * (`--datastore file:///tmp/tabby.json`). Not safe for concurrent processes.
 *
 * Writes are saved together: the file is rewritten soon after a write (when the event loop
 * turns, or later if the last save was slow: at most a fifth of the time goes to saving), and on
 * `close()`. A rewrite per write made applying n resources O(n²). A save that fails makes the
 * next write and `close()` fail with UnavailableError.
 */
export class FileDatastore extends MemoryDatastore {
  override readonly description: string;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private lastSave = { at: 0, took: 0 };
  private saveError: Error | undefined;

  constructor(readonly path: string) {
    super();
    this.description = `file://${path}`;
    if (existsSync(path)) this.load(JSON.parse(readFileSync(path, 'utf8')) as { revision: number; items: KVPair[] });
  }

  /** Writes pending changes to the file now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty) return;
    this.dirty = false;
    const started = Date.now();
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      // Written in pieces through one buffer: one JSON string of the whole store (and a buffer
      // for it) would add twice the store's size to the peak memory.
      const { revision, items } = this.pairs();
      const fd = openSync(tmp, 'w');
      try {
        const buf = Buffer.allocUnsafe(1 << 20);
        let used = 0;
        const put = (s: string) => {
          if (used + s.length * 3 > buf.length) {
            writeSync(fd, buf, 0, used);
            used = 0;
          }
          if (s.length * 3 > buf.length) writeSync(fd, s);
          else used += buf.write(s, used);
        };
        put(`{"revision":${revision},"items":[`);
        let first = true;
        for (const kv of items) {
          put(first ? JSON.stringify(kv) : `,${JSON.stringify(kv)}`);
          first = false;
        }
        put(']}');
        writeSync(fd, buf, 0, used);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
    } catch (err) {
      this.saveError = err as Error;
    }
    this.lastSave = { at: Date.now(), took: Date.now() - started };
  }

  private saved(): void {
    if (this.saveError) throw new UnavailableError(`${this.description}: cannot save: ${this.saveError.message}`);
  }

  private changed(): void {
    this.dirty = true;
    if (this.timer) return;
    // Saving takes time in proportion to the store; waiting four times as long as the last save
    // took keeps saving under a fifth of the time, however the writes come.
    const wait = Math.max(0, this.lastSave.at + 4 * this.lastSave.took - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  override async create(key: string, value: string): Promise<KVPair> {
    this.saved();
    const r = await super.create(key, value);
    this.changed();
    return r;
  }

  override async update(key: string, value: string, expectedRevision?: number): Promise<KVPair> {
    this.saved();
    const r = await super.update(key, value, expectedRevision);
    this.changed();
    return r;
  }

  override async delete(key: string, expectedRevision?: number): Promise<KVPair> {
    this.saved();
    const r = await super.delete(key, expectedRevision);
    this.changed();
    return r;
  }

  override async close(): Promise<void> {
    this.flush();
    await super.close();
    this.saved();
  }
}
