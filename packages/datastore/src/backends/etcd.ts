import {
  Etcd3,
  type Watcher as EtcdWatcher,
  type IKeyValue,
  type IOptions,
  type IResponseHeader,
  type IWatchResponse,
} from 'etcd3';
import type {
  Datastore,
  DatastoreHealth,
  DatastoreStats,
  KVPair,
  ListResult,
  Watcher,
  WatchOptions,
} from '../datastore.js';
import { AlreadyExistsError, backendError, ConflictError, NotFoundError, UnavailableError } from '../errors.js';
import { HealthTracker } from '../health.js';
import { type Logger, nullLogger } from '../logger.js';
import { WatchQueue, WatchStats } from '../watch-queue.js';

export interface EtcdDatastoreOptions {
  /**
   * Member endpoints such as `http://127.0.0.1:2379` (`https://` with `tls`). Requests go to one
   * preferred member (the first at start) and fail over to the next when it cannot be reached.
   */
  hosts: string[];
  /** TLS material (PEM buffers). */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  auth?: { username: string; password: string };
  /** Keys per list page. Default 1,000. */
  pageSize?: number;
  /** Unread events a watcher may hold before it is resynced instead. Default 100,000. */
  watcherBacklogLimit?: number;
  /**
   * A request (get, a list page, create, ...) without an answer after this many ms fails with
   * UNAVAILABLE, failover included; the message says why (members unreachable, no quorum).
   * Default 5,000.
   */
  requestTimeoutMs?: number;
  /** How often the cluster is checked (reachable? quorum? reset?), in ms. Default 1,000. */
  checkIntervalMs?: number;
  /** Anything else etcd3 accepts, for every member's client; wins over the above. */
  etcd?: Partial<IOptions>;
  logger?: Logger;
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;
type Backoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

// etcd3's default policies retry a failed call (a write too, even when it may have been applied)
// and keep a host "open" for 5 s after three failures. Failover is done here instead, one client
// per member, so every call goes straight through.
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The request never reached the member (no connection), so sending it elsewhere is safe, even a write. */
const NOT_SENT = /No connection established|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/;
/** The member did not answer in time: it is down without refusing connections, or it has no leader. */
const NO_ANSWER = /DEADLINE_EXCEEDED|Deadline exceeded|context deadline exceeded|request timed out/;
/** etcd refused the request, unapplied, for want of a leader (an election is on, or no quorum). */
const LEADERLESS =
  /raft proposal dropped|etcdserver: no leader|etcdserver: leader changed|etcdserver: too many requests/;

/** What a member said when asked for its status (see `diagnosis`). */
export interface MemberStatus {
  label: string;
  /** Why it did not answer; undefined when it did. */
  unreachable?: string;
  /** It answered and names a leader. */
  leader?: boolean;
  /** What it said besides, when it names no leader. */
  note?: string;
}

/**
 * One line on the state of the cluster from every member's status, and the index of a member that
 * names a leader (to try next). A member names its leader until its election timeout (1 s by
 * default) after losing it: with a majority unreachable there is no quorum, whatever the rest say.
 */
export function diagnosis(members: readonly MemberStatus[]): { reason: string; withLeader?: number } {
  const parts = members.map((r) =>
    r.unreachable !== undefined
      ? `${r.label} unreachable (${r.unreachable})`
      : `${r.label} ${r.leader ? 'has a leader' : `answers but has ${r.note}`}`,
  );
  const all = parts.join('; ');
  const n = members.length;
  const down = members.filter((r) => r.unreachable !== undefined).length;
  const withLeader = members.findIndex((r) => r.leader);
  if (withLeader >= 0) {
    if (n > 1 && down * 2 >= n) {
      const why = `${down} of ${n} etcd members unreachable: the cluster lost quorum, or this host is cut off from it`;
      return { reason: `${why} (${all})`, withLeader };
    }
    return { reason: all, withLeader };
  }
  if (down < n) return { reason: `no etcd member has a leader: the cluster lost quorum (${all})` };
  return { reason: `no etcd member reachable (${all})` };
}

/** gRPC's long error text, cut to what an operator needs (`connect ECONNREFUSED 127.0.0.1:2379`). */
function brief(err: unknown): string {
  const m = message(err);
  const conn = /connect E[A-Z]+ \S+?(?=[.,;]?\s|$)/.exec(m);
  if (conn) return conn[0];
  return m.replace(/\s+/g, ' ').slice(0, 160);
}

interface Member {
  endpoint: string;
  /** `host:port`, for messages. */
  label: string;
  client: Etcd3;
}

/** What one watcher offers the datastore: resync it (store reset), move it (preferred member changed). */
interface WatchControl {
  resync(reason: string): void;
  move(): void;
}

/**
 * etcd v3 backend: native revisions, transactions and watches (keys used as they are: Calico's
 * layout), over one client per member with failover, a health check and reset detection.
 */
export class EtcdDatastore implements Datastore {
  readonly description: string;
  private readonly members: Member[];
  private preferred = 0;
  private readonly log: Logger;
  private readonly watchers = new Map<WatchQueue, WatchControl>();
  private readonly pageSize: number;
  private readonly backlogLimit: number;
  private readonly timeoutMs: number;
  private readonly healthState: HealthTracker;
  private readonly checkTimer: NodeJS.Timeout;
  private checking: Promise<void> | null = null;
  /** The cluster this datastore talks to, and the highest revision it has seen there. */
  private clusterId: string | undefined;
  private mark = 0;
  /** Bumped by every detected reset: watchers that read before it feed no revisions. */
  private resets = 0;
  private closed = false;

