import { Redis, type RedisOptions } from 'ioredis';
import type { Datastore, KVPair, ListResult, Watcher, WatchOptions } from '../datastore.js';
import { AlreadyExistsError, backendError, ConflictError, NotFoundError } from '../errors.js';
import { type Logger, nullLogger } from '../logger.js';
import { WatchQueue } from '../watch-queue.js';

export interface RedisDatastoreOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://...` (TLS). */
  url?: string;
  /** Passed through to ioredis (password, username, tls: { ca, cert, key }, db, ...); wins over the URL. */
  redis?: RedisOptions;
  /** Prefix of every Redis key. Default `{tabby}:` (one hash slot, so the Lua scripts work on a cluster too). */
  keyPrefix?: string;
  /** Approximate bound of the change stream that watchers resume from. Default 100,000. */
  streamMaxLen?: number;
  logger?: Logger;
}

// Every write runs as one Lua script: bump the global revision, write the key's value and
// revision, index the key for prefix lists, and append the change to the stream, all atomically.
// Stream IDs are `<revision>-0`, so a reader can tell a gap (trimmed history) from a quiet period.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {-1} end
local rev = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', rev)
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], rev .. '-0', 't', 'a', 'k', ARGV[1], 'v', ARGV[2])
return {rev}`;

const UPDATE = `
local cur = redis.call('HGET', KEYS[1], 'r')
if not cur then return {-2} end
if ARGV[4] ~= '' and ARGV[4] ~= cur then return {-3, tonumber(cur)} end
local rev = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', rev)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], rev .. '-0', 't', 'u', 'k', ARGV[1], 'v', ARGV[2])
return {rev}`;

const DELETE = `
local cur = redis.call('HMGET', KEYS[1], 'v', 'r')
if not cur[2] then return {-2} end
if ARGV[3] ~= '' and ARGV[3] ~= cur[2] then return {-3, tonumber(cur[2])} end
local rev = redis.call('INCR', KEYS[3])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[2], rev .. '-0', 't', 'd', 'k', ARGV[1])
return {rev, cur[1], tonumber(cur[2])}`;

const LIST = `
local rev = tonumber(redis.call('GET', KEYS[2]) or '0')
local keys = redis.call('ZRANGEBYLEX', KEYS[1], '[' .. ARGV[1], '[' .. ARGV[1] .. '\\255')
local out = {rev}
for _, k in ipairs(keys) do
  local h = redis.call('HMGET', ARGV[2] .. k, 'v', 'r')
  out[#out + 1] = k
  out[#out + 1] = h[1]
  out[#out + 1] = tonumber(h[2])
end
return out`;

interface Scripted {
  tabbyCreate(
    k1: string,
    k2: string,
    k3: string,
    k4: string,
    key: string,
    value: string,
    maxlen: number,
  ): Promise<number[]>;
  tabbyUpdate(
    k1: string,
    k2: string,
    k3: string,
    k4: string,
    key: string,
    value: string,
    maxlen: number,
    expected: string,
  ): Promise<number[]>;
  tabbyDelete(
    k1: string,
    k2: string,
    k3: string,
    k4: string,
    key: string,
    maxlen: number,
    expected: string,
  ): Promise<[number, string?, number?]>;
  tabbyList(k1: string, k2: string, prefix: string, kvPrefix: string): Promise<(string | number)[]>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Redis backend: a global revision counter, per-key revisions and a change stream, updated atomically by Lua. */
export class RedisDatastore implements Datastore {
  readonly description: string;
  private readonly client: Redis & Scripted;
  private readonly p: string;
  private readonly maxLen: number;
  private readonly log: Logger;
  private readonly watchers = new Set<WatchQueue>();
  private readonly conns = new Set<Redis>();
  private readonly opts: RedisOptions;
  private readonly url: string;

  constructor(opts: RedisDatastoreOptions = {}) {
    this.url = opts.url ?? 'redis://127.0.0.1:6379/0';
    this.p = opts.keyPrefix ?? '{tabby}:';
    this.maxLen = opts.streamMaxLen ?? 100_000;
    this.log = opts.logger ?? nullLogger;
    this.opts = {
      retryStrategy: (times) => Math.min(times * 100, 2000),
      maxRetriesPerRequest: 5,
      ...opts.redis,
    };
    const u = new URL(this.url);
    this.description = `${u.protocol}//${u.host}${u.pathname}`;
    this.client = this.connect(this.opts) as Redis & Scripted;
    this.client.defineCommand('tabbyCreate', { numberOfKeys: 4, lua: CREATE });
    this.client.defineCommand('tabbyUpdate', { numberOfKeys: 4, lua: UPDATE });
    this.client.defineCommand('tabbyDelete', { numberOfKeys: 4, lua: DELETE });
    this.client.defineCommand('tabbyList', { numberOfKeys: 2, lua: LIST });
  }

  private connect(o: RedisOptions): Redis {
    const c = new Redis(this.url, o);
    c.on('error', (err: Error) =>
      this.log.debug({ err: err.message, datastore: this.description }, 'redis connection error'),
    );
    this.conns.add(c);
    return c;
  }

  private get keys(): [string, string, string, string] {
    return [`${this.p}kv:`, `${this.p}keys`, `${this.p}rev`, `${this.p}log`];
  }

  private async call<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw backendError(`redis ${this.description}`, what, err);
    }
  }

  async get(key: string): Promise<KVPair | undefined> {
    const [v, r] = await this.call('get', () => this.client.hmget(`${this.p}kv:${key}`, 'v', 'r'));
    return r == null || v == null ? undefined : { key, value: v, revision: Number(r) };
  }

  async list(prefix: string): Promise<ListResult> {
    const [kv, idx, rev] = this.keys;
    const out = await this.call('list', () => this.client.tabbyList(idx, rev, prefix, kv));
    const items: KVPair[] = [];
    for (let i = 1; i + 2 < out.length + 1; i += 3) {
      items.push({ key: String(out[i]), value: String(out[i + 1]), revision: Number(out[i + 2]) });
    }
    return { items, revision: Number(out[0]) };
  }

  async create(key: string, value: string): Promise<KVPair> {
    const [kv, idx, rev, log] = this.keys;
    const [r] = await this.call('create', () =>
      this.client.tabbyCreate(kv + key, idx, rev, log, key, value, this.maxLen),
    );
    if (r === -1) throw new AlreadyExistsError(key);
    return { key, value, revision: Number(r) };
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KVPair> {
    const [kv, idx, rev, log] = this.keys;
    const exp = expectedRevision === undefined ? '' : String(expectedRevision);
    const [r, cur] = await this.call('update', () =>
      this.client.tabbyUpdate(kv + key, idx, rev, log, key, value, this.maxLen, exp),
    );
    if (r === -2) throw new NotFoundError(key);
    if (r === -3) throw new ConflictError(key, expectedRevision ?? 0, Number(cur));
    return { key, value, revision: Number(r) };
  }

  async delete(key: string, expectedRevision?: number): Promise<KVPair> {
    const [kv, idx, rev, log] = this.keys;
    const exp = expectedRevision === undefined ? '' : String(expectedRevision);
    const [r, old, oldRev] = await this.call('delete', () =>
      this.client.tabbyDelete(kv + key, idx, rev, log, key, this.maxLen, exp),
    );
    if (r === -2) throw new NotFoundError(key);
    if (r === -3) throw new ConflictError(key, expectedRevision ?? 0, Number(old));
    return { key, value: String(old), revision: Number(oldRev) };
  }

  async revision(): Promise<number> {
    return Number((await this.call('revision', () => this.client.get(`${this.p}rev`))) ?? 0);
  }

  watch(prefix: string, opts: WatchOptions = {}): Watcher {
    const q = new WatchQueue();
    this.watchers.add(q);
    const conn = this.connect({ ...this.opts, maxRetriesPerRequest: null });
    q.onClose = () => {
      this.watchers.delete(q);
      conn.disconnect();
      this.conns.delete(conn);
    };
    void this.runWatch(q, conn, prefix, opts.fromRevision).catch((err) => {
      this.log.error({ err: (err as Error).message, prefix }, 'redis watcher failed');
      q.fail(err as Error);
    });
    return q;
  }

  private async runWatch(q: WatchQueue, conn: Redis, prefix: string, from: number | undefined): Promise<void> {
    const logKey = `${this.p}log`;
    let last = 0;
    let syncedAt = -1; // revision at which to emit in-sync once reached; -1: already emitted
    const snapshot = async (reason?: string) => {
      const l = await this.list(prefix);
      if (q.isClosed) return;
      if (reason) {
        q.clear();
        q.push({ type: 'resync', reason });
        this.log.warn({ prefix, reason, datastore: this.description }, 'watcher resync');
      }
      for (const kv of l.items) q.push({ type: 'added', key: kv.key, value: kv.value, revision: kv.revision });
      q.push({ type: 'in-sync', revision: l.revision });
      last = l.revision;
      syncedAt = -1;
    };
    const retry = async <T>(f: () => Promise<T>): Promise<T | undefined> => {
      for (;;) {
        if (q.isClosed) return undefined;
        try {
          return await f();
        } catch (err) {
          if (q.isClosed) return undefined;
          this.log.debug({ err: (err as Error).message }, 'redis watcher retrying');
          await sleep(200);
        }
      }
    };
    if (from === undefined) await retry(() => snapshot());
    else {
      last = from;
      const cur = await retry(() => this.revision());
      if (cur === undefined) return;
      if (cur < from)
        await retry(() => snapshot(`store revision ${cur} is behind the requested ${from} (store reset?)`));
      else if (cur > from && !(await retry(() => this.hasChange(from + 1)))) {
        await retry(() => snapshot(`change stream no longer holds revision ${from + 1}`));
      } else syncedAt = cur;
      if (syncedAt === last) {
        q.push({ type: 'in-sync', revision: last });
        syncedAt = -1;
      }
    }
    let hadError = false;
    while (!q.isClosed) {
      if (q.backlog > 1000) {
        await sleep(5);
        continue;
      }
      let res: [string, [string, string[]][]][] | null;
      try {
        if (hadError) {
          // After an outage: the store may have been reset or trimmed past us.
          const cur = await this.revision();
          hadError = false;
          if (cur < last) {
            await snapshot(`store revision went back from ${last} to ${cur} (data lost or replaced)`);
            continue;
          }
          if (cur > last && !(await this.hasChange(last + 1))) {
            await snapshot(`change stream trimmed past revision ${last} during an outage`);
            continue;
          }
        }
        res = (await conn.xread('COUNT', 1000, 'BLOCK', 2000, 'STREAMS', logKey, `${last}-0`)) as typeof res;
      } catch (err) {
        if (q.isClosed) return;
        hadError = true;
        this.log.debug({ err: (err as Error).message }, 'redis watcher read failed; reconnecting');
        await sleep(200);
        continue;
      }
      const entries = res?.[0]?.[1] ?? [];
      let gap = false;
      for (const [id, fields] of entries) {
        const rev = Number(id.split('-')[0]);
        if (rev !== last + 1) {
          gap = true;
          break;
        }
        last = rev;
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
        const key = f.k ?? '';
        if (!key.startsWith(prefix)) continue;
        if (f.t === 'd') q.push({ type: 'deleted', key, revision: rev });
        else q.push({ type: f.t === 'a' ? 'added' : 'updated', key, value: f.v ?? '', revision: rev });
      }
      if (gap) {
        await retry(() => snapshot(`change stream trimmed past revision ${last}`));
        continue;
      }
      if (syncedAt >= 0 && last >= syncedAt) {
        q.push({ type: 'in-sync', revision: last });
        syncedAt = -1;
      }
    }
  }

  private async hasChange(rev: number): Promise<boolean> {
    const r = await this.client.xrange(`${this.p}log`, `${rev}-0`, `${rev}-0`);
    return r.length > 0;
  }

  /** Trims the change stream to its newest `keep` entries (tests and operators; watchers behind it resync). */
  async trimHistory(keep = 0): Promise<void> {
    await this.client.xtrim(`${this.p}log`, 'MAXLEN', keep);
  }

  async close(): Promise<void> {
    for (const q of [...this.watchers]) q.close();
    for (const c of [...this.conns]) {
      c.disconnect();
    }
    this.conns.clear();
  }
}
