import { Etcd3, type Watcher as EtcdWatcher, type IKeyValue, type IOptions } from 'etcd3';
import type { Datastore, KVPair, ListResult, Watcher, WatchOptions } from '../datastore.js';
import { AlreadyExistsError, backendError, ConflictError, NotFoundError } from '../errors.js';
import { type Logger, nullLogger } from '../logger.js';
import { WatchQueue } from '../watch-queue.js';

export interface EtcdDatastoreOptions {
  /** Endpoints such as `http://127.0.0.1:2379` (`https://` with `tls`). */
  hosts: string[];
  /** TLS material (PEM buffers). */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  auth?: { username: string; password: string };
  /** Keys per list page. Default 1,000. */
  pageSize?: number;
  /** Unread events a watcher may hold before it is resynced instead. Default 100,000. */
  watcherBacklogLimit?: number;
  /** Anything else etcd3 accepts; wins over the above. */
  etcd?: Partial<IOptions>;
  logger?: Logger;
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;
type Backoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

// etcd3's default per-host circuit breaker keeps a host "open" for 5 s after three failures, which
// only delays recovery on a single-endpoint cluster; calls go straight through instead.
const passThrough = {
  execute: (fn: (ctx: { signal: AbortSignal; attempt: number }) => unknown) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 })),
} as unknown as Policy;
const backoff = (ms: number): Backoff =>
  ({ duration: ms, next: () => backoff(Math.min(ms * 2, 1000)) }) as unknown as Backoff;