  constructor(opts: EtcdDatastoreOptions) {
    if (!opts.hosts.length) throw new Error('EtcdDatastore: no hosts');
    this.pageSize = opts.pageSize ?? 1000;
    this.backlogLimit = opts.watcherBacklogLimit ?? 100_000;
    this.timeoutMs = opts.requestTimeoutMs ?? 5000;
    this.description = `etcd ${opts.hosts.join(',')}`;
    this.log = opts.logger ?? nullLogger;
    this.healthState = new HealthTracker(this.description, this.log);
    this.members = opts.hosts.map((endpoint) => ({
      endpoint,
      label: endpoint.replace(/^https?:\/\//, ''),
      client: new Etcd3({
        hosts: [endpoint],
        ...(opts.tls
          ? { credentials: { rootCertificate: opts.tls.ca, privateKey: opts.tls.key, certChain: opts.tls.cert } }
          : {}),
        ...(opts.auth ? { auth: opts.auth } : {}),
        dialTimeout: 3000,
        defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.timeoutMs }),
        faultHandling: { host: () => passThrough, global: passThrough, watchBackoff: backoff(100) },
        ...opts.etcd,
      }),
    }));
    this.checkTimer = setInterval(() => void this.check(), opts.checkIntervalMs ?? 1000);
    this.checkTimer.unref();
    void this.check();
  }

  private readonly watchStats = new WatchStats();
  stats(): DatastoreStats {
    return { ...this.healthState.outageStats(), ...this.watchStats.snapshot() };
  }

  health(): DatastoreHealth {
    return this.healthState.current;
  }

  onHealth(listener: (h: DatastoreHealth) => void): () => void {
    return this.healthState.subscribe(listener);
  }

  private get current(): Member {
    return this.members[this.preferred] as Member;
  }

  /** Makes `m` the preferred member; watchers move to it. */
  private prefer(m: Member, why: string): void {
    if (this.current === m) return;
    this.log.info(
      { datastore: this.description, member: m.label, from: this.current.label, why },
      'etcd: using member',
    );
    this.preferred = this.members.indexOf(m);
    for (const w of this.watchers.values()) w.move();
  }

