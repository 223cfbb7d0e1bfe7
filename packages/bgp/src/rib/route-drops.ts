import type { LocRib } from './loc-rib.js';
import type { PathSource } from './path.js';

/**
 * Routes of sessions that went down, being removed a slice at a time (a full table must not hold
 * the event loop). Their source is dead from the start, so they are no candidates meanwhile.
 */
export class RouteDrops {
  private readonly queue: Iterator<number>[] = [];

  constructor(private readonly rib: LocRib) {}

  /** Queues the routes of `source` (which must be dead already); false when it has none. */
  drop(source: PathSource): boolean {
    if (this.rib.routeCount(source) === 0) return false;
    this.queue.push(this.rib.routesOf(source));
    return true;
  }

  /** Routes are still to be removed. */
  get pending(): boolean {
    return this.queue.length > 0;
  }

  /** Removes up to `budget` routes; returns how many. */
  remove(budget: number): number {
    let n = 0;
    while (this.queue.length && n < budget) {
      const it = this.queue[0]!;
      for (; n < budget; n++) {
        const r = it.next();
        if (r.done) {
          this.queue.shift();
          break;
        }
        this.rib.remove(r.value);
      }
    }
    return n;
  }
}
