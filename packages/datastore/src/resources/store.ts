import type { Datastore, Watcher, WatchOptions } from '../datastore.js';
import { NotFoundError } from '../errors.js';
import { kindPrefix, parseResourceKey, resourceKey } from '../keys.js';
import { type Kind, NAMESPACED_KINDS, type Resource, type ResourceOf } from './types.js';
import { validateResource } from './validate.js';

/** What `apply` did to one resource. */
export const ApplyAction = { Created: 'created', Configured: 'configured', Unchanged: 'unchanged' } as const;
export type ApplyAction = (typeof ApplyAction)[keyof typeof ApplyAction];

export interface ApplyResult {
  action: ApplyAction;
  resource: Resource;
  warnings: string[];
}

/** A resource as read: `metadata.resourceVersion` holds the store revision (pass it back to update for CAS). */
function decode<R extends Resource>(value: string, revision: number): R {
  const r = JSON.parse(value) as R;
  r.metadata.resourceVersion = String(revision);
  return r;
}

function encode(r: Resource): string {
  const { resourceVersion: _rv, ...metadata } = r.metadata;
  return JSON.stringify({ ...r, metadata });
}

function comparable(r: Resource): string {
  return JSON.stringify({ labels: r.metadata.labels ?? {}, annotations: r.metadata.annotations ?? {}, spec: r.spec });
}

/** Typed, validated access to Calico v3 resources on top of any Datastore. */
export class ResourceStore {
  constructor(readonly ds: Datastore) {}

  /** One resource, or undefined. */
  async get<K extends Kind>(kind: K, name: string, namespace?: string): Promise<ResourceOf<K> | undefined> {
    const kv = await this.ds.get(resourceKey(kind, name, namespace));
    return kv ? decode<ResourceOf<K>>(kv.value, kv.revision) : undefined;
  }

  /** Every resource of a kind (optionally one namespace), sorted by key. */
  async list<K extends Kind>(kind: K, namespace?: string): Promise<{ items: ResourceOf<K>[]; revision: number }> {
    const prefix = namespace && NAMESPACED_KINDS.has(kind) ? `${kindPrefix(kind)}${namespace}/` : kindPrefix(kind);
    const l = await this.ds.list(prefix);
    return { items: l.items.map((kv) => decode<ResourceOf<K>>(kv.value, kv.revision)), revision: l.revision };
  }

  /** Validates and creates (AlreadyExistsError if it exists). */
  async create<R extends Resource>(doc: R | unknown): Promise<R> {
    const { resource } = validateResource(doc);
    resource.metadata.creationTimestamp ??= new Date().toISOString();
    resource.metadata.uid ??= crypto.randomUUID();
    const kv = await this.ds.create(this.key(resource), encode(resource));
    return decode<R>(kv.value, kv.revision);
  }

  /** Validates and replaces; with `metadata.resourceVersion` set, only if unchanged since (ConflictError). */
  async update<R extends Resource>(doc: R | unknown): Promise<R> {
    const { resource } = validateResource(doc);
    const key = this.key(resource);
    const cur = await this.ds.get(key);
    if (!cur) throw new NotFoundError(key);
    const old = decode<Resource>(cur.value, cur.revision);
    resource.metadata.creationTimestamp = old.metadata.creationTimestamp;
    resource.metadata.uid = old.metadata.uid;
    const rv = resource.metadata.resourceVersion;
    const kv = await this.ds.update(key, encode(resource), rv === undefined ? cur.revision : Number(rv));
    return decode<R>(kv.value, kv.revision);
  }

  /** Creates or updates; `unchanged` when labels, annotations and spec already match. */
  async apply(doc: unknown): Promise<ApplyResult> {
    const { resource, warnings } = validateResource(doc);
    const key = this.key(resource);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.ds.get(key);
      try {
        if (!cur) {
          return { action: 'created', resource: await this.create(resource), warnings };
        }
        const old = decode<Resource>(cur.value, cur.revision);
        if (comparable(old) === comparable(resource)) return { action: 'unchanged', resource: old, warnings };
        const next = {
          ...resource,
          metadata: { ...resource.metadata, resourceVersion: String(cur.revision) },
        } as Resource;
        return { action: 'configured', resource: await this.update(next), warnings };
      } catch (err) {
        // Raced with another writer: re-read and try again, a few times.
        const code = (err as { code?: string }).code;
        if (attempt < 5 && (code === 'REVISION_CONFLICT' || code === 'ALREADY_EXISTS' || code === 'NOT_FOUND'))
          continue;
        throw err;
      }
    }
  }

  /** Deletes one resource; resolves with it. */
  async delete<K extends Kind>(
    kind: K,
    name: string,
    namespace?: string,
    expectedRevision?: number,
  ): Promise<ResourceOf<K>> {
    const kv = await this.ds.delete(resourceKey(kind, name, namespace), expectedRevision);
    return decode<ResourceOf<K>>(kv.value, kv.revision);
  }

  /** Watches one kind (raw events; decode values with `parseResource`). */
  watch(kind: Kind, opts?: WatchOptions): Watcher {
    return this.ds.watch(kindPrefix(kind), opts);
  }

  private key(r: Resource): string {
    return resourceKey(r.kind, r.metadata.name, r.metadata.namespace);
  }
}

/** Decodes a stored resource value (from a watch event or list). */
export function parseResource<R extends Resource = Resource>(key: string, value: string, revision: number): R {
  if (!parseResourceKey(key)) throw new Error(`${key} is not a resource key`);
  return decode<R>(value, revision);
}