  /**
   * Runs `f` on the preferred member. A member that cannot be reached (nothing was sent: safe
   * for writes too; for reads any UNAVAILABLE) is passed over for the next one; a member without
   * a leader just now (an election: etcd dropped the request) is asked again a moment later. A
   * member that answers is preferred from then on. Fails with UNAVAILABLE after `timeoutMs` in
   * all, saying why: every member unreachable, or no answer (and then which members have a
   * leader, from their status).
   */
  private async call<T>(
    what: string,
    read: boolean,
    f: (client: Etcd3, opts: { deadline: number }) => Promise<T>,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    // Up to half a second is kept for asking the members what is wrong when nobody answers.
    const attemptDeadline = deadline - Math.min(500, timeoutMs / 4);
    const unreachable: string[] = [];
    const resets = this.resets;
    let m = this.current;
    const noAnswer = async (detail: string) => {
      const d = await this.diagnose(deadline - Date.now());
      if (d.withLeader && d.withLeader !== m) this.prefer(d.withLeader, `${m.label} did not answer`);
      const unknown = read ? '' : ' (it may or may not have been applied)';
      return new UnavailableError(`${this.description}: ${what} failed${unknown}: ${detail}; ${d.reason}`);
    };
    for (;;) {
      try {
        const r = await f(m.client, { deadline: attemptDeadline });
        this.prefer(m, unreachable.length ? unreachable.join('; ') : 'it answered');
        const header = (r as { header?: IResponseHeader }).header;
        if (header) this.noteRevision(Number(header.revision), resets);
        return r;
      } catch (err) {
        const msg = message(err);
        if (NO_ANSWER.test(msg))
          throw await noAnswer(`no answer from ${m.label} within ${(timeoutMs / 1000).toFixed(1)} s`);
        if (NOT_SENT.test(msg) || (read && /UNAVAILABLE/.test(msg))) {
          unreachable.push(`${m.label}: ${brief(err)}`);
          const next = this.members[(this.members.indexOf(m) + 1) % this.members.length] as Member;
          if (unreachable.length >= this.members.length || Date.now() >= attemptDeadline) {
            const all = this.members.length > 1 ? 'no member reachable: ' : '';
            throw new UnavailableError(`${this.description}: ${what} failed: ${all}${unreachable.join('; ')}`);
          }
          m = next;
          continue;
        }
        // A write whose connection broke after it was sent: etcd may have applied it.
        if (/UNAVAILABLE/.test(msg)) throw await noAnswer(`${m.label}: ${brief(err)}`);
        if (LEADERLESS.test(msg)) {
          if (Date.now() + 200 >= attemptDeadline) throw await noAnswer(`${m.label}: ${brief(err)}`);
          await sleep(200);
          continue;
        }
        throw backendError(this.description, what, err);
      }
    }
  }

  /**
   * Asks every member for its status (within `budgetMs`): which are reachable, which have a
   * leader. `reason` is one line for messages and `health().lastError`.
   */
  private async diagnose(budgetMs: number): Promise<{ reason: string; withLeader?: Member }> {
    const deadline = Date.now() + Math.max(budgetMs, 100);
    const results = await Promise.all(
      this.members.map(async (m) => {
        try {
          const s = await m.client.maintenance.status({ deadline });
          return { m, leader: String(s.leader) !== '0' && !s.errors.length, note: s.errors.join(', ') || 'no leader' };
        } catch (err) {
          return { m, unreachable: brief(err) };
        }
      }),
    );
    const { reason, withLeader } = diagnosis(results.map((r) => ({ ...r, label: r.m.label })));
    return { reason, ...(withLeader !== undefined ? { withLeader: results[withLeader]!.m } : {}) };
  }

