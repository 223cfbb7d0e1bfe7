import { canonicalPrefix } from './cidr.js';
import { type Clock, systemClock } from './clock.js';
import { FibDefaults, ROUTE_CLASS_RANK, ROUTE_CLASSES, RouteClass } from './constants.js';
import { ClosedError, InvalidRouteError } from './errors.js';
import { hasDefaultMetric, routeDevices, routeEquals, targetMatches, toKernelRoute } from './kernel-route.js';
import { type Logger, silentLogger } from './logger.js';
import type { RouteDriver, RouteOp, RouteOpFailure, TableEvent } from './route-driver.js';
import type { KernelRoute, RouteTarget } from './types.js';

export interface RouteTableOptions {
  driver: RouteDriver;
  /** Routing table number (default 254, main). */
  table?: number;
  /** Protocol of every class except BGP (default 80). */
  felixProtocol?: number;
  /** Protocol of BGP-learned routes (default 186, `bgp`). */
  bgpProtocol?: number;
  /** Routes on interfaces with these name prefixes are owned whatever their protocol (default `cali`). */
  interfacePrefixes?: readonly string[];
  /** Full read-back resync interval; 0 turns it off (default 90 s). */
  resyncIntervalMs?: number;
  /** How long stale routes on a newly appeared interface are kept (default 10 s). */
  newInterfaceGraceMs?: number;
  /**
   * After `markInSync()`, stale BGP-protocol routes are kept this long (or until
   * `endGracefulRestart()`), so a restart does not withdraw forwarding before the speaker has
   * relearned its routes (default 120 s; 0 turns it off).
   */
  gracefulRestartMs?: number;
  /** React to outside changes reported by the driver (default true). */
  watch?: boolean;
  /** Delay between an outside change and the resync that repairs it (default 50 ms). */
  watchDebounceMs?: number;
  /** Delay before retrying after a failed apply (default 1 s). */
  retryMs?: number;
  logger?: Logger;
  clock?: Clock;
  /** Told about every apply (metrics: `FibMetrics`). */
  observer?: ApplyObserver;
}

/** Sees every `apply()` that ran: its result and how long it took, or that it failed. */
export interface ApplyObserver {
  applied(result: ApplyResult, seconds: number): void;
  failed(fullResync: boolean, seconds: number): void;
}

/** What one `apply()` did. */
export interface ApplyResult {
  /** False when nothing was done because `markInSync()` has not been called. */
  ran: boolean;
  /** Whether the kernel was read back first (mark and sweep). */
  fullResync: boolean;
  replaced: number;
  deleted: number;
  failed: number;
  /** Prefixes held by a route the table does not own, which it therefore left alone. */
  conflicts: string[];
}

export interface RouteTableStatus {
  inSync: boolean;
  gracefulRestart: boolean;
  /** Desired prefixes (after conflict resolution). */
  desired: number;
  /** Owned routes believed to be in the table. */
  programmed: number;
  /** Desired prefixes whose interface does not exist yet. */
  waitingForInterface: number;
  conflicts: string[];
}

interface Candidate {
  /** (class, interface) key. */
  key: string;
  cls: RouteClass;
  iface: string;
  route: KernelRoute;
}

const SEP = '\u0000';

/** Routes held at one prefix: one route in the common case, an array when metrics differ. */
type Held = KernelRoute | KernelRoute[];

function heldList(h: Held): readonly KernelRoute[] {
  return Array.isArray(h) ? h : [h];
}

function sameSlot(x: KernelRoute, r: KernelRoute): boolean {
  const xd = hasDefaultMetric(x);
  return xd === hasDefaultMetric(r) && (xd || x.metric === r.metric);
}
/**
 * The read-back by prefix. Routes of one prefix (other metrics) come next to each other in a
 * dump, so one `set` per route does; should they not, the map is built again with a lookup each.
 */