/** The smallest key after every key starting with `p` (etcd's prefix range end). */
function prefixEnd(p: Buffer): Buffer {
  const end = Buffer.from(p);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

const str = (b: Buffer | string) => (typeof b === 'string' ? b : b.toString('utf8'));
const pair = (kv: IKeyValue): KVPair => ({ key: str(kv.key), value: str(kv.value), revision: Number(kv.mod_revision) });

/** etcd v3 backend: native revisions, transactions and watches (keys used as they are: Calico's layout). */
export class EtcdDatastore implements Datastore {
  readonly description: string;
  /** The etcd3 client, for operators and tests (compaction). */
  readonly client: Etcd3;
  private readonly log: Logger;
  private readonly watchers = new Set<WatchQueue>();
  private readonly pageSize: number;
  private readonly backlogLimit: number;

  constructor(opts: EtcdDatastoreOptions) {
    this.pageSize = opts.pageSize ?? 1000;
    this.backlogLimit = opts.watcherBacklogLimit ?? 100_000;
    this.description = `etcd ${opts.hosts.join(',')}`;
    this.log = opts.logger ?? nullLogger;
    this.client = new Etcd3({
      hosts: opts.hosts,
      ...(opts.tls
        ? { credentials: { rootCertificate: opts.tls.ca, privateKey: opts.tls.key, certChain: opts.tls.cert } }
        : {}),
      ...(opts.auth ? { auth: opts.auth } : {}),
      dialTimeout: 3000,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 10_000 }),
      faultHandling: { host: () => passThrough, watchBackoff: backoff(100) },
      ...opts.etcd,
    });
  }

  private async call<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw backendError(`${this.description}`, what, err);
    }
  }

  async get(key: string): Promise<KVPair | undefined> {
    const res = await this.call('get', () => this.client.get(key).exec());
    const kv = res.kvs[0];
    return kv ? pair(kv) : undefined;
  }

  /**
   * Lists a prefix in pages of `pageSize` keys, every page read at the first page's revision, so
   * the result is one consistent snapshot however large it is (and no response hits gRPC's size limit).
   */
  async list(prefix: string, revision?: number): Promise<ListResult> {
    const end = prefixEnd(Buffer.from(prefix));
    const items: KVPair[] = [];
    let start = Buffer.from(prefix);
    let rev = revision;
    for (;;) {
      const res = await this.call('list', () =>
        this.client.kv.range({
          key: start,
          range_end: end,
          limit: this.pageSize,
          sort_order: 'Ascend',
          sort_target: 'Key',
          ...(rev !== undefined ? { revision: rev } : {}),
        }),
      );
      rev ??= Number(res.header.revision);
      for (const kv of res.kvs) items.push(pair(kv));
      const last = res.kvs.at(-1);
      if (!res.more || !last) break;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { items, revision: rev ?? 0 };
  }

  async create(key: string, value: string): Promise<KVPair> {
    const res = await this.call('create', () =>
      this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(value)).commit(),
    );
    if (!res.succeeded) throw new AlreadyExistsError(key);
    return { key, value, revision: Number(res.header.revision) };
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KVPair> {
    const cmp =
      expectedRevision === undefined
        ? this.client.if(key, 'Create', '>', 0)
        : this.client.if(key, 'Mod', '==', expectedRevision);
    const res = await this.call('update', () =>
      cmp.then(this.client.put(key).value(value)).else(this.client.get(key)).commit(),
    );
    if (!res.succeeded) {
      const kv = res.responses[0]?.response_range?.kvs[0];
      if (!kv) throw new NotFoundError(key);
      throw new ConflictError(key, expectedRevision ?? 0, Number(kv.mod_revision));
    }
    return { key, value, revision: Number(res.header.revision) };
  }

  async delete(key: string, expectedRevision?: number): Promise<KVPair> {
    const k = Buffer.from(key);
    const compare =
      expectedRevision === undefined
        ? { key: k, target: 'Create' as const, result: 'Greater' as const, create_revision: '0' }
        : { key: k, target: 'Mod' as const, result: 'Equal' as const, mod_revision: String(expectedRevision) };
    const res = await this.call('delete', () =>
      this.client.kv.txn({
        compare: [compare],
        success: [{ request_delete_range: { key: k, prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (!res.succeeded) {
      const kv = res.responses[0]?.response_range?.kvs[0];
      if (!kv) throw new NotFoundError(key);
      throw new ConflictError(key, expectedRevision ?? 0, Number(kv.mod_revision));
    }
    const prev = res.responses[0]?.response_delete_range?.prev_kvs[0];
    if (!prev) throw new NotFoundError(key);
    return pair(prev);
  }

  async revision(): Promise<number> {
    const res = await this.call('revision', () => this.client.get('\0').exec());
    return Number(res.header.revision);
  }

  /** Compacts history up to `revision` (default: now); watchers resuming before it resync. */
  async compact(revision?: number): Promise<void> {
    const rev = revision ?? (await this.revision());
    await this.call('compact', () => this.client.kv.compact({ revision: String(rev), physical: true }));
  }

  watch(prefix: string, opts: WatchOptions = {}): Watcher {
    let resyncing = false;
    const q: WatchQueue = new WatchQueue(this.backlogLimit, () => {
      if (!resyncing) void resync('watcher fell too far behind');
    });
    this.watchers.add(q);
    let current: EtcdWatcher | null = null;
    const stopCurrent = () => {
      const w = current;
      current = null;
      void w?.cancel().catch(() => {});
    };
    q.onClose = () => {
      this.watchers.delete(q);
      stopCurrent();
    };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    // Starts an etcd watch after revision `after`. `pending` holds the changes (key → mod
    // revision, or -1 for a deletion) that must be delivered before `in-sync`; null: already synced.
    const start = async (after: number, pending: Map<string, number> | null, syncRev: number): Promise<void> => {
      let last = after;
      const w = await this.client
        .watch()
        .prefix(prefix)
        .startRevision(String(after + 1))
        .create();
      if (q.isClosed) {
        await w.cancel();
        return;
      }
      current = w;
      if (pending?.size === 0) {
        q.push({ type: 'in-sync', revision: syncRev });
        pending = null;
      }
      w.on('data', (res) => {
        if (current !== w) return;
        for (const ev of res.events) {
          const rev = Number(ev.kv.mod_revision);
          if (rev <= last) continue; // replayed after an etcd3 reconnect
          last = rev;
          const key = str(ev.kv.key);
          if (ev.type === 'Delete') q.push({ type: 'deleted', key, revision: rev }, true);
          else
            q.push(
              {
                type: ev.kv.create_revision === ev.kv.mod_revision ? 'added' : 'updated',
                key,
                value: str(ev.kv.value),
                revision: rev,
              },
              true,
            );
          if (pending) {
            const want = pending.get(key);
            if (want !== undefined && (want === rev || (want === -1 && ev.type === 'Delete' && rev <= syncRev))) {
              pending.delete(key);
            }
            if (pending.size === 0) {
              q.push({ type: 'in-sync', revision: Math.max(syncRev, rev) });
              pending = null;
            }
          }
        }
      });
      // The etcd3 client resumes a disconnected watch from the response header's revision, which
      // can be past events not yet delivered: a silent gap. Resume from our own last event instead.
      w.on('disconnected', (err: Error) => {
        if (current !== w) return;
        this.log.warn(
          { err: err.message, prefix, after: last },
          'etcd watch disconnected; resuming from the last event',
        );
        stopCurrent();
        void retrying(() => start(last, pending, syncRev));
      });
      w.on('error', (err: Error) => {
        if (current !== w) return;
        stopCurrent();
        // Compaction (or any cancelled watch): we cannot know what we missed.
        void resync(`etcd watch failed after revision ${last}: ${err.message}`);
      });
    };

    const retrying = async (f: () => Promise<void>) => {
      while (!q.isClosed) {
        try {
          return await f();
        } catch (err) {
          this.log.debug({ err: (err as Error).message, prefix }, 'etcd watch (re)start failed; retrying');
          await sleep(200);
        }
      }
    };
    const resync = async (reason: string) => {
      resyncing = true;
      stopCurrent();
      this.log.warn({ prefix, reason }, 'watcher resync');
      await retrying(async () => {
        const l = await this.list(prefix);
        if (q.isClosed) return;
        q.clear();
        q.push({ type: 'resync', reason });
        for (const kv of l.items) q.push({ type: 'added', key: kv.key, value: kv.value, revision: kv.revision });
        q.push({ type: 'in-sync', revision: l.revision });
        resyncing = false;
        await start(l.revision, null, l.revision);
      });
    };

    void retrying(async () => {
      const from = opts.fromRevision;
      if (from === undefined) {
        const l = await this.list(prefix);
        if (q.isClosed) return;
        for (const kv of l.items) q.push({ type: 'added', key: kv.key, value: kv.value, revision: kv.revision });
        q.push({ type: 'in-sync', revision: l.revision });
        return start(l.revision, null, l.revision);
      }
      // What changed between `from` and now tells us which events the replay must deliver before
      // in-sync (a read at `from` also fails exactly when that history is compacted).
      const now = await this.list(prefix);
      if (from >= now.revision) return start(from, new Map(), now.revision);
      let then: ListResult;
      try {
        then = from === 0 ? { items: [], revision: 0 } : await this.list(prefix, from);
      } catch (err) {
        if (/compacted/.test((err as Error).message)) return resync(`history after revision ${from} is compacted`);
        throw err;
      }
      const pending = new Map<string, number>();
      for (const kv of now.items) if (kv.revision > from) pending.set(kv.key, kv.revision);
      const present = new Set(now.items.map((kv) => kv.key));
      for (const kv of then.items) if (!present.has(kv.key)) pending.set(kv.key, -1);
      return start(from, pending, now.revision);
    });
    return q;
  }

  async close(): Promise<void> {
    for (const q of [...this.watchers]) q.close();
    this.client.close();
  }
}
