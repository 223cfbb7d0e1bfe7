import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type SessionConfig, type SessionRequest, sessionConfig, sessionKey } from './config.js';
import { Port, type StateName } from './constants.js';
import type { SessionStatus } from './engine.js';
import { BfdServiceError, ServiceErrorCode } from './errors.js';
import { installGtsm, removeGtsm } from './gtsm.js';
import type { FromWorker, ToWorker, WorkerSettings } from './messages.js';
import type { SessionTimers, StateChange } from './session.js';

/** The subset of pino's logger the service uses. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface BfdServiceOptions extends WorkerSettings {
  readonly logger?: Logger;
  /**
   * `nftables`: install a table that drops single-hop packets whose TTL / Hop Limit is not 255
   * (RFC 5881 §5) in this process's network namespace, and remove it on stop. Default `off`.
   */
  readonly gtsm?: 'nftables' | 'off';
  /** How long `sessions()` waits for the worker, ms (default 2000). */
  readonly requestTimeoutMs?: number;
}

/**
 * Why a session left Up: `failure` (detection time expired, or the peer said Down: close the BGP
 * session), `peer-admin-down` (the peer disabled BFD: RFC 5882 §3.2 says keep the BGP session),
 * `local-admin-down` (this side's `setAdminDown(true)`), `worker-restart` (the BFD worker died).
 */
export type DownReason = 'failure' | 'peer-admin-down' | 'local-admin-down' | 'worker-restart';

export interface BfdDownEvent {
  readonly reason: DownReason;
  /** Local diagnostic (RFC 5880 §4.1): 1 detection time expired, 3 neighbor signaled down, 7 admin down. */
  readonly diag: number;
  /** Wall-clock time of the change in the worker, ms since the epoch. */
  readonly at: number;
}

interface HandleEvents {
  up: [{ at: number }];
  down: [BfdDownEvent];
  state: [StateChange];
}

/**
 * One requested session, as the client sees it. `state` is the last state the worker reported;
 * `'up'` and `'down'` fire on changes into and out of Up (`down` carries the reason to act on).
 */
export class BfdSessionHandle extends EventEmitter<HandleEvents> {
  /** @internal */ lastStatus: SessionStatus | null = null;
  private st: StateName = 'Down';
  private closed = false;

  /** @internal */
  constructor(
    readonly id: number,
    private cfg: SessionConfig,
    private readonly service: BfdService,
  ) {
    super();
  }

  get config(): SessionConfig {
    return this.cfg;
  }

  get state(): StateName {
    return this.st;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Changes the timers; while Up the change runs an RFC 5880 Poll Sequence, without a flap. */
  update(timers: Partial<SessionTimers>): void {
    const next = sessionConfig({ ...toRequest(this.cfg), ...timers });
    this.cfg = next;
    this.service.post({
      op: 'update',
      id: this.id,
      timers: { minTxMs: next.minTxMs, minRxMs: next.minRxMs, multiplier: next.multiplier },
    });
  }

  /** AdminDown (the peer sees diag 7 and should keep its client sessions) or back to Down. */
  setAdminDown(down: boolean): void {
    this.service.post({ op: 'admin', id: this.id, down });
  }

  /** The live status from the worker. */
  async status(): Promise<SessionStatus | null> {
    return (await this.service.sessions()).find((s) => s.id === this.id) ?? null;
  }

  /** Ends the session (the peer gets one AdminDown packet). No more events. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.service.closeSession(this);
    this.removeAllListeners();
  }

  /** @internal */
  apply(change: StateChange, status: SessionStatus, wallAt: number): void {
    this.lastStatus = status;
    this.st = change.to;
    this.emit('state', change);
    if (change.to === 'Up') this.emit('up', { at: wallAt });
    else if (change.from === 'Up') {
      const reason: DownReason =
        change.to === 'AdminDown'
          ? 'local-admin-down'
          : change.remoteState === 'AdminDown'
            ? 'peer-admin-down'
            : 'failure';
      this.emit('down', { reason, diag: change.diag, at: wallAt });
    }
  }

  /** @internal */
  workerLost(at: number): void {
    const was = this.st;
    this.st = 'Down';
    if (was === 'Up') this.emit('down', { reason: 'worker-restart', diag: 0, at });
  }
}

function toRequest(c: SessionConfig): SessionRequest {
  return {
    peer: c.peer,
    ...(c.local !== null ? { local: c.local } : {}),
    multihop: c.multihop,
    minTxMs: c.minTxMs,
    minRxMs: c.minRxMs,
    multiplier: c.multiplier,
    passive: c.passive,
    ...(c.auth ? { auth: c.auth } : {}),
    name: c.name,
  };
}

function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  // From dist/ the worker sits beside this file; from src/ (tests run the sources) use the build.
  return here.endsWith('.ts')
    ? fileURLToPath(new URL('../dist/worker.js', import.meta.url))
    : fileURLToPath(new URL('./worker.js', import.meta.url));
}

const RESTART_MS = 1000;
const READY_TIMEOUT_MS = 10_000;

/**
 * BFD for a daemon: sessions run in a worker thread (timers and sockets on their own event loop),
 * the client talks to them through handles. Start with `BfdService.start()`, request sessions
 * with `request()`, read `sessions()` for `bgpctl show bfd` and `metrics()` for Prometheus, and
 * `stop()` on shutdown. If the worker dies it is restarted and every session re-added.
 */
