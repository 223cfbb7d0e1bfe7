import type { Datastore, KVPair, Watcher, WatchOptions } from '../datastore.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { kindPrefix, parseResourceKey, resourceKey } from '../keys.js';
import { poolProblems } from './pools.js';
import {
  type CalicoNodeStatusResource,
  type CalicoNodeStatusStatus,
  type IPPoolResource,
  type Kind,
  NAMESPACED_KINDS,
  type ObjectMeta,
  type Resource,
  type ResourceOf,
} from './types.js';
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

/** The current time as ISO text; made once per millisecond (a bulk apply asks thousands of times). */
let isoAt = 0;
let isoText = '';
function isoNow(): string {
  const t = Date.now();
  if (t !== isoAt) {
    isoAt = t;
    isoText = new Date(t).toISOString();
  }
  return isoText;
}

function encode(r: Resource): string {
  const { resourceVersion: _rv, ...metadata } = r.metadata;
  return JSON.stringify({ ...r, metadata });
}

function comparable(r: Resource): string {
  return JSON.stringify({ labels: r.metadata.labels ?? {}, annotations: r.metadata.annotations ?? {}, spec: r.spec });
}

/** What applying `next` over the stored `old` (or nothing) does. */
export function planApply(next: Resource, old: Resource | undefined): ApplyAction {
  if (!old) return ApplyAction.Created;
  return comparable(old) === comparable(next) ? ApplyAction.Unchanged : ApplyAction.Configured;
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

  /** Validates and creates (AlreadyExistsError if it exists). An IP pool may not overlap another. */
  async create<R extends Resource>(doc: R | unknown): Promise<R> {
    const { resource } = validateResource(doc);
    if (resource.kind === 'IPPool') await this.checkPools([resource]);
    const r = await this.applyStored(resource, undefined);
    return r.resource as R;
  }

  /**
   * Validates and replaces; with `metadata.resourceVersion` set, only if unchanged since
   * (ConflictError). An IP pool's CIDR cannot change, and it may not overlap another pool.
   */
  async update<R extends Resource>(doc: R | unknown): Promise<R> {
    const { resource } = validateResource(doc);
    const key = this.key(resource);
    const cur = await this.ds.get(key);
    if (!cur) throw new NotFoundError(key);
    if (resource.kind === 'IPPool') await this.checkPools([resource]);
    const old = decode<Resource>(cur.value, cur.revision);
    resource.metadata.creationTimestamp = old.metadata.creationTimestamp;
    resource.metadata.uid = old.metadata.uid;
    keepStatus(resource, old);
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
      if (resource.kind === 'IPPool') await this.checkPools([resource]);
      try {
        return { ...(await this.applyStored(resource, cur)), warnings };
      } catch (err) {
        // Raced with another writer: re-read and try again, a few times.
        const code = (err as { code?: string }).code;
        if (attempt < 5 && (code === 'REVISION_CONFLICT' || code === 'ALREADY_EXISTS' || code === 'NOT_FOUND'))
          continue;
        throw err;
      }
    }
  }

  /**
   * Writes an already validated resource, given what the store held for its key when read
   * (`undefined`: nothing): creates it, updates it if that revision is still current, or leaves
   * it when labels, annotations and spec match. A writer in between makes it fail with
   * AlreadyExistsError or ConflictError. Pool rules are the caller's (`poolProblems`): `tabby
   * apply` checks a whole file against one listing of the pools.
   */
  async applyStored(resource: Resource, cur: KVPair | undefined): Promise<Omit<ApplyResult, 'warnings'>> {
    const key = this.key(resource);
    const { resourceVersion: _rv, ...rest } = resource.metadata;
    const metadata: ObjectMeta = rest;
    const next = { ...resource, metadata } as Resource;
    if (!cur) {
      metadata.creationTimestamp ??= isoNow();
      metadata.uid ??= crypto.randomUUID();
      const kv = await this.ds.create(key, JSON.stringify(next));
      metadata.resourceVersion = String(kv.revision);
      return { action: ApplyAction.Created, resource: next };
    }
    const old = decode<Resource>(cur.value, cur.revision);
    if (planApply(next, old) === ApplyAction.Unchanged) return { action: ApplyAction.Unchanged, resource: old };
    metadata.creationTimestamp = old.metadata.creationTimestamp;
    metadata.uid = old.metadata.uid;
    keepStatus(next, old);
    const kv = await this.ds.update(key, JSON.stringify(next), cur.revision);
    metadata.resourceVersion = String(kv.revision);
    return { action: ApplyAction.Configured, resource: next };
  }

  /**
   * Replaces the `status` of a CalicoNodeStatus (what the node agent reports), leaving its spec
   * and metadata as stored: compare-and-swap, read again and retried when another writer (an
   * apply of the spec) came in between. NotFoundError when the resource is gone.
   */
  async updateStatus(
    kind: 'CalicoNodeStatus',
    name: string,
    status: CalicoNodeStatusStatus,
  ): Promise<CalicoNodeStatusResource> {
    const key = resourceKey(kind, name);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.ds.get(key);
      if (!cur) throw new NotFoundError(key);
      const r = JSON.parse(cur.value) as CalicoNodeStatusResource;
      r.status = status;
      try {
        const kv = await this.ds.update(key, JSON.stringify(r), cur.revision);
        return decode<CalicoNodeStatusResource>(kv.value, kv.revision);
      } catch (err) {
        if (attempt < 5 && err instanceof ConflictError) continue;
        throw err;
      }
    }
  }

  /** Throws ValidationError when `pools` break the pool rules against the stored pools. */
  private async checkPools(pools: IPPoolResource[]): Promise<void> {
    const problems = poolProblems(pools, (await this.list('IPPool')).items);
    if (problems.length) {
      throw new ValidationError(
        `IPPool/${problems[0]!.name}`,
        problems.map((p) => p.problem),
      );
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

/** A status is the node agent's: writing the spec never changes it (Kubernetes' status subresource). */
function keepStatus(next: Resource, old: Resource): void {
  if (next.kind !== 'CalicoNodeStatus') return;
  const status = (old as CalicoNodeStatusResource).status;
  if (status) next.status = status;
  else delete next.status;
}

/** Decodes a stored resource value (from a watch event or list). */
export function parseResource<R extends Resource = Resource>(key: string, value: string, revision: number): R {
  if (!parseResourceKey(key)) throw new Error(`${key} is not a resource key`);
  return decode<R>(value, revision);
}