function indexByDst(routes: readonly KernelRoute[]): Map<string, Held> {
  const kernel = new Map<string, Held>();
  let groups = 0;
  let last: KernelRoute | undefined;
  let lastHeld: KernelRoute[] | undefined;
  for (const r of routes) {
    if (last !== undefined && r.dst === last.dst) {
      if (lastHeld === undefined) {
        lastHeld = [last];
        kernel.set(r.dst, lastHeld);
      }
      lastHeld.push(r);
      continue;
    }
    kernel.set(r.dst, r);
    groups += 1;
    last = r;
    lastHeld = undefined;
  }
  if (kernel.size === groups) return kernel;
  kernel.clear();
  for (const r of routes) {
    const h = kernel.get(r.dst);
    if (!h) kernel.set(r.dst, r);
    else if (Array.isArray(h)) h.push(r);
    else kernel.set(r.dst, [h, r]);
  }
  return kernel;
}

/**
 * Ops per driver call when a big change is written. The first chunk is small, so the driver
 * (an `ip` process, bound by the kernel) starts writing while the rest is still being planned.
 */
const FIRST_CHUNK = 10_000;
const CHUNK = 50_000;

/**
 * Desired-state route table: callers say which routes each (route class, interface) wants; the
 * table resolves conflicts between classes, and `apply()` makes the driver's table match,
 * touching only routes it owns (its protocols, or routes on its interface prefixes). A fresh
 * instance reconciles by reading the table back (mark and sweep); nothing is written before
 * `markInSync()`.
 */
export class RouteTable {
  readonly table: number;
  readonly felixProtocol: number;
  readonly bgpProtocol: number;
  private readonly driver: RouteDriver;
  private readonly prefixes: readonly string[];
  private readonly resyncIntervalMs: number;
  private readonly graceMs: number;
  private readonly grMs: number;
  private readonly watchEnabled: boolean;
  private readonly debounceMs: number;
  private readonly retryMs: number;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly observer: ApplyObserver | undefined;

  /** (class, interface) -> dst -> candidate. */
  private readonly desired = new Map<string, Map<string, Candidate>>();
  /** dst -> its candidates: one object in the common case, an array when classes compete. */
  private readonly byDst = new Map<string, Candidate | Candidate[]>();
  /** What the table is believed to hold: dst -> routes at that prefix (any owner, any metric). */
  private kernel = new Map<string, Held>();
  private links = new Set<string>();
  private readonly linkFirstSeen = new Map<string, number>();
  private haveReadOnce = false;
  private dirty = new Set<string>();
  private needFull = true;
  private inSync = false;
  private grActive = false;
  private grTimer: unknown;
  private wakeTimer: unknown;
  private wakeAt = Number.POSITIVE_INFINITY;
  private resyncTimer: unknown;
  private stopWatch: (() => void) | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private queued: Promise<ApplyResult> | undefined;
  private closed = false;
  private lastConflicts: string[] = [];
  private waitingForInterface = 0;

  constructor(opts: RouteTableOptions) {
    this.driver = opts.driver;
    this.table = opts.table ?? FibDefaults.table;
    this.felixProtocol = opts.felixProtocol ?? FibDefaults.felixProtocol;
    this.bgpProtocol = opts.bgpProtocol ?? FibDefaults.bgpProtocol;
    this.prefixes = opts.interfacePrefixes ?? FibDefaults.interfacePrefixes;
    this.resyncIntervalMs = opts.resyncIntervalMs ?? FibDefaults.resyncIntervalMs;
    this.graceMs = opts.newInterfaceGraceMs ?? FibDefaults.newInterfaceGraceMs;
    this.grMs = opts.gracefulRestartMs ?? FibDefaults.gracefulRestartMs;
    this.watchEnabled = opts.watch ?? true;
    this.debounceMs = opts.watchDebounceMs ?? FibDefaults.monitorDebounceMs;
    this.retryMs = opts.retryMs ?? 1000;
    this.log = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? systemClock;
    this.observer = opts.observer;
    if (this.felixProtocol === this.bgpProtocol)
      throw new InvalidRouteError('*', 'felixProtocol and bgpProtocol must differ');
  }

