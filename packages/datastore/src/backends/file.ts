import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { KVPair } from '../datastore.js';
import { MemoryDatastore } from './memory.js';

/**
 * The memory datastore persisted to one JSON file after every write: for a single user's CLI
 * experiments (`--datastore file:///tmp/tabby.json`). Not safe for concurrent processes.
 */
export class FileDatastore extends MemoryDatastore {
  override readonly description: string;

  constructor(readonly path: string) {
    super();
    this.description = `file://${path}`;
    if (existsSync(path)) this.load(JSON.parse(readFileSync(path, 'utf8')) as { revision: number; items: KVPair[] });
  }

  private save(): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.dump()));
    renameSync(tmp, this.path);
  }

  override async create(key: string, value: string): Promise<KVPair> {
    const r = await super.create(key, value);
    this.save();
    return r;
  }

  override async update(key: string, value: string, expectedRevision?: number): Promise<KVPair> {
    const r = await super.update(key, value, expectedRevision);
    this.save();
    return r;
  }

  override async delete(key: string, expectedRevision?: number): Promise<KVPair> {
    const r = await super.delete(key, expectedRevision);
    this.save();
    return r;
  }
}
