import type { DatastoreHealth } from './datastore.js';
import type { Logger } from './logger.js';

/** `1234` → `1.2 s`, `75000` → `1 min 15 s`: outage lengths in log lines. */
export function formatOutage(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/**
 * A backend's connection state: backends report every check (`up()`, `down(reason)`), this keeps
 * `Datastore.health()`, calls the `onHealth` listeners on changes, and logs each outage exactly
 * twice: at warn when it starts, at info with its length when it ends.
 */
export class HealthTracker {
  private state: DatastoreHealth;
  private readonly listeners = new Set<(h: DatastoreHealth) => void>();
  /** `datastore unreachable` was logged for the current outage. */
  private warned = false;
  private closed = false;
  private outages = 0;
  /** Length of the outages that ended, ms. */
  private pastOutageMs = 0;

  constructor(
    private readonly description: string,
    private readonly log: Logger,
    connected = false,
    private readonly now: () => number = Date.now,
  ) {
    this.state = connected
      ? { connected: true, since: now() }
      : { connected: false, since: now(), lastError: 'not connected yet' };
  }

  get current(): DatastoreHealth {
    return { ...this.state };
  }

  /** Outages so far and their total length (ms, the current one included). */
  outageStats(): { outages: number; outageMs: number } {
    const current = this.warned ? this.now() - this.state.since : 0;
    return { outages: this.outages, outageMs: this.pastOutageMs + current };
  }

  subscribe(listener: (h: DatastoreHealth) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** A check succeeded. */
  up(): void {
    if (this.closed || this.state.connected) return;
    const t = this.now();
    if (this.warned) {
      const outageMs = t - this.state.since;
      this.pastOutageMs += outageMs;
      this.log.info(
        { datastore: this.description, outageMs, outage: formatOutage(outageMs) },
        'datastore reachable again',
      );
    } else this.log.debug({ datastore: this.description }, 'datastore connected');
    this.warned = false;
    this.set({ connected: true, since: t });
  }

  /** A check failed: `reason` is one line without secrets. */
  down(reason: string): void {
    if (this.closed) return;
    if (!this.warned) {
      this.warned = true;
      this.outages += 1;
      this.log.warn({ datastore: this.description, err: reason }, 'datastore unreachable');
    }
    if (this.state.connected) this.set({ connected: false, since: this.now(), lastError: reason });
    else this.state = { ...this.state, lastError: reason };
  }

  /** The datastore was closed: not connected from now on, nothing logged. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.set({ connected: false, since: this.now(), lastError: 'closed' });
    this.listeners.clear();
  }

  private set(h: DatastoreHealth): void {
    this.state = h;
    for (const l of [...this.listeners]) l({ ...h });
  }
}
