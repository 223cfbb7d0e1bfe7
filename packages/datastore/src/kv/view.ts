import type { Datastore, WatchEvent, Watcher } from '../datastore.js';
import { ipamKeys, KEY_PREFIX, parseResourceKey } from '../keys.js';
import { type Logger, nullLogger } from '../logger.js';
import type { Kind, Resource } from '../resources/types.js';
import { WatchQueue } from '../watch-queue.js';
import { computeFlatView, type FlatViewInput } from './compute.js';

/** One flat key and its value. */
export interface KVEntry {
  key: string;
  value: string;
}

/**
 * confd's flat key/value view of the datastore (`/calico/bgp/v1/...`, `/calico/v1/ipam/...`,
 * `/calico/ipam/v2/host/...`): what templates `ls` and `getv`. Derived from the resources, never
 * stored; watchable with the same events as the Datastore (`added`/`updated`/`deleted` on flat
 * keys, `in-sync` after the initial view, `resync` when the underlying watch resynced).
 */
export interface FlatKvView {
  /** Every flat key under `prefix`, sorted by key. */
  list(prefix: string): Promise<KVEntry[]>;
  /** One flat key's value, or undefined. */
  get(key: string): Promise<string | undefined>;
  /** Watches flat keys under `prefix`: the whole view as `added`, `in-sync`, then changes. */
  watch(prefix: string): Watcher;
}

const SOURCES = [KEY_PREFIX.resources, ipamKeys.allAffinities()] as const;

/** The resource kinds the view is computed from. */
const VIEW_KINDS: ReadonlySet<Kind> = new Set<Kind>([
  'Node',
  'BGPConfiguration',
  'BGPPeer',
  'BGPFilter',
  'IPPool',
  'WorkloadEndpoint',
]);

function inputFrom(raw: Map<string, string>): FlatViewInput {
  const input: FlatViewInput = {
    nodes: [],
    bgpConfigurations: [],
    bgpPeers: [],
    bgpFilters: [],
    ipPools: [],
    affinities: [],
    workloadEndpoints: [],
  };
  for (const [key, value] of raw) {
    if (key.startsWith(ipamKeys.allAffinities())) {
      input.affinities.push({ key, value });
      continue;
    }
    const id = parseResourceKey(key);
    if (!id) continue;
    let r: Resource;
    try {
      r = JSON.parse(value) as Resource;
    } catch {
      continue;
    }
    if (r.kind === 'Node') input.nodes.push(r);
    else if (r.kind === 'BGPConfiguration') input.bgpConfigurations.push(r);
    else if (r.kind === 'BGPPeer') input.bgpPeers.push(r);
    else if (r.kind === 'BGPFilter') input.bgpFilters?.push(r);
    else if (r.kind === 'IPPool') input.ipPools.push(r);
    else if (r.kind === 'WorkloadEndpoint') input.workloadEndpoints?.push(r);
  }
  return input;
}

/** Builds the flat view over a datastore. */
export function createFlatKvView(ds: Datastore, opts: { logger?: Logger } = {}): FlatKvView {
  const log = opts.logger ?? nullLogger;
  const snapshot = async () => {
    const raw = new Map<string, string>();
    for (const p of SOURCES) for (const kv of (await ds.list(p)).items) raw.set(kv.key, kv.value);
    return computeFlatView(inputFrom(raw));
  };
  return {
    async list(prefix) {
      return [...(await snapshot())].filter(([k]) => k.startsWith(prefix)).map(([key, value]) => ({ key, value }));
    },
    async get(key) {
      return (await snapshot()).get(key);
    },
    watch(prefix) {
      const q = new WatchQueue();
      const raw = new Map<string, string>();
      let view = new Map<string, string>();
      const watchers = SOURCES.map((p) => ds.watch(p));
      const synced = new Set<number>();
      let everSynced = false;
      let revision = 0;
      q.onClose = () => {
        for (const w of watchers) w.close();
      };
      const emitDiff = () => {
        const next = new Map([...computeFlatView(inputFrom(raw))].filter(([k]) => k.startsWith(prefix)));
        for (const [k, v] of next) {
          const old = view.get(k);
          if (old === undefined) q.push({ type: 'added', key: k, value: v, revision });
          else if (old !== v) q.push({ type: 'updated', key: k, value: v, revision });
        }
        for (const k of view.keys()) if (!next.has(k)) q.push({ type: 'deleted', key: k, revision });
        view = next;
      };
      const onEvent = (i: number, e: WatchEvent) => {
        const src = SOURCES[i] as string;
        if (e.type === 'resync') {
          for (const k of [...raw.keys()]) if (k.startsWith(src)) raw.delete(k);
          synced.delete(i);
          if (everSynced) {
            q.push({ type: 'resync', reason: e.reason });
            view = new Map();
            everSynced = false;
          }
          return;
        }
        if (e.type === 'in-sync') {
          synced.add(i);
          revision = Math.max(revision, e.revision);
          if (synced.size === SOURCES.length && !everSynced) {
            everSynced = true;
            emitDiff();
            q.push({ type: 'in-sync', revision });
          }
          return;
        }
        revision = Math.max(revision, e.revision);
        // Kinds the view does not read (a CalicoNodeStatus the agents rewrite every few seconds).
        const kind = parseResourceKey(e.key)?.kind;
        if (kind && !VIEW_KINDS.has(kind)) return;
        if (e.type === 'deleted') raw.delete(e.key);
        else raw.set(e.key, e.value);
        if (everSynced) emitDiff();
      };
      watchers.forEach((w, i) => {
        void (async () => {
          try {
            for await (const e of w) onEvent(i, e);
          } catch (err) {
            log.error({ err: (err as Error).message }, 'flat view watch failed');
            q.fail(err as Error);
          }
        })();
      });
      return q;
    },
  };
}
