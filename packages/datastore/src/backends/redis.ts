import { createHash, randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type {
  Datastore,
  DatastoreHealth,
  DatastoreStats,
  KVPair,
  ListResult,
  Watcher,
  WatchOptions,
} from '../datastore.js';
import {
  AlreadyExistsError,
  backendError,
  ConflictError,
  type DatastoreError,
  NotFoundError,
  UnavailableError,
} from '../errors.js';
import { HealthTracker } from '../health.js';
import { type Logger, nullLogger } from '../logger.js';
import { WatchQueue, WatchStats } from '../watch-queue.js';

export interface RedisDatastoreOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://...` (TLS). */
  url?: string;
  /** Passed through to ioredis (password, username, tls: { ca, cert, key }, db, ...); wins over the URL. */
  redis?: RedisOptions;
  /** Prefix of every Redis key. Default `{tabby}:` (one hash slot, so the Lua scripts work on a cluster too). */
  keyPrefix?: string;
  /** Approximate bound of the change stream that watchers resume from. Default 100,000. */
  streamMaxLen?: number;
  /**
   * A request (get, list, create, ...) without an answer after this many ms fails with
   * UNAVAILABLE: the server is down or hangs. Default 5,000.
   */
  requestTimeoutMs?: number;
  /** How often the store is checked (reachable? reset?), in ms; also on every reconnect. Default 1,000. */
  checkIntervalMs?: number;
  /** A check that takes longer than this fails (the server hangs), in ms. Default 2,000. */
  checkTimeoutMs?: number;
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

// The health check: the store's identity (a random epoch written by the first check that finds
// none, so a Redis that comes back empty has a new one), its revision, the fingerprint of the
// change at a revision we saw before (ARGV[1]; '' when not in the stream), and the newest change's
// ID and fingerprint. A fingerprint is the SHA-1 of type, key and value.
const CHECK = `
local ep = redis.call('GET', KEYS[1])
if not ep then
  redis.call('SET', KEYS[1], ARGV[2])
  ep = ARGV[2]
end
local rev = tonumber(redis.call('GET', KEYS[2]) or '0')
local function fp(e)
  local f = {}
  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
  return redis.sha1hex((f.t or '') .. '\\0' .. (f.k or '') .. '\\0' .. (f.v or ''))
end
local at = ''
if ARGV[1] ~= '0' then
  local e = redis.call('XRANGE', KEYS[3], ARGV[1] .. '-0', ARGV[1] .. '-0')
  if e[1] then at = fp(e[1]) end
end
local top = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
if top[1] then return {ep, rev, at, top[1][1], fp(top[1])} end
return {ep, rev, at, '0-0', ''}`;

/** The fingerprint CHECK computes, for a change read from the stream. */
function fingerprint(t: string, k: string, v: string): string {
  return createHash('sha1').update(`${t}\0${k}\0${v}`).digest('hex');
}

/** A change seen in the store: its revision and fingerprint ('' when unknown). */
interface StoreMark {
  rev: number;
  fp: string;
}

/** CHECK's answer: epoch, revision, fingerprint at the asked revision, newest change's ID and fingerprint. */
type CheckAnswer = [string, number, string, string, string];

interface Checked {
  tabbyCheck(k1: string, k2: string, k3: string, markRev: string, newEpoch: string): Promise<CheckAnswer>;
}

/**
 * Compares a CHECK answer with what was known when it was asked (the epoch, and a change seen
 * then): why the store is not the one seen before, or undefined.
 */
function judge(answer: CheckAnswer, epochBefore: string | undefined, before: StoreMark): string | undefined {
  const [epoch, rev, at] = answer;
  if ((epochBefore !== undefined && epoch !== epochBefore) || (rev === 0 && before.rev > 0))
    return `the store came back empty or was replaced (its identity changed; revision ${rev}, was ${before.rev})`;
  if (rev < before.rev)
    return `the store revision went back from ${before.rev} to ${rev} (restored from an older backup, or writes lost)`;
  if (before.fp && at && at !== before.fp)
    return `the change at revision ${before.rev} is not the one seen before (restored from an older backup and written since)`;
  return undefined;
}

/** The newest change in a CHECK answer, as a mark. */
function newest(answer: CheckAnswer): StoreMark {
  const [, rev, , topId, topFp] = answer;
  return { rev, fp: Number(topId.split('-')[0]) === rev ? topFp : '' };
}

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
  private readonly client: Redis & Scripted & Checked;
  /** The health check's own connection: no offline queue, so a check fails at once while Redis is away. */
  private readonly checker: Redis & Checked;
  private readonly p: string;
  private readonly maxLen: number;
  private readonly log: Logger;
  private readonly watchers = new Set<WatchQueue>();
  private readonly conns = new Set<Redis>();
  private readonly opts: RedisOptions;
  private readonly url: string;
  private readonly healthState: HealthTracker;
  private readonly timeoutMs: number;
  private readonly checkTimeoutMs: number;
  private readonly checkTimer: NodeJS.Timeout;
  private checking: Promise<void> | null = null;
  /** The last connection error of the checker (`connect ECONNREFUSED ...`), for `health().lastError`. */
  private connError: string | undefined;
  /** The store's identity and the newest change this datastore knows of (see CHECK). */
  private epoch: string | undefined;
  private mark: StoreMark = { rev: 0, fp: '' };
  /** Bumped by every detected reset: a watcher that read under an older count resyncs. */
  private resets = 0;
  private resetReason = '';
  private closed = false;

  constructor(opts: RedisDatastoreOptions = {}) {
    this.url = opts.url ?? 'redis://127.0.0.1:6379/0';
    this.p = opts.keyPrefix ?? '{tabby}:';
    this.maxLen = opts.streamMaxLen ?? 100_000;
    this.log = opts.logger ?? nullLogger;
    this.opts = {
      retryStrategy: (times) => Math.min(times * 100, 1000),
      maxRetriesPerRequest: 5,
      ...opts.redis,
    };
    this.timeoutMs = opts.requestTimeoutMs ?? 5000;
    this.checkTimeoutMs = opts.checkTimeoutMs ?? 2000;
    const u = new URL(this.url);
    this.description = `${u.protocol}//${u.host}${u.pathname}`;
    this.healthState = new HealthTracker(this.description, this.log);
    this.client = this.connect({ commandTimeout: this.timeoutMs, ...this.opts }) as Redis & Scripted & Checked;
    this.client.defineCommand('tabbyCreate', { numberOfKeys: 4, lua: CREATE });
    this.client.defineCommand('tabbyUpdate', { numberOfKeys: 4, lua: UPDATE });
    this.client.defineCommand('tabbyDelete', { numberOfKeys: 4, lua: DELETE });
    this.client.defineCommand('tabbyList', { numberOfKeys: 2, lua: LIST });
    this.client.defineCommand('tabbyCheck', { numberOfKeys: 3, lua: CHECK });
    this.checker = this.connect({
      ...this.opts,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.checkTimeoutMs,
      retryStrategy: (times) => Math.min(times * 50, 500),
    }) as Redis & Checked;
    this.checker.defineCommand('tabbyCheck', { numberOfKeys: 3, lua: CHECK });
    this.checker.on('error', (err: Error) => {
      this.connError = err.message;
    });
    // At once on every (re)connect and on every lost connection, and at least every interval.
    this.checker.on('ready', () => {
      this.connError = undefined;
      void this.check();
    });
    this.checker.on('close', () => void this.check());
    this.checkTimer = setInterval(() => void this.check(), opts.checkIntervalMs ?? 1000);
    this.checkTimer.unref();
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

  private check(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.checking ??= this.runCheck().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  /** Runs CHECK on `conn` against change `before.rev`. */
  private ask(conn: Redis & Checked, before: StoreMark): Promise<CheckAnswer> {
    const p = this.p;
    return conn.tabbyCheck(`${p}epoch`, `${p}rev`, `${p}log`, String(before.rev), randomBytes(8).toString('hex'));
  }

  /**
   * The health check: reads the store's identity and revision (CHECK) and compares them with what
   * this datastore saw before. A new epoch (the store came back empty), a lower revision, or a
   * different change at a revision it saw (restored from a backup, then written to) is a reset.
   */
  private async runCheck(): Promise<void> {
    const seen = this.resets;
    const before = this.mark;
    const epochBefore = this.epoch;
    let answer: CheckAnswer;
    try {
      answer = await this.ask(this.checker, before);
    } catch (err) {
      if (this.closed) return;
      const status = this.checker.status;
      // Without the description: health().lastError goes next to it (logs, readiness).
      this.healthState.down(
        status === 'ready'
          ? this.failure('health check', err, this.checkTimeoutMs).message.replace(`redis ${this.description}: `, '')
          : (this.connError ?? `connection ${status}`),
      );
      return;
    }
    if (this.closed) return;
    this.healthState.up();
    const reason = judge(answer, epochBefore, before);
    if (reason) return this.declareReset(reason, seen, answer);
    this.epoch = answer[0];
    // A watcher or a write may have seen newer changes meanwhile: keep the newest.
    if (this.mark.rev <= answer[1]) this.mark = newest(answer);
  }

  /**
   * A check that started at reset count `seen` found the store reset: every watcher resyncs
   * (they compare counts). One reset found twice (the health check and a watcher) counts once.
   */
  private declareReset(reason: string, seen: number, answer: CheckAnswer): void {
    if (seen !== this.resets) return;
    this.resets++;
    this.resetReason = reason;
    this.epoch = answer[0];
    this.mark = newest(answer);
    this.log.warn({ datastore: this.description, reason, watchers: this.watchers.size }, 'datastore reset detected');
  }

  /**
   * This datastore saw change `rev` (fingerprint `fp`, '' if unknown) in the store as it was at
   * reset count `resets` (a watcher read it, a write made it, a list was at it).
   */
  private noteChange(rev: number, fp: string, resets: number): void {
    if (resets === this.resets && rev > this.mark.rev) this.mark = { rev, fp };
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
      throw this.failure(what, err, this.timeoutMs);
    }
  }

  /** A client error in an operator's words: ioredis's "Command timed out" and "max retries" say no answer, no connection. */
  private failure(what: string, err: unknown, timeoutMs: number): DatastoreError {
    const msg = err instanceof Error ? err.message : String(err);
    const seen = this.connError ? `; last connection error: ${this.connError}` : '';
    if (/Command timed out/.test(msg))
      return new UnavailableError(
        `redis ${this.description}: ${what} failed: no answer within ${(timeoutMs / 1000).toFixed(1)} s${seen}`,
      );
    if (/max retries per request/i.test(msg))
      return new UnavailableError(`redis ${this.description}: ${what} failed: cannot connect${seen}`);
    return backendError(`redis ${this.description}`, what, err);
  }

  async get(key: string): Promise<KVPair | undefined> {
    const [v, r] = await this.call('get', () => this.client.hmget(`${this.p}kv:${key}`, 'v', 'r'));
    return r == null || v == null ? undefined : { key, value: v, revision: Number(r) };
  }

  async list(prefix: string): Promise<ListResult> {
    const [kv, idx, rev] = this.keys;
    const resets = this.resets;
    const out = await this.call('list', () => this.client.tabbyList(idx, rev, prefix, kv));
    this.noteChange(Number(out[0]), '', resets);
    const items: KVPair[] = [];
    for (let i = 1; i + 2 < out.length + 1; i += 3) {
      items.push({ key: String(out[i]), value: String(out[i + 1]), revision: Number(out[i + 2]) });
    }
    return { items, revision: Number(out[0]) };
  }

  async create(key: string, value: string): Promise<KVPair> {
    const [kv, idx, rev, log] = this.keys;
    const resets = this.resets;
    const [r] = await this.call('create', () =>
      this.client.tabbyCreate(kv + key, idx, rev, log, key, value, this.maxLen),
    );
    if (r === -1) throw new AlreadyExistsError(key);
    this.noteChange(Number(r), fingerprint('a', key, value), resets);
    return { key, value, revision: Number(r) };
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KVPair> {
    const [kv, idx, rev, log] = this.keys;
    const exp = expectedRevision === undefined ? '' : String(expectedRevision);
    const resets = this.resets;
    const [r, cur] = await this.call('update', () =>
      this.client.tabbyUpdate(kv + key, idx, rev, log, key, value, this.maxLen, exp),
    );
    if (r === -2) throw new NotFoundError(key);
    if (r === -3) throw new ConflictError(key, expectedRevision ?? 0, Number(cur));
    this.noteChange(Number(r), fingerprint('u', key, value), resets);
    return { key, value, revision: Number(r) };
  }

  async delete(key: string, expectedRevision?: number): Promise<KVPair> {
    const [kv, idx, rev, log] = this.keys;
    const exp = expectedRevision === undefined ? '' : String(expectedRevision);
    const resets = this.resets;
    const [r, old, oldRev] = await this.call('delete', () =>
      this.client.tabbyDelete(kv + key, idx, rev, log, key, this.maxLen, exp),
    );
    if (r === -2) throw new NotFoundError(key);
    if (r === -3) throw new ConflictError(key, expectedRevision ?? 0, Number(old));
    this.noteChange(Number(r), fingerprint('d', key, ''), resets);
    return { key, value: String(old), revision: Number(oldRev) };
  }

  async revision(): Promise<number> {
    return Number((await this.call('revision', () => this.client.get(`${this.p}rev`))) ?? 0);
  }

  watch(prefix: string, opts: WatchOptions = {}): Watcher {
    const q = new WatchQueue(Number.POSITIVE_INFINITY, () => {}, this.watchStats);
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
    let lastFp = ''; // fingerprint of change `last`, when it was read from the stream
    let syncedAt = -1; // revision at which to emit in-sync once reached; -1: already emitted
    let resets = this.resets; // the reset count this watcher's state belongs to
    let epoch = this.epoch; // the store's identity when this watcher synced
    let connects = 0;
    conn.on('ready', () => connects++);
    const snapshot = async (reason?: string) => {
      resets = this.resets; // before the list: a reset found during it makes another snapshot
      epoch = this.epoch;
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
      lastFp = '';
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
      if (resets !== this.resets) {
        await retry(() => snapshot(`datastore reset: ${this.resetReason}`));
        continue;
      }
      if (q.backlog > 1000) {
        await sleep(5);
        continue;
      }
      let res: [string, [string, string[]][]][] | null;
      const sent = connects;
      try {
        if (hadError) {
          // After a failed read: the server may have come back with other data.
          await this.verify({ rev: last, fp: lastFp }, epoch, resets);
          hadError = false;
          continue;
        }
        // A short block: the loop sees a reset (found by the health check) within a second, even
        // when ioredis resends this read after a reconnect instead of failing it.
        res = (await conn.xread('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', logKey, `${last}-0`)) as typeof res;
      } catch (err) {
        if (q.isClosed) return;
        hadError = true;
        this.log.debug({ err: (err as Error).message }, 'redis watcher read failed; reconnecting');
        await sleep(200);
        continue;
      }
      if (resets !== this.resets) continue; // read from a store since found reset: drop it
      if (connects !== sent) {
        // (Re)connected while reading: ioredis sent the read again, maybe to a server that came
        // back with other data. Drop what it read until the store is known to hold our history.
        hadError = true;
        continue;
      }
      const entries = res?.[0]?.[1] ?? [];
      let gap = false;
      let f: Record<string, string> = {};
      for (const [id, fields] of entries) {
        const rev = Number(id.split('-')[0]);
        if (rev !== last + 1) {
          gap = true;
          break;
        }
        last = rev;
        f = {};
        for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
        const key = f.k ?? '';
        if (!key.startsWith(prefix)) continue;
        if (f.t === 'd') q.push({ type: 'deleted', key, revision: rev });
        else q.push({ type: f.t === 'a' ? 'added' : 'updated', key, value: f.v ?? '', revision: rev });
      }
      if (entries.length && !gap) {
        lastFp = fingerprint(f.t ?? '', f.k ?? '', f.v ?? '');
        this.noteChange(last, lastFp, resets);
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

  /**
   * A watcher that read up to change `at` while the store had epoch `epoch` (reset count `seen`)
   * makes sure the store still holds that history: a reset otherwise.
   */
  private async verify(at: StoreMark, epoch: string | undefined, seen: number): Promise<void> {
    if (seen !== this.resets) return;
    const answer = await this.call('check', () => this.ask(this.client, at));
    const reason = judge(answer, epoch, at);
    if (reason) this.declareReset(reason, seen, answer);
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
    this.closed = true;
    clearInterval(this.checkTimer);
    this.healthState.close();
    for (const q of [...this.watchers]) q.close();
    for (const c of [...this.conns]) {
      c.disconnect();
    }
    this.conns.clear();
  }
}