  /** Protocol number the table programs routes of `cls` with. */
  protocolOf(cls: RouteClass): number {
    return cls === RouteClass.Bgp ? this.bgpProtocol : this.felixProtocol;
  }

  /**
   * Replaces the desired routes of one (class, interface). Pure bookkeeping: no kernel access; the
   * change reaches the table at the next `apply()`. Use `NO_INTERFACE` for blackholes and ECMP.
   * Throws `InvalidRouteError` for a route that cannot be programmed.
   */
  setRoutes(cls: RouteClass, iface: string, routes: readonly RouteTarget[]): void {
    if (this.closed) throw new ClosedError('RouteTable');
    if (!ROUTE_CLASSES.includes(cls)) throw new InvalidRouteError('*', `unknown route class ${JSON.stringify(cls)}`);
    const key = `${cls}${SEP}${iface}`;
    const protocol = this.protocolOf(cls);
    const prev = this.desired.get(key);
    const next = new Map<string, Candidate>();
    const added: Candidate[] = [];
    let kept = 0;
    for (const t of routes) {
      const same = prev?.get(t.dst);
      if (same && targetMatches(t, iface, same.route)) {
        next.set(t.dst, same);
        kept += 1;
        continue;
      }
      const route = toKernelRoute(t, iface, protocol);
      const p = prev?.get(route.dst);
      if (p && routeEquals(p.route, route)) {
        next.set(route.dst, p);
        kept += 1;
      } else {
        const c: Candidate = { key, cls, iface, route };
        next.set(route.dst, c);
        added.push(c);
      }
    }
    // When the next apply reads everything back anyway, tracking dirty prefixes is wasted work.
    const track = !this.needFull;
    if (prev) {
      for (const [dst, p] of prev) {
        if (next.get(dst) === p) continue;
        this.removeCandidate(dst, key);
        if (track) this.dirty.add(dst);
      }
    }
    // Without duplicate prefixes in `routes` (the usual case) every added candidate is in `next`.
    const duplicates = next.size !== kept + added.length;
    for (const c of added) {
      // A later duplicate of the same prefix in `routes` wins, as with `Map.set`.
      if (duplicates && next.get(c.route.dst) !== c) continue;
      this.addCandidate(c.route.dst, c);
      if (track) this.dirty.add(c.route.dst);
    }
    if (next.size === 0) this.desired.delete(key);
    else this.desired.set(key, next);
  }

  /**
   * Adds or replaces one route of a (class, interface), leaving its other routes as they are:
   * O(1), for streams of single-prefix changes (BGP best routes).
   */
  setRoute(cls: RouteClass, iface: string, target: RouteTarget): void {
    if (this.closed) throw new ClosedError('RouteTable');
    if (!ROUTE_CLASSES.includes(cls)) throw new InvalidRouteError('*', `unknown route class ${JSON.stringify(cls)}`);
    const key = `${cls}${SEP}${iface}`;
    const route = toKernelRoute(target, iface, this.protocolOf(cls));
    let set = this.desired.get(key);
    const p = set?.get(route.dst);
    if (p && routeEquals(p.route, route)) return;
    if (!set) {
      set = new Map();
      this.desired.set(key, set);
    }
    const c: Candidate = { key, cls, iface, route };
    set.set(route.dst, c);
    this.addCandidate(route.dst, c);
    this.dirty.add(route.dst);
  }

  /** Removes one prefix from a (class, interface); no-op when it is not there. */
  removeRoute(cls: RouteClass, iface: string, dst: string): void {
    if (this.closed) throw new ClosedError('RouteTable');
    const key = `${cls}${SEP}${iface}`;
    const set = this.desired.get(key);
    const canonical = canonicalPrefix(dst);
    if (!set?.delete(canonical)) return;
    if (set.size === 0) this.desired.delete(key);
    this.removeCandidate(canonical, key);
    this.dirty.add(canonical);
  }

