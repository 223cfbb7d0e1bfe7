import { hasDefaultMetric, routeDevices } from './kernel-route.js';
import type { RouteDriver, RouteOp, RouteOpFailure, TableEvent, TableSnapshot } from './route-driver.js';
import type { KernelRoute } from './types.js';

function clone(r: KernelRoute): KernelRoute {
  const c = { ...r };
  if (r.nextHops) c.nextHops = r.nextHops.map((h) => ({ ...h }));
  return c;
}

function metricOf(r: KernelRoute): number {
  return r.metric ?? (r.dst.includes(':') ? 1024 : 0);
}

/**
 * An in-memory routing table with the kernel's rules that matter to the route table: routes are
 * identified by (prefix, metric); a route on a missing interface is refused; deleting an
 * interface deletes its routes; a delete that names a protocol or device only matches such a
 * route. Outside changes (`externalAdd`, `externalDelete`, `addLink`, `deleteLink`) are reported
 * to watchers asynchronously, like `ip monitor`.
 */
export class MemoryDriver implements RouteDriver {
  readonly kind = 'memory';
  private readonly routes = new Map<string, KernelRoute>();
  private readonly links = new Set<string>();
  private readonly watchers = new Set<(ev: TableEvent) => void>();
  /** Number of `apply` calls and ops applied, for tests. */
  readonly stats = { reads: 0, applies: 0, ops: 0 };
  /** When set, `read` and `apply` reject with it (simulates a failing `ip`). */
  failWith: Error | undefined;

  constructor(links: Iterable<string> = []) {
    for (const l of links) this.links.add(l);
  }

  private key(r: KernelRoute): string {
    return `${r.dst}#${metricOf(r)}`;
  }

  async read(): Promise<TableSnapshot> {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    this.stats.reads += 1;
    return { routes: [...this.routes.values()].map(clone), links: [...this.links] };
  }

  async apply(ops: readonly RouteOp[]): Promise<RouteOpFailure[]> {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    this.stats.applies += 1;
    const failures: RouteOpFailure[] = [];
    for (const op of ops) {
      this.stats.ops += 1;
      const reason = op.op === 'replace' ? this.replace(op.route) : this.remove(op.route);
      if (reason) failures.push({ op, reason });
    }
    return failures;
  }

  private replace(r: KernelRoute): string | undefined {
    for (const d of routeDevices(r)) if (!this.links.has(d)) return `Cannot find device "${d}"`;
    this.routes.set(this.key(r), clone(r));
    this.emit({ kind: 'route', deleted: false, dst: r.dst, protocol: r.protocol, dev: routeDevices(r)[0], via: r.via });
    return undefined;
  }

  private remove(r: KernelRoute): string | undefined {
    const k = this.key(r);
    const have = this.routes.get(k);
    if (!have || have.protocol !== r.protocol || (r.dev !== undefined && have.dev !== r.dev))
      return 'RTNETLINK answers: No such process';
    this.routes.delete(k);
    this.emit({ kind: 'route', deleted: true, dst: have.dst, protocol: have.protocol, dev: routeDevices(have)[0] });
    return undefined;
  }

  watch(onEvent: (ev: TableEvent) => void): () => void {
    this.watchers.add(onEvent);
    return () => this.watchers.delete(onEvent);
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }

  private emit(ev: TableEvent): void {
    for (const w of [...this.watchers]) queueMicrotask(() => w(ev));
  }

  // ---- outside actors, for tests ----

  /** Every route now in the table. */
  list(): KernelRoute[] {
    return [...this.routes.values()].map(clone);
  }

  /** Someone else adds or replaces a route (a CNI plugin, an operator, BIRD). */
  externalAdd(r: KernelRoute): void {
    const reason = this.replace(r);
    if (reason) throw new Error(reason);
  }

  /** Someone else deletes the default-metric route at `dst`. Returns whether one existed. */
  externalDelete(dst: string): boolean {
    for (const [k, r] of this.routes) {
      if (r.dst === dst && hasDefaultMetric(r)) {
        this.routes.delete(k);
        this.emit({ kind: 'route', deleted: true, dst, protocol: r.protocol, dev: routeDevices(r)[0] });
        return true;
      }
    }
    return false;
  }

  addLink(name: string): void {
    this.links.add(name);
    this.emit({ kind: 'link' });
  }

  /** Removes an interface and, like the kernel, every route that uses it. */
  deleteLink(name: string): void {
    this.links.delete(name);
    for (const [k, r] of this.routes) if (routeDevices(r).includes(name)) this.routes.delete(k);
    this.emit({ kind: 'link' });
  }
}