  private check(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.checking ??= this.runCheck().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  /**
   * A linearizable read (it needs a quorum) on the preferred member. Its header tells whether the
   * store reset since the last check: another cluster ID, or a revision below one already seen
   * (restored from a backup, or a member's data wiped into a new cluster): every watcher resyncs.
   */
  private async runCheck(): Promise<void> {
    const before = this.mark;
    const clusterBefore = this.clusterId;
    const preferred = this.preferred;
    let header: IResponseHeader;
    try {
      header = await this.revisionHeader();
    } catch (err) {
      if (this.closed) return;
      // The preferred member did not answer but another one has a leader: try that one at once.
      try {
        if (this.preferred === preferred) throw err;
        header = await this.revisionHeader();
      } catch (err2) {
        // Without the description: health().lastError goes next to it (logs, readiness).
        if (!this.closed) this.healthState.down(message(err2).replace(`${this.description}: `, ''));
        return;
      }
    }
    if (this.closed) return;
    this.healthState.up();
    const rev = Number(header.revision);
    let reason: string | undefined;
    // IDs are 64-bit: compared as strings (etcd3 hands out strings, or lossy numbers when its
    // protobuf library runs without `long`).
    const cluster = String(header.cluster_id);
    if (clusterBefore !== undefined && cluster !== clusterBefore)
      reason = `the etcd cluster ID changed from ${clusterBefore} to ${cluster} (another or a restored cluster)`;
    else if (rev < before)
      reason = `the etcd revision went back from ${before} to ${rev} (restored from a backup, or data lost)`;
    this.clusterId = cluster;
    if (reason || rev > this.mark) this.mark = rev;
    if (reason) {
      this.resets++;
      this.log.warn({ datastore: this.description, reason, watchers: this.watchers.size }, 'datastore reset detected');
      for (const w of this.watchers.values()) w.resync(`datastore reset: ${reason}`);
    }
  }

  private async revisionHeader(): Promise<IResponseHeader> {
    const res = await this.call('health check', true, (c, o) => c.kv.range({ key: Buffer.from([0]) }, o), 3000);
    return res.header;
  }

  /** A response or watch event from the store as it was at reset count `resets` showed revision `rev`. */
  private noteRevision(rev: number, resets: number): void {
    if (resets === this.resets && rev > this.mark) this.mark = rev;
  }

  async get(key: string): Promise<KVPair | undefined> {
    const res = await this.call('get', true, (c, o) => c.kv.range({ key: Buffer.from(key) }, o));
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
      const res = await this.call('list', true, (c, o) =>
        c.kv.range(
          {
            key: start,
            range_end: end,
            limit: this.pageSize,
            sort_order: 'Ascend',
            sort_target: 'Key',
            ...(rev !== undefined ? { revision: rev } : {}),
          },
          o,
        ),
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
    const k = Buffer.from(key);
    const res = await this.call('create', false, (c, o) =>
      c.kv.txn(
        {
          compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: '0' }],
          success: [{ request_put: { key: k, value: Buffer.from(value) } }],
        },
        o,
      ),
    );
    if (!res.succeeded) throw new AlreadyExistsError(key);
    return { key, value, revision: Number(res.header.revision) };
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KVPair> {
    const k = Buffer.from(key);
    const compare =
      expectedRevision === undefined
        ? { key: k, target: 'Create' as const, result: 'Greater' as const, create_revision: '0' }
        : { key: k, target: 'Mod' as const, result: 'Equal' as const, mod_revision: String(expectedRevision) };
    const res = await this.call('update', false, (c, o) =>
      c.kv.txn(
        {
          compare: [compare],
          success: [{ request_put: { key: k, value: Buffer.from(value) } }],
          failure: [{ request_range: { key: k } }],
        },
        o,
      ),
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
    const res = await this.call('delete', false, (c, o) =>
      c.kv.txn(
        {
          compare: [compare],
          success: [{ request_delete_range: { key: k, prev_kv: true } }],
          failure: [{ request_range: { key: k } }],
        },
        o,
      ),
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
    const res = await this.call('revision', true, (c, o) => c.kv.range({ key: Buffer.from([0]) }, o));
    return Number(res.header.revision);
  }

  /** Compacts history up to `revision` (default: now); watchers resuming before it resync. */
  async compact(revision?: number): Promise<void> {
    const rev = revision ?? (await this.revision());
    await this.call('compact', false, (c, o) => c.kv.compact({ revision: String(rev), physical: true }, o));
  }

  watch(prefix: string, opts: WatchOptions = {}): Watcher {
    let resyncing = false;
    const q: WatchQueue = new WatchQueue(
      this.backlogLimit,
      () => {
        if (!resyncing) void resync('watcher fell too far behind');
      },
      this.watchStats,
    );
    // Where this watcher stands: `last` is the revision up to which events are delivered;
    // `pending` holds the changes (key → mod revision, or -1 for a deletion) to deliver before
    // the `in-sync` at `syncRev` (null: in sync).
    let last = 0;
    let pending: Map<string, number> | null = null;
    let syncRev = 0;
    let resets = this.resets;
    // Every (re)start and resync takes a new generation; what belongs to an older one stops.
    let gen = 0;
    let current: { w: EtcdWatcher; member: Member } | null = null;
    const stopCurrent = () => {
      const c = current;
      current = null;
      void c?.w.cancel().catch(() => {});
    };

    const retrying = async (f: () => Promise<void>, my: number) => {
      while (!q.isClosed && my === gen) {
        try {
          return await f();
        } catch (err) {
          this.log.debug({ err: message(err), prefix }, 'etcd watch (re)start failed; retrying');
          await sleep(200);
        }
      }
    };

    const deliver = (res: IWatchResponse) => {
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
      this.noteRevision(last, resets);
    };

    /** Starts an etcd watch after `last` on the preferred member; a member that fails is passed over. */
    const start = async (my: number): Promise<void> => {
      const m = this.current;
      const w = m.client
        .watch()
        .prefix(prefix)
        .startRevision(String(last + 1))
        .watcher();
      let created: IWatchResponse;
      try {
        created = await new Promise<IWatchResponse>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
          w.once('connected', (res: IWatchResponse) => {
            clearTimeout(timer);
            resolve(res);
          });
          const fail = (err: Error) => {
            clearTimeout(timer);
            reject(err);
          };
          w.once('error', fail);
          w.once('disconnected', fail);
        });
      } catch (err) {
        void w.cancel().catch(() => {});
        if (/Watcher canceled/.test(message(err))) {
          void resync(canceled(err));
          return;
        }
        if (this.current === m) this.preferred = (this.preferred + 1) % this.members.length;
        throw err;
      }
      if (q.isClosed || my !== gen) {
        void w.cancel().catch(() => {});
        return;
      }
      current = { w, member: m };
      // A member behind where we were: a lagging member, or a store that went back. The check
      // (a linearizable read) tells which.
      const h = created.header;
      if (Number(h.revision) < last || (this.clusterId !== undefined && String(h.cluster_id) !== this.clusterId)) {
        void this.check();
      }
      if (pending?.size === 0) {
        q.push({ type: 'in-sync', revision: syncRev });
        pending = null;
      }
      w.on('data', (res: IWatchResponse) => {
        if (my === gen) deliver(res);
      });
      // The etcd3 client resumes a disconnected watch from the response header's revision, which
      // can be past events not yet delivered: a silent gap. Resume from our own last event instead.
      w.on('disconnected', (err: Error) => {
        if (my !== gen) return;
        this.log.warn(
          { err: brief(err), prefix, after: last, member: m.label },
          'etcd watch disconnected; resuming from the last event',
        );
        if (this.current === m) this.preferred = (this.preferred + 1) % this.members.length;
        launch();
      });
      w.on('error', (err: Error) => {
        if (my === gen) void resync(canceled(err));
      });
    };

    // etcd cancels a watch whose start is compacted (with no reason given; etcd3 drops the
    // compact revision) and any it cannot serve: what happened after `last` cannot be replayed.
    const canceled = (err: unknown) => {
      const why = message(err).replace(/^Watcher canceled:\s*/, '');
      return `etcd canceled the watch after revision ${last}: ${why || 'that history is compacted'}`;
    };

    const launch = () => {
      const my = ++gen;
      stopCurrent();
      void retrying(() => start(my), my);
    };

    const resync = async (reason: string) => {
      resyncing = true;
      const my = ++gen;
      stopCurrent();
      this.log.warn({ prefix, reason, datastore: this.description }, 'watcher resync');
      await retrying(async () => {
        resets = this.resets;
        const l = await this.list(prefix);
        if (q.isClosed || my !== gen) return;
        q.clear();
        q.push({ type: 'resync', reason });
        for (const kv of l.items) q.push({ type: 'added', key: kv.key, value: kv.value, revision: kv.revision });
        q.push({ type: 'in-sync', revision: l.revision });
        last = l.revision;
        syncRev = l.revision;
        pending = null;
        resyncing = false;
        launch();
      }, my);
    };

    this.watchers.set(q, {
      resync: (reason) => void resync(reason),
      move: () => {
        if (current && current.member !== this.current) launch();
      },
    });
    q.onClose = () => {
      this.watchers.delete(q);
      gen++;
      stopCurrent();
    };

    const my = gen;
    void retrying(async () => {
      const from = opts.fromRevision;
      if (from === undefined) {
        const l = await this.list(prefix);
        if (q.isClosed || my !== gen) return;
        for (const kv of l.items) q.push({ type: 'added', key: kv.key, value: kv.value, revision: kv.revision });
        q.push({ type: 'in-sync', revision: l.revision });
        last = l.revision;
        syncRev = l.revision;
        return launch();
      }
      // What changed between `from` and now tells us which events the replay must deliver before
      // in-sync (a read at `from` also fails exactly when that history is compacted).
      const now = await this.list(prefix);
      if (my !== gen) return;
      last = from;
      syncRev = now.revision;
      if (from >= now.revision) {
        pending = new Map();
        return launch();
      }
      let then: ListResult;
      try {
        then = from === 0 ? { items: [], revision: 0 } : await this.list(prefix, from);
      } catch (err) {
        if (/compacted/.test(message(err))) return void resync(`history after revision ${from} is compacted`);
        throw err;
      }
      if (my !== gen) return;
      const p = new Map<string, number>();
      for (const kv of now.items) if (kv.revision > from) p.set(kv.key, kv.revision);
      const present = new Set(now.items.map((kv) => kv.key));
      for (const kv of then.items) if (!present.has(kv.key)) p.set(kv.key, -1);
      pending = p;
      launch();
    }, my);
    return q;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.checkTimer);
    this.healthState.close();
    for (const q of [...this.watchers.keys()]) q.close();
    for (const m of this.members) m.client.close();
  }
}