  /** The desired routes of one (class, interface), as last set. */
  getRoutes(cls: RouteClass, iface: string): KernelRoute[] {
    return [...(this.desired.get(`${cls}${SEP}${iface}`)?.values() ?? [])].map((c) => c.route);
  }

  /** The route that wins at each desired prefix (what the table programs), sorted by prefix. */
  resolved(): KernelRoute[] {
    const out: KernelRoute[] = [];
    for (const dst of [...this.byDst.keys()].sort()) {
      const w = this.winner(dst, false);
      if (w) out.push(w.route);
    }
    return out;
  }

  /**
   * The caller's datastore is in sync: from now on `apply()` writes, and outside changes are
   * watched. Starts the graceful-restart window for BGP-protocol routes.
   */
  markInSync(): void {
    if (this.closed) throw new ClosedError('RouteTable');
    if (this.inSync) return;
    this.inSync = true;
    if (this.grMs > 0) {
      this.grActive = true;
      this.grTimer = this.clock.setTimeout(() => this.endGracefulRestart(), this.grMs);
    }
  }

  /** Ends the graceful-restart window early (e.g. the speaker has End-of-RIB from every peer). */
  endGracefulRestart(): void {
    if (this.grTimer !== undefined) this.clock.clearTimeout(this.grTimer);
    this.grTimer = undefined;
    if (!this.grActive) return;
    this.grActive = false;
    this.log.info({ table: this.table }, 'graceful-restart window over: sweeping stale BGP routes');
    this.needFull = true;
    this.schedule(0);
  }

  /** Forces the next `apply()` to read the table back and sweep. */
  requestResync(): void {
    this.needFull = true;
  }

  /**
   * Makes the table match the desired state: reads it back first when a resync is due (start,
   * after an error or outside change, on the interval), otherwise applies only what changed.
   * Calls are serialised; a call made while one runs is merged into the next run.
   */
  apply(): Promise<ApplyResult> {
    if (this.closed) return Promise.reject(new ClosedError('RouteTable'));
    if (!this.inSync)
      return Promise.resolve({ ran: false, fullResync: false, replaced: 0, deleted: 0, failed: 0, conflicts: [] });
    if (this.queued) return this.queued;
    const run = this.chain.then(() => {
      this.queued = undefined;
      return this.runApply();
    });
    this.queued = run;
    this.chain = run.catch(() => {});
    return run;
  }

  status(): RouteTableStatus {
    let programmed = 0;
    for (const h of this.kernel.values()) for (const r of heldList(h)) if (this.owned(r)) programmed += 1;
    return {
      inSync: this.inSync,
      gracefulRestart: this.grActive,
      desired: this.byDst.size,
      programmed,
      waitingForInterface: this.waitingForInterface,
      conflicts: [...this.lastConflicts],
    };
  }

  /**
   * Owned routes in the table that are the desired winner of their prefix, by the class that
   * wants them (routes being removed and conflicts not counted).
   */
  programmedByClass(): Record<RouteClass, number> {
    const out = Object.fromEntries(ROUTE_CLASSES.map((c) => [c, 0])) as Record<RouteClass, number>;
    for (const dst of this.byDst.keys()) {
      const w = this.winner(dst, false);
      const held = this.kernel.get(dst);
      if (w && held && heldList(held).some((r) => this.owned(r) && routeEquals(r, w.route))) out[w.cls] += 1;
    }
    return out;
  }

  /** Stops timers and watching. Routes stay in the table (a restart must not flush them). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWatch?.();
    for (const t of [this.grTimer, this.wakeTimer, this.resyncTimer]) if (t !== undefined) this.clock.clearTimeout(t);
    await this.chain;
  }

  /** Whether the table may delete `r`. */
  owned(r: KernelRoute): boolean {
    if (r.protocol === this.felixProtocol || r.protocol === this.bgpProtocol) return true;
    if (r.protocol === 2) return false; // kernel-made (addresses, IPv6 link-local): never ours
    const devs = routeDevices(r);
    return devs.length > 0 && devs.every((d) => this.prefixes.some((p) => d.startsWith(p)));
  }