export class BfdService {
  private worker!: Worker;
  private readonly handles = new Map<number, BfdSessionHandle>();
  private readonly keys = new Map<string, number>();
  private nextId = 1;
  private nextReq = 1;
  private readonly pending = new Map<
    number,
    { resolve: (s: SessionStatus[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private stopping = false;
  private readonly log: Logger;
  private readonly file: string;

  private constructor(private readonly opts: BfdServiceOptions) {
    this.log = opts.logger ?? silent;
    this.file = workerFile();
  }

  static async start(opts: BfdServiceOptions = {}): Promise<BfdService> {
    const s = new BfdService(opts);
    if (!existsSync(s.file))
      throw new BfdServiceError(
        ServiceErrorCode.WorkerMissing,
        `bfd: ${s.file} is missing: build first (npx tsc --build)`,
      );
    if (opts.gtsm === 'nftables') await installGtsm(opts.singleHopPort ?? Port.SingleHop);
    try {
      await s.spawn();
    } catch (err) {
      if (opts.gtsm === 'nftables') await removeGtsm();
      throw new BfdServiceError(
        ServiceErrorCode.WorkerFailed,
        `bfd: the worker did not start: ${(err as Error).message}`,
      );
    }
    return s;
  }

  /**
   * Asks for a session. Validates at once (throws `BfdConfigError` naming the field, or
   * `BfdServiceError` BFD_DUPLICATE_SESSION / BFD_TOO_MANY_SESSIONS); the session starts in the
   * worker right after.
   */
  request(req: SessionRequest): BfdSessionHandle {
    if (this.stopping) throw new BfdServiceError(ServiceErrorCode.Stopped, 'bfd: the service is stopped');
    const config = sessionConfig(req);
    const key = sessionKey(config);
    if (this.keys.has(key))
      throw new BfdServiceError(ServiceErrorCode.Duplicate, `bfd: a session ${key} already exists`);
    const max = this.opts.maxSessions ?? 4096;
    if (this.handles.size >= max)
      throw new BfdServiceError(ServiceErrorCode.TooManySessions, `bfd: already ${max} sessions (the limit)`);
    const h = new BfdSessionHandle(this.nextId++, config, this);
    this.handles.set(h.id, h);
    this.keys.set(key, h.id);
    this.post({ op: 'add', id: h.id, config });
    return h;
  }

  /** Every session's live status (what `bgpctl show bfd` prints), from the worker. */
  sessions(): Promise<SessionStatus[]> {
    if (this.stopping) return Promise.resolve([]);
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req);
        reject(new BfdServiceError(ServiceErrorCode.WorkerFailed, 'bfd: the worker did not answer within 2 s'));
      }, this.opts.requestTimeoutMs ?? 2000);
      this.pending.set(req, { resolve, reject, timer });
      this.post({ op: 'status', req });
    });
  }

  /** Stops every session (peers get AdminDown) and the worker. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new BfdServiceError(ServiceErrorCode.Stopped, 'bfd: the service is stopping'));
    }
    this.pending.clear();
    const w = this.worker;
    const stopped = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      w.on('message', (m: FromWorker) => {
        if (m.type === 'stopped') {
          clearTimeout(t);
          resolve();
        }
      });
      w.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    w.postMessage({ op: 'stop' } satisfies ToWorker);
    await stopped;
    await w.terminate();
    if (this.opts.gtsm === 'nftables') await removeGtsm();
    for (const h of this.handles.values()) h.removeAllListeners();
    this.handles.clear();
    this.keys.clear();
  }

  /** @internal */
  post(m: ToWorker): void {
    if (!this.stopping) this.worker.postMessage(m);
  }

  /** @internal */
  closeSession(h: BfdSessionHandle): void {
    if (this.handles.get(h.id) !== h) return;
    this.handles.delete(h.id);
    this.keys.delete(sessionKey(h.config));
    this.post({ op: 'remove', id: h.id });
  }

  private spawn(): Promise<void> {
    const settings: WorkerSettings = {
      singleHopPort: this.opts.singleHopPort,
      multiHopPort: this.opts.multiHopPort,
      singleHopSourceCheck: this.opts.singleHopSourceCheck,
      maxSessions: this.opts.maxSessions,
    };
    const w = new Worker(this.file, { workerData: settings, stderr: false });
    this.worker = w;
    w.unref();
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer within ${READY_TIMEOUT_MS / 1000} s`)),
        READY_TIMEOUT_MS,
      );
      const failed = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      w.on('message', (m: FromWorker) => {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        w.off('error', failed);
        resolve();
      });
      w.once('error', failed);
    });
    w.on('message', (m: FromWorker) => this.onMessage(m));
    w.on('error', (err) => this.log.error({ err: err.message }, 'bfd: the worker failed'));
    w.on('exit', (code) => {
      if (this.stopping || this.worker !== w) return;
      this.log.error({ code }, `bfd: the worker exited (code ${code}); restarting it in ${RESTART_MS / 1000} s`);
      const at = Date.now();
      for (const h of this.handles.values()) h.workerLost(at);
      setTimeout(() => void this.respawn(), RESTART_MS).unref();
    });
    // Sessions requested before a restart are added again.
    for (const h of this.handles.values()) w.postMessage({ op: 'add', id: h.id, config: h.config } satisfies ToWorker);
    return ready;
  }

  private async respawn(): Promise<void> {
    if (this.stopping) return;
    try {
      await this.spawn();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'bfd: the worker did not start again');
    }
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'state': {
        const h = this.handles.get(m.id);
        // The worker's clock is epoch-based: `at` is wall time.
        if (h) h.apply(m.change, m.status, m.change.at);
        break;
      }
      case 'log':
        this.log[m.level](m.fields, m.msg);
        break;
      case 'status': {
        const p = this.pending.get(m.req);
        if (!p) break;
        this.pending.delete(m.req);
        clearTimeout(p.timer);
        p.resolve(m.sessions.filter((s) => this.handles.has(s.id)));
        break;
      }
      case 'failed':
        this.log.warn({ code: m.code, session: m.id }, m.message);
        break;
      default:
        break;
    }
  }
}
