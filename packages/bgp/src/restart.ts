import { type Afi, CeaseSubcode } from '@tabby/wire';
import type { Clock, TimerHandle } from './clock.js';
import type { SpeakerConfig } from './config/types.js';
import type { Logger } from './logger.js';
import type { LocRib } from './rib/loc-rib.js';
import type { PathSource } from './rib/path.js';
import type { CloseReason } from './session.js';

/** What graceful restart needs of a peer (`Peer` is one). */
export interface RestartPeer {
  readonly config: { readonly name: string };
  readonly adminDown: boolean;
  readonly established: unknown;
  /** Families negotiated on the established session. */
  readonly families: ReadonlySet<Afi>;
  /** The peer's restart time (s) when it advertised the capability, else -1. */
  readonly peerRestartTime: number;
  /** RFC 8538: both sides set the N bit. */
  readonly peerNotificationGr: boolean;
  readonly source: PathSource;
}

export interface RestartDeps {
  rib: LocRib;
  clock: Clock;
  log: Logger;
  /** Every configured peer (selection deferral waits for all of them). */
  peers(): Iterable<RestartPeer>;
  /** RIB work is waiting (stale routes removed, selection may run). */
  changed(): void;
}

const afiOfKey = (key: number | string): number => (typeof key === 'number' ? 1 : 2);

/**
 * Graceful restart (RFC 4724, RFC 8538). As a helper: the routes of a peer whose session dropped
 * are kept, marked stale, until it sends them again and End-of-RIB, or its restart time passes.
 * As the restarting speaker: best-path selection (and so every UPDATE and the FIB feed) waits
 * until every peer sent End-of-RIB or the selection deferral time passes.
 */
export class GracefulRestart {
  /** Resolves when route selection runs: at once, or when the restart's deferral ends. */
  readonly selectionDone: Promise<void>;
  private selectionStarted: () => void = () => {};
  private deferral: TimerHandle | undefined;
  private _deferring: boolean;
  private readonly eorReceived = new Map<RestartPeer, Set<Afi>>();
  private readonly staleTimers = new Map<RestartPeer, TimerHandle>();

  constructor(
    private readonly deps: RestartDeps,
    private config: Pick<SpeakerConfig, 'gracefulRestart'>,
    /** This start is a restart (forwarding state was kept): defer selection (RFC 4724 4.1). */
    restarting: boolean,
  ) {
    this._deferring = restarting && config.gracefulRestart.enabled;
    this.selectionDone = new Promise((resolve) => {
      this.selectionStarted = resolve;
    });
    if (!this._deferring) this.selectionStarted();
  }

  /** RFC 4724 4.1: selection is deferred (the Restart bit is set in our OPENs meanwhile). */
  get deferring(): boolean {
    return this._deferring;
  }

  reconfigure(config: Pick<SpeakerConfig, 'gracefulRestart'>): void {
    this.config = config;
  }

  /** The speaker starts: the deferral timer runs from now. */
  start(): void {
    if (!this._deferring) return;
    const seconds = this.config.gracefulRestart.selectionDeferral;
    this.deps.log.info({ seconds }, 'graceful restart: deferring best-path selection until End-of-RIB from every peer');
    this.deferral = this.deps.clock.setTimeout(
      () => this.endDeferral('selection deferral time passed'),
      seconds * 1000,
    );
  }

  stop(): void {
    this.deps.clock.clearTimeout(this.deferral);
    for (const t of this.staleTimers.values()) this.deps.clock.clearTimeout(t);
    this.staleTimers.clear();
  }

  private endDeferral(why: string): void {
    if (!this._deferring) return;
    this._deferring = false;
    this.deps.clock.clearTimeout(this.deferral);
    this.selectionStarted();
    this.deps.log.info({ reason: why }, 'graceful restart: selection deferral over');
    this.deps.changed();
  }

  private checkDeferral(): void {
    if (!this._deferring) return;
    for (const p of this.deps.peers()) {
      if (p.adminDown) continue;
      if (!p.established) return;
      const got = this.eorReceived.get(p);
      for (const afi of p.families) if (!got?.has(afi)) return;
    }
    this.endDeferral('End-of-RIB received from every peer');
  }

  /** The peer's session is established: End-of-RIB is awaited for each of its families. */
  established(peer: RestartPeer): void {
    this.eorReceived.set(peer, new Set());
  }

  /** End-of-RIB from the peer: its routes of `afi` still stale are gone, and selection may start. */
  endOfRib(peer: RestartPeer, afi: Afi): void {
    this.deps.log.debug({ peer: peer.config.name, afi }, 'End-of-RIB received');
    this.eorReceived.get(peer)?.add(afi);
    this.flushStale(peer, afi);
    this.checkDeferral();
  }

  /**
   * The peer's session ended. RFC 4724: keep its routes as stale when the session just dropped;
   * RFC 8538: also after a NOTIFICATION when both sides set the N bit, unless it is a Hard Reset.
   * Returns whether they were kept; if not, the caller drops them.
   */
  sessionDown(peer: RestartPeer, reason: CloseReason): boolean {
    const n = reason.notification;
    const viaNotification = reason.kind !== 'transport' && reason.kind !== 'local';
    const hardReset = n?.code === 6 && n.subcode === CeaseSubcode.HardReset;
    const keep = peer.peerRestartTime >= 0 && (!viaNotification || (peer.peerNotificationGr && !hardReset));
    if (!keep) return false;
    const rib = this.deps.rib;
    for (const r of rib.routesOf(peer.source)) rib.setStale(r, true);
    // RFC 4724 4.2: stale routes go when the restart time passes without the session coming back.
    const clock = this.deps.clock;
    clock.clearTimeout(this.staleTimers.get(peer));
    const seconds = Math.min(peer.peerRestartTime, this.config.gracefulRestart.stalePathTime);
    this.staleTimers.set(
      peer,
      clock.setTimeout(() => {
        this.staleTimers.delete(peer);
        this.flushStale(peer, undefined);
      }, seconds * 1000),
    );
    return true;
  }

  /** The peer's routes are being dropped (or it is gone): nothing of it stays stale. */
  forget(peer: RestartPeer): void {
    this.deps.clock.clearTimeout(this.staleTimers.get(peer));
    this.staleTimers.delete(peer);
    this.eorReceived.delete(peer);
  }

  /** Removes the peer's routes still stale (of one family, or all). */
  private flushStale(peer: RestartPeer, afi: Afi | undefined): void {
    const rib = this.deps.rib;
    let n = 0;
    // The usual End-of-RIB (after a first session, or once every route came again) has nothing to scan for.
    if (rib.staleCount(peer.source) > 0)
      for (const r of rib.routesOf(peer.source)) {
        if (!rib.stale(r) || (afi !== undefined && afiOfKey(rib.key(r)) !== afi)) continue;
        rib.remove(r);
        n += 1;
      }
    if (n) this.deps.log.info({ peer: peer.config.name, routes: n }, 'stale routes removed');
    this.deps.changed();
  }

  /** Routes of the peer's current session that are stale. */
  staleCount(peer: RestartPeer): number {
    return this.deps.rib.staleCount(peer.source);
  }
}