  private addCandidate(dst: string, c: Candidate): void {
    const v = this.byDst.get(dst);
    if (!v || (!Array.isArray(v) && v.key === c.key)) this.byDst.set(dst, c);
    else if (!Array.isArray(v)) this.byDst.set(dst, [v, c]);
    else {
      const i = v.findIndex((x) => x.key === c.key);
      if (i >= 0) v[i] = c;
      else v.push(c);
    }
  }

  private removeCandidate(dst: string, key: string): void {
    const v = this.byDst.get(dst);
    if (!v) return;
    if (!Array.isArray(v)) {
      if (v.key === key) this.byDst.delete(dst);
      return;
    }
    const rest = v.filter((x) => x.key !== key);
    if (rest.length === 0) this.byDst.delete(dst);
    else this.byDst.set(dst, rest.length === 1 ? rest[0]! : rest);
  }

  private winner(dst: string, requireLinks: boolean): Candidate | undefined {
    return this.pick(this.byDst.get(dst), requireLinks);
  }

  private pick(at: Candidate | Candidate[] | undefined, requireLinks: boolean): Candidate | undefined {
    if (!at) return undefined;
    if (!Array.isArray(at)) {
      if (requireLinks && !this.devicesExist(at.route)) return undefined;
      return at;
    }
    let best: Candidate | undefined;
    for (const c of at) {
      if (requireLinks && !this.devicesExist(c.route)) continue;
      if (!best || ROUTE_CLASS_RANK[c.cls] < ROUTE_CLASS_RANK[best.cls] || (c.cls === best.cls && c.iface < best.iface))
        best = c;
    }
    return best;
  }

  private devicesExist(r: KernelRoute): boolean {
    if (r.nextHops) return r.nextHops.every((h) => this.links.has(h.dev));
    return r.dev === undefined || this.links.has(r.dev);
  }

  private async runApply(): Promise<ApplyResult> {
    if (this.closed) throw new ClosedError('RouteTable');
    const full = this.needFull;
    const started = this.clock.now();
    try {
      const result = await this.applyOnce(full, started);
      this.observer?.applied(result, (this.clock.now() - started) / 1000);
      return result;
    } catch (err) {
      this.observer?.failed(full, (this.clock.now() - started) / 1000);
      throw err;
    }
  }

