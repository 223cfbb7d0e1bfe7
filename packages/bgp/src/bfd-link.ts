import {
  type BfdDownEvent,
  type SessionRequest,
  type SessionStatus,
  type SessionTimers,
  type ShowBfdEntry,
  showBfdEntry,
} from '@tabby/bfd';
import { addressToBigInt } from './config/cidr.js';
import type { BfdShowEntry } from './control/api.js';
import { connectedSubnets } from './nexthop.js';
import type { Peer } from './peer.js';

/** One BFD session as the link uses it (`BfdSessionHandle` in daemons, a fake in tests). */
export interface BfdHandleLike {
  on(event: 'up', listener: () => void): unknown;
  on(event: 'down', listener: (e: BfdDownEvent) => void): unknown;
  update(timers: Partial<SessionTimers>): void;
  close(): void;
}

/** What the link needs of a BFD service (`BfdService` in daemons, a fake in tests). */
export interface BfdServiceLike {
  request(req: SessionRequest): BfdHandleLike;
  sessions(): Promise<SessionStatus[]>;
  stop(): Promise<void>;
}

interface Entry {
  readonly peer: Peer;
  readonly handle: BfdHandleLike;
  /** What a new session is needed for when it changes: address, local address, hop mode, role. */
  readonly key: string;
  timers: string;
}

function request(p: Peer, onLink: (address: string) => boolean): SessionRequest {
  const c = p.config;
  const b = c.bfd!;
  return {
    peer: c.address,
    ...(c.localAddress ? { local: c.localAddress } : {}),
    multihop: b.multihop ?? !onLink(c.address),
    minTxMs: b.minTx,
    minRxMs: b.minRx,
    multiplier: b.multiplier,
    passive: b.passive,
    name: c.name,
  };
}

function timersOf(r: SessionRequest): Required<Pick<SessionRequest, 'minTxMs' | 'minRxMs' | 'multiplier'>> {
  return { minTxMs: r.minTxMs!, minRxMs: r.minRxMs!, multiplier: r.multiplier! };
}

/**
 * Ties the speaker's peers to BFD sessions (RFC 5882): one session per peer whose config has
 * `bfd`, started with the peer's settings and kept in step on reload (timers changed: a Poll
 * Sequence, no flap; address, local address, hop mode or role changed: a new session). A Down
 * for a failure closes the BGP session (`Peer.bfdDown`, Cease/10) and holds its reconnection
 * until Up (`Peer.bfdUp`); an AdminDown from the peer leaves BGP alone (RFC 5882 3.2). The BFD
 * service (a worker thread) starts with the first peer that asks for BFD.
 */
export class BfdLink {
  private service: BfdServiceLike | null = null;
  private readonly entries = new Map<Peer, Entry>();
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  /**
   * `onLink` says whether a peer address is on a connected subnet, for peers whose `bfd` leaves
   * `multihop` out (default: the host's interface addresses, read at each sync).
   */
  constructor(
    private readonly startService: () => Promise<BfdServiceLike>,
    private readonly onLink?: (address: string) => boolean,
  ) {}

  /** True once the service runs (some peer asked for BFD). */
  get running(): boolean {
    return this.service !== null;
  }

  /**
   * Brings the BFD sessions in line with `peers` (after start and after every reload). Calls are
   * applied in order; rejects when the service must start and cannot (the peers then run without BFD).
   */
  sync(peers: Iterable<Peer>): Promise<void> {
    const list = [...peers];
    const run = this.queue.then(() => this.apply(list));
    this.queue = run.catch(() => {});
    return run;
  }

  private async apply(peers: readonly Peer[]): Promise<void> {
    if (this.stopped) return;
    const wanted = peers.filter((p) => p.config.bfd);
    if (wanted.length && !this.service) {
      const s = await this.startService();
      if (this.stopped) {
        await s.stop();
        return;
      }
      this.service = s;
    }
    const onLink = this.onLink ?? hostOnLink();
    const reqs = new Map(wanted.map((p) => [p, request(p, onLink)]));
    for (const [peer, e] of this.entries) {
      const r = reqs.get(peer);
      if (r && e.key === keyOf(r)) continue;
      this.drop(e);
    }
    for (const [peer, r] of reqs) {
      const e = this.entries.get(peer);
      const timers = JSON.stringify(timersOf(r));
      if (!e) this.add(peer, r, timers);
      else if (e.timers !== timers) {
        e.handle.update(timersOf(r));
        e.timers = timers;
      }
    }
  }

  private add(peer: Peer, r: SessionRequest, timers: string): void {
    let handle: BfdHandleLike;
    try {
      handle = this.service!.request(r);
    } catch (err) {
      // A bad local address, or two BGP peers on one address (other ports): one line, BGP runs on.
      peer.log.error({ err: (err as Error).message }, 'bfd: no BFD session for this peer');
      return;
    }
    handle.on('down', (e) => {
      if (e.reason === 'failure') peer.bfdDown();
    });
    handle.on('up', () => peer.bfdUp());
    this.entries.set(peer, { peer, handle, key: keyOf(r), timers });
  }

  private drop(e: Entry): void {
    e.handle.close();
    this.entries.delete(e.peer);
    // No session watches the peer any more: nothing may hold it.
    e.peer.bfdUp();
  }

  /** `show bfd`: every session, with its BGP peer's state (live from the worker). */
  async show(): Promise<BfdShowEntry[]> {
    if (!this.service) return [];
    const byName = new Map([...this.entries.keys()].map((p) => [p.config.name, p]));
    const now = Date.now();
    return (await this.service.sessions()).map((s) => {
      const p = byName.get(s.name);
      const row: ShowBfdEntry = showBfdEntry(s, now);
      return { ...row, bgp_state: p?.state ?? '', bgp_held: p?.heldByBfd ?? false };
    });
  }

  /** Every session's live status (for metrics: `registerBfdMetrics(registry, () => speaker.bfd.sessions())`). */
  async sessions(): Promise<SessionStatus[]> {
    return this.service ? this.service.sessions() : [];
  }

  /** Ends every session (the peers get AdminDown, so they keep their BGP sessions) and the service. */
  async stop(): Promise<void> {
    // Not waiting for a sync in progress: a service still starting is stopped when it is up.
    this.stopped = true;
    this.entries.clear();
    const s = this.service;
    this.service = null;
    await s?.stop();
  }
}

/** Whether an address is on one of the host's connected subnets now (a `%zone` address always is). */
function hostOnLink(): (address: string) => boolean {
  const subnets = connectedSubnets();
  return (address) => {
    if (address.includes('%')) return true;
    const a = addressToBigInt(address);
    return !!a && subnets.some((s) => s.family === a.family && a.value >> s.shift === s.network);
  };
}

function keyOf(r: SessionRequest): string {
  return JSON.stringify([r.peer, r.local ?? '', r.multihop, r.passive]);
}