  private async applyOnce(full: boolean, started: number): Promise<ApplyResult> {
    let work: Set<string> | undefined;
    try {
      if (full) {
        this.needFull = false;
        const snap = await this.driver.read();
        const now = this.clock.now();
        const kernel = indexByDst(snap.routes);
        this.kernel = kernel;
        this.links = new Set(snap.links);
        for (const l of snap.links)
          if (!this.linkFirstSeen.has(l)) this.linkFirstSeen.set(l, this.haveReadOnce ? now : -Infinity);
        for (const l of this.linkFirstSeen.keys()) if (!this.links.has(l)) this.linkFirstSeen.delete(l);
        this.haveReadOnce = true;
        work = undefined; // everything
        this.dirty = new Set();
      } else {
        work = this.dirty;
        this.dirty = new Set();
      }
    } catch (err) {
      this.needFull = true;
      this.log.error({ err, table: this.table }, 'route table read-back failed; will retry');
      this.schedule(this.retryMs);
      throw err;
    }

    const now = this.clock.now();
    const conflicts: string[] = [];
    let waiting = 0;
    let replaced = 0;
    let deleted = 0;
    // Ops go to the driver in chunks: the next chunk is calculated while the driver (an `ip`
    // process, bound by the kernel) writes the previous one.
    let ops: RouteOp[] = [];
    let chunkSize = FIRST_CHUNK;
    let first = true;
    let writing: Promise<RouteOpFailure[]> = Promise.resolve([]);
    const flush = (): void => {
      if (ops.length === 0) return;
      const chunk = ops;
      ops = [];
      chunkSize = CHUNK;
      // Update the belief first, so watch events caused by these very ops are recognised as ours.
      for (const op of chunk) this.believe(op);
      if (first) {
        // Started right away (not in a later microtask): `ip` writes while the loop below plans on.
        first = false;
        try {
          writing = this.driver.apply(chunk);
        } catch (err) {
          writing = Promise.reject(err);
        }
      } else {
        const before = writing;
        writing = before.then(async (f) => {
          const more = await this.driver.apply(chunk);
          return more.length ? f.concat(more) : f;
        });
      }
      // Keep a rejected chunk from being reported as unhandled before it is awaited.
      writing.catch(() => {});
    };
    const plan = (dst: string, at: Candidate | Candidate[] | undefined): void => {
      const want = this.pick(at, true);
      if (!want && at) waiting += 1;
      const held = this.kernel.get(dst);
      if (want && held && !Array.isArray(held) && hasDefaultMetric(held)) {
        // Fast path: exactly one route at the prefix, in the slot the table programs.
        if (!this.owned(held)) conflicts.push(dst);
        else if (!routeEquals(held, want.route)) {
          ops.push({ op: 'replace', route: want.route });
          replaced += 1;
        }
        if (ops.length >= chunkSize) flush();
        return;
      }
      const have = held === undefined ? undefined : heldList(held);
      if (want) {
        let primary: KernelRoute | undefined;
        if (have) for (const r of have) if (hasDefaultMetric(r)) primary = primary ?? r;
        if (primary && !this.owned(primary)) {
          conflicts.push(dst);
          return;
        }
        if (!primary || !routeEquals(primary, want.route)) {
          ops.push({ op: 'replace', route: want.route });
          replaced += 1;
        }
        if (have && (have.length > 1 || !primary))
          for (const r of have)
            if (r !== primary && this.owned(r)) {
              ops.push({ op: 'delete', route: r });
              deleted += 1;
            }
      } else if (have) {
        for (const r of have)
          if (this.owned(r) && !this.keepStale(r, now)) {
            ops.push({ op: 'delete', route: r });
            deleted += 1;
          }
      }
      if (ops.length >= chunkSize) flush();
    };
    if (work) for (const dst of work) plan(dst, this.byDst.get(dst));
    else {
      for (const [dst, at] of this.byDst) plan(dst, at);
      for (const dst of this.kernel.keys()) if (!this.byDst.has(dst)) plan(dst, undefined);
    }
    flush();
    let failures: RouteOpFailure[];
    try {
      failures = await writing;
    } catch (err) {
      this.needFull = true;
      this.log.error({ err, table: this.table }, 'route table write failed; will resync');
      this.schedule(this.retryMs);
      throw err;
    }
    if (failures.length) {
      this.needFull = true;
      for (const f of failures.slice(0, 10))
        this.log.warn({ dst: f.op.route.dst, op: f.op.op, reason: f.reason }, 'route op failed; will resync');
      this.schedule(this.retryMs);
    }
    if (full) {
      // Watching starts once the first full apply is done: the initial programming of a large
      // table would otherwise pay for a notification per route it writes itself. The read-back
      // at the next resync covers anything that changed in between.
      if (this.watchEnabled && !this.stopWatch && !this.closed)
        this.stopWatch = this.driver.watch((ev) => this.onEvent(ev));
      this.waitingForInterface = waiting;
      this.lastConflicts = conflicts.sort();
      if (conflicts.length)
        this.log.warn({ conflicts: conflicts.slice(0, 10) }, 'prefixes held by routes Tabby does not own');
      this.armResync();
    } else if (conflicts.length) {
      this.lastConflicts = [...new Set([...this.lastConflicts, ...conflicts])].sort();
    }
    const result: ApplyResult = {
      ran: true,
      fullResync: full,
      replaced,
      deleted,
      failed: failures.length,
      conflicts,
    };
    this.log.debug({ ...result, ms: this.clock.now() - started }, 'route table applied');
    return result;
  }

  /** A stale owned route is kept during graceful restart (BGP) or on a young interface. */
  private keepStale(r: KernelRoute, now: number): boolean {
    if (this.grActive && r.protocol === this.bgpProtocol) return true;
    let until = Number.NEGATIVE_INFINITY;
    for (const d of routeDevices(r)) {
      const seen = this.linkFirstSeen.get(d);
      if (seen !== undefined) until = Math.max(until, seen + this.graceMs);
    }
    if (until > now) {
      this.wakeFullAt(until);
      return true;
    }
    return false;
  }

  private believe(op: RouteOp): void {
    const r = op.route;
    const held = this.kernel.get(r.dst);
    if (!held) {
      if (op.op === 'replace') this.kernel.set(r.dst, r);
      return;
    }
    if (!Array.isArray(held)) {
      if (sameSlot(held, r)) {
        if (op.op === 'replace') this.kernel.set(r.dst, r);
        else this.kernel.delete(r.dst);
      } else if (op.op === 'replace') this.kernel.set(r.dst, [held, r]);
      return;
    }
    const rest = held.filter((x) => !sameSlot(x, r));
    if (op.op === 'replace') rest.push(r);
    if (rest.length === 0) this.kernel.delete(r.dst);
    else this.kernel.set(r.dst, rest.length === 1 ? rest[0]! : rest);
  }

  private onEvent(ev: TableEvent): void {
    if (this.closed) return;
    if (ev.kind === 'link') {
      this.needFull = true;
      this.schedule(this.debounceMs);
      return;
    }
    const held = this.kernel.get(ev.dst);
    const have = held === undefined ? undefined : heldList(held);
    const ours = ev.protocol === this.felixProtocol || ev.protocol === this.bgpProtocol;
    let relevant: boolean;
    if (ev.deleted) {
      // A delete we did ourselves leaves no belief behind; one of a route we believe in is news.
      relevant = have?.some((r) => r.protocol === ev.protocol) ?? false;
    } else if (ours) {
      // The echo of our own write matches what we believe is there; a route of our protocol that
      // does not (someone replaced it with another gateway or device) is news.
      relevant = !(
        have?.some(
          (r) =>
            r.protocol === ev.protocol &&
            (ev.dev === undefined || r.dev === ev.dev) &&
            (ev.via === undefined || r.via === ev.via),
        ) ?? false
      );
    } else {
      const onOurs = ev.dev !== undefined && this.prefixes.some((p) => ev.dev?.startsWith(p));
      relevant = this.byDst.has(ev.dst) || onOurs || (have?.some((r) => this.owned(r)) ?? false);
    }
    if (!relevant) return;
    this.log.debug({ ev }, 'outside route change; scheduling resync');
    this.needFull = true;
    this.schedule(this.debounceMs);
  }

  private wakeFullAt(at: number): void {
    if (at >= this.wakeAt) return;
    this.wakeAt = at;
    if (this.wakeTimer !== undefined) this.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = this.clock.setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeAt = Number.POSITIVE_INFINITY;
        this.needFull = true;
        this.autoApply();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  private schedule(ms: number): void {
    this.wakeFullAt(this.clock.now() + ms);
  }

  private armResync(): void {
    if (this.resyncTimer !== undefined) this.clock.clearTimeout(this.resyncTimer);
    this.resyncTimer = undefined;
    if (this.resyncIntervalMs <= 0 || this.closed) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      this.resyncTimer = undefined;
      this.needFull = true;
      this.autoApply();
    }, this.resyncIntervalMs);
  }

  private autoApply(): void {
    if (this.closed || !this.inSync) return;
    this.apply().catch((err: unknown) => this.log.warn({ err }, 'background resync failed'));
  }
}
