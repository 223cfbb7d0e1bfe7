import { type AuthConfig, Authenticator } from './auth.js';
import type { Clock, TimerHandle } from './clock.js';
import { Diag, SLOW_TX_INTERVAL_US, STATE_NAMES, State, type StateName } from './constants.js';
import { DiscardCode } from './errors.js';
import { type ControlPacket, encodeControl } from './packet.js';

/** The timing parameters a client sets; changeable on a live session (RFC 5880 §6.8.3, §6.8.12). */
export interface SessionTimers {
  /** Desired Min TX Interval once Up, ms. */
  readonly minTxMs: number;
  /** Required Min RX Interval, ms. */
  readonly minRxMs: number;
  /** Detect Mult. */
  readonly multiplier: number;
}

export interface FsmOptions extends SessionTimers {
  readonly passive: boolean;
  readonly auth: AuthConfig | null;
}

/** Everything the state machine needs from outside: no sockets, no real time. */
export interface SessionEnv {
  readonly clock: Clock;
  /** Uniform in [0, 1): jitter and the initial authentication sequence number. */
  readonly random: () => number;
  /** Sends one encoded Control packet to the peer. */
  transmit(bytes: Uint8Array): void;
  onStateChange(change: StateChange): void;
}

export interface StateChange {
  readonly from: StateName;
  readonly to: StateName;
  /** The local diagnostic set by this change (RFC 5880 §4.1 code). */
  readonly diag: number;
  /** The peer's last reported state: `AdminDown` on a Down means the peer disabled BFD (RFC 5882 §3.2). */
  readonly remoteState: StateName;
  /** Clock time of the change, ms. */
  readonly at: number;
}

/** A point-in-time view of one session (all times in clock ms, intervals in ms). */
export interface FsmStatus {
  readonly state: StateName;
  readonly remoteState: StateName;
  readonly localDiscriminator: number;
  readonly remoteDiscriminator: number;
  /** bfd.LocalDiag: what the local system currently sends. */
  readonly localDiag: number;
  /** The Diag field of the last packet received. */
  readonly remoteDiag: number;
  /** The diagnostic of the last change away from Up (null if never). */
  readonly lastDownDiag: number | null;
  readonly lastDownAt: number | null;
  /** Negotiated transmit interval: max(our active Desired Min TX, peer's Required Min RX); 0 if the peer wants none. */
  readonly txIntervalMs: number;
  /** Negotiated receive interval: max(our active Required Min RX, peer's Desired Min TX). */
  readonly rxIntervalMs: number;
  /** Detection time: peer's Detect Mult x rxIntervalMs (0 until the peer is heard). */
  readonly detectTimeMs: number;
  readonly remoteMultiplier: number;
  readonly remoteMinRxMs: number;
  readonly remoteMinTxMs: number;
  readonly pollActive: boolean;
  readonly lastChangeAt: number;
  readonly upSince: number | null;
  readonly packetsSent: number;
  readonly packetsReceived: number;
  readonly upTransitions: number;
  /** Changes from Up to any other state. */
  readonly flaps: number;
  /** Largest gap between two packets sent while Up (since the last time it came Up), ms. */
  readonly maxTxGapMs: number;
  /** Largest gap between two packets received while Up (since the last time it came Up), ms. */
  readonly maxRxGapMs: number;
}

/** Immediate (non-periodic) packets are sent at most this often; bounds what a peer can make us send. */
const IMMEDIATE_GAP_MS = 10;

/**
 * One BFD session's state machine (RFC 5880 §6.8, asynchronous mode, no Demand, no Echo).
 * Feed it packets that passed `decodeControl` and demultiplexing with `receive`; it transmits
 * through `env.transmit` on its own timers and reports state changes through `env.onStateChange`.
 */
export class BfdSession {
  private state: State = State.Down;
  private remoteState: State = State.Down;
  private remoteDiscr = 0;
  private localDiag = 0;
  private remoteDiag = 0;
  private lastDownDiag: number | null = null;
  private lastDownAt: number | null = null;

  private opts: FsmOptions;
  private readonly auth: Authenticator | null;
  // RFC 5880 §6.8.1 variables, µs.
  private remoteMinRxUs = 1;
  private remoteDesiredTxUs = 0;
  private remoteDetectMult = 0;
  // Values in force for our transmit rate and our detection time, and the ones we advertise.
  private txActiveUs: number;
  private rxActiveUs: number;
  private advTxUs: number;
  private advRxUs: number;
  private pollFor: { tx: number; rx: number } | null = null;
  private finalPending = false;

  private started = false;
  private stopped = false;
  private txTimer: TimerHandle | undefined;
  private txDueAt = 0;
  private detectTimer: TimerHandle | undefined;
  private seqTimer: TimerHandle | undefined;
  private soonTimer: TimerHandle | undefined;
  private lastImmediateAt = Number.NEGATIVE_INFINITY;

  private lastTxAt: number | null = null;
  private lastRxAt: number | null = null;
  private lastChangeAt: number;
  private upSince: number | null = null;
  private packetsSent = 0;
  private packetsReceived = 0;
  private upTransitions = 0;
  private flaps = 0;
  private maxTxGapMs = 0;
  private maxRxGapMs = 0;

  constructor(
    readonly localDiscriminator: number,
    opts: FsmOptions,
    private readonly env: SessionEnv,
  ) {
    this.opts = opts;
    this.auth = opts.auth ? new Authenticator(opts.auth, env.random) : null;
    this.advTxUs = this.txActiveUs = this.desiredTxUs();
    this.advRxUs = this.rxActiveUs = opts.minRxMs * 1000;
    this.lastChangeAt = env.clock.now();
  }

  /** Starts transmitting (a passive session waits for the peer's first packet). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.sendSoon();
  }

  /**
   * Ends the session: cancels every timer and, unless `announce` is false, sends one last packet
   * in state AdminDown (diag 7) so the peer takes it as "BFD disabled" rather than a failure.
   */
  stop(announce = true): void {
    if (this.stopped) return;
    if (announce && this.started && this.state !== State.AdminDown) {
      this.state = State.AdminDown;
      this.localDiag = Diag.AdministrativelyDown;
      if (this.mayTransmit()) this.transmitNow();
    }
    this.stopped = true;
    for (const t of [this.txTimer, this.detectTimer, this.seqTimer, this.soonTimer]) this.env.clock.clearTimeout(t);
  }

  /** Sends a packet now (rate-limited), e.g. when the transport has just become able to send. */
  transmitSoon(): void {
    this.sendSoon();
  }

  /** RFC 5880 §6.8.16: AdminDown (diag 7) or back to Down. */
  setAdminDown(down: boolean): void {
    if (this.stopped) return;
    if (down && this.state !== State.AdminDown) {
      this.env.clock.clearTimeout(this.detectTimer);
      this.setState(State.AdminDown, Diag.AdministrativelyDown);
    } else if (!down && this.state === State.AdminDown) this.setState(State.Down, Diag.None);
  }

  /** New timing parameters; interval changes run a Poll Sequence while Up (§6.8.3). */
  update(timers: SessionTimers): void {
    this.opts = { ...this.opts, ...timers };
    this.applyIntervals();
    this.rescheduleIfLate();
  }

  /**
   * RFC 5880 §6.8.6 from the authentication check on (the packet-only checks are done by
   * `decodeControl`, the discriminator lookup by the caller). Returns null when the packet was
   * accepted, else why it was discarded. `bytes` is the received payload (for digests).
   */
  receive(p: ControlPacket, bytes: Uint8Array): DiscardCode | null {
    if (this.stopped) return DiscardCode.NoSession;
    if (p.auth && !this.auth) return DiscardCode.AuthUnexpected;
    if (!p.auth && this.auth) return DiscardCode.AuthMissing;
    if (this.auth) {
      const v = this.auth.verify(p, bytes, bytes[3] ?? 0);
      if (v === 'failed') return DiscardCode.AuthFailed;
      if (v === 'sequence') return DiscardCode.AuthSequence;
    }
    this.remoteDiscr = p.myDiscriminator;
    this.remoteState = p.state;
    this.remoteDiag = p.diag;
    this.remoteMinRxUs = p.requiredMinRxUs;
    this.remoteDesiredTxUs = p.desiredMinTxUs;
    this.remoteDetectMult = p.detectMult;
    if (p.final && this.pollFor) this.finishPoll();
    if (this.state === State.AdminDown) return DiscardCode.AdminDown;

    const now = this.env.clock.now();
    if (this.state === State.Up && this.lastRxAt !== null)
      this.maxRxGapMs = Math.max(this.maxRxGapMs, now - this.lastRxAt);
    this.lastRxAt = now;
    this.packetsReceived++;
    // Set before any state change so the packet announcing the change also carries the Final.
    if (p.poll) this.finalPending = true;

    if (p.state === State.AdminDown) {
      if (this.state !== State.Down) this.setState(State.Down, Diag.NeighborSignaledSessionDown);
    } else if (this.state === State.Down) {
      if (p.state === State.Down) this.setState(State.Init, Diag.None);
      else if (p.state === State.Init) this.setState(State.Up, Diag.None);
    } else if (this.state === State.Init) {
      if (p.state === State.Init || p.state === State.Up) this.setState(State.Up, Diag.None);
    } else if (p.state === State.Down) this.setState(State.Down, Diag.NeighborSignaledSessionDown);

    if (this.finalPending) this.sendSoon();
    this.armDetect();
    this.rescheduleIfLate();
    return null;
  }

  status(): FsmStatus {
    const tx = this.txIntervalUs();
    const rx = Math.max(this.rxActiveUs, this.remoteDesiredTxUs);
    return {
      state: STATE_NAMES[this.state],
      remoteState: STATE_NAMES[this.remoteState],
      localDiscriminator: this.localDiscriminator,
      remoteDiscriminator: this.remoteDiscr,
      localDiag: this.localDiag,
      remoteDiag: this.remoteDiag,
      lastDownDiag: this.lastDownDiag,
      lastDownAt: this.lastDownAt,
      txIntervalMs: tx === null ? 0 : tx / 1000,
      rxIntervalMs: rx / 1000,
      detectTimeMs: this.detectTimeMs(),
      remoteMultiplier: this.remoteDetectMult,
      remoteMinRxMs: this.remoteMinRxUs / 1000,
      remoteMinTxMs: this.remoteDesiredTxUs / 1000,
      pollActive: this.pollFor !== null,
      lastChangeAt: this.lastChangeAt,
      upSince: this.upSince,
      packetsSent: this.packetsSent,
      packetsReceived: this.packetsReceived,
      upTransitions: this.upTransitions,
      flaps: this.flaps,
      maxTxGapMs: this.maxTxGapMs,
      maxRxGapMs: this.maxRxGapMs,
    };
  }

  get stateName(): StateName {
    return STATE_NAMES[this.state];
  }

  // --- state ---------------------------------------------------------------------------------

  private setState(to: State, diag: number): void {
    const from = this.state;
    if (from === to) return;
    const at = this.env.clock.now();
    this.state = to;
    this.localDiag = diag;
    this.lastChangeAt = at;
    if (to === State.Up) {
      this.upSince = at;
      this.upTransitions++;
      this.maxTxGapMs = 0;
      this.maxRxGapMs = 0;
    } else if (from === State.Up) {
      this.upSince = null;
      this.flaps++;
    }
    if (from === State.Up || from === State.Init) {
      if (to === State.Down || to === State.AdminDown) {
        this.lastDownDiag = diag;
        this.lastDownAt = at;
      }
    }
    this.applyIntervals();
    this.env.onStateChange({
      from: STATE_NAMES[from],
      to: STATE_NAMES[to],
      diag,
      remoteState: STATE_NAMES[this.remoteState],
      at,
    });
    this.sendSoon();
  }

  // --- intervals (§6.8.2, §6.8.3, §6.8.4) ----------------------------------------------------

  /** bfd.DesiredMinTxInterval: the configured value once Up, at least one second before (slow start). */
  private desiredTxUs(): number {
    const us = this.opts.minTxMs * 1000;
    return this.state === State.Up ? us : Math.max(us, SLOW_TX_INTERVAL_US);
  }

  /**
   * Decides the advertised intervals after a state or configuration change. While Up a change
   * starts a Poll Sequence; a slower TX or a faster RX only takes effect when it ends (§6.8.3).
   */
  private applyIntervals(): void {
    const tx = this.desiredTxUs();
    const rx = this.opts.minRxMs * 1000;
    if (tx === this.advTxUs && rx === this.advRxUs) return;
    this.advTxUs = tx;
    this.advRxUs = rx;
    if (this.state === State.Up) {
      if (tx < this.txActiveUs) this.txActiveUs = tx;
      if (rx > this.rxActiveUs) this.rxActiveUs = rx;
      if (!this.pollFor) {
        this.pollFor = { tx, rx };
        this.sendSoon();
      }
    } else {
      this.txActiveUs = tx;
      this.rxActiveUs = rx;
      this.pollFor = null;
    }
    this.armDetect();
  }

  private finishPoll(): void {
    const done = this.pollFor!;
    this.txActiveUs = done.tx;
    this.rxActiveUs = done.rx;
    // Values changed again during the poll: the peer may not have seen them yet, poll again.
    this.pollFor = done.tx !== this.advTxUs || done.rx !== this.advRxUs ? { tx: this.advTxUs, rx: this.advRxUs } : null;
    this.armDetect();
  }

  /** Periodic transmit interval in µs, or null when the peer asked for none (Required Min RX 0). */
  private txIntervalUs(): number | null {
    return this.remoteMinRxUs === 0 ? null : Math.max(this.txActiveUs, this.remoteMinRxUs);
  }

  private detectTimeMs(): number {
    return (this.remoteDetectMult * Math.max(this.rxActiveUs, this.remoteDesiredTxUs)) / 1000;
  }

  // --- timers --------------------------------------------------------------------------------

  private armDetect(): void {
    const clock = this.env.clock;
    clock.clearTimeout(this.detectTimer);
    this.detectTimer = undefined;
    if (this.stopped || this.lastRxAt === null || this.state === State.AdminDown) return;
    const detect = this.detectTimeMs();
    const remaining = this.lastRxAt + detect - clock.now();
    this.detectTimer = clock.setTimeout(() => this.detectExpired(), Math.max(0, remaining));
    if (this.auth) {
      clock.clearTimeout(this.seqTimer);
      const seqRemaining = this.lastRxAt + 2 * detect - clock.now();
      this.seqTimer = clock.setTimeout(
        () => {
          if (this.auth) this.auth.seqKnown = false;
        },
        Math.max(0, seqRemaining),
      );
    }
  }

  /** §6.8.4: no packet for the detection time. */
  private detectExpired(): void {
    this.detectTimer = undefined;
    this.lastRxAt = null;
    // §6.8.1: bfd.RemoteDiscr is zeroed when the peer has not been heard for the detection time.
    this.remoteDiscr = 0;
    if (this.state === State.Init || this.state === State.Up)
      this.setState(State.Down, Diag.ControlDetectionTimeExpired);
    if (!this.mayTransmit()) {
      this.env.clock.clearTimeout(this.txTimer);
      this.txTimer = undefined;
    }
  }

  /** §6.8.7: nothing before start or after stop; a passive session waits until the peer is known. */
  private mayTransmit(): boolean {
    return this.started && !this.stopped && !(this.opts.passive && this.remoteDiscr === 0);
  }

  private jitteredMs(intervalUs: number): number {
    // §6.8.7: 75-100% of the interval, 75-90% when Detect Mult is 1.
    const span = this.opts.multiplier === 1 ? 0.15 : 0.25;
    return (intervalUs / 1000) * (0.75 + this.env.random() * span);
  }

  private scheduleTx(): void {
    const clock = this.env.clock;
    clock.clearTimeout(this.txTimer);
    this.txTimer = undefined;
    const interval = this.txIntervalUs();
    if (interval === null || !this.mayTransmit()) return;
    const delay = this.jitteredMs(interval);
    this.txDueAt = clock.now() + delay;
    this.txTimer = clock.setTimeout(() => {
      this.txTimer = undefined;
      this.transmitNow();
      this.scheduleTx();
    }, delay);
  }

  /** After the interval shrank (or transmission became allowed), do not wait out an old, longer timer. */
  private rescheduleIfLate(): void {
    const interval = this.txIntervalUs();
    if (interval === null || !this.mayTransmit()) {
      this.env.clock.clearTimeout(this.txTimer);
      this.txTimer = undefined;
      return;
    }
    if (!this.txTimer || this.txDueAt - this.env.clock.now() > interval / 1000) this.scheduleTx();
  }

  /** Sends a packet as soon as allowed (state change, Poll, Final), at most one per IMMEDIATE_GAP_MS. */
  private sendSoon(): void {
    if (!this.mayTransmit() || this.soonTimer) return;
    const clock = this.env.clock;
    const wait = this.lastImmediateAt + IMMEDIATE_GAP_MS - clock.now();
    const go = () => {
      this.soonTimer = undefined;
      if (!this.mayTransmit()) return;
      this.lastImmediateAt = clock.now();
      this.transmitNow();
      this.scheduleTx();
    };
    if (wait <= 0) go();
    else this.soonTimer = clock.setTimeout(go, wait);
  }

  private transmitNow(): void {
    const final = this.finalPending;
    this.finalPending = false;
    const packet: ControlPacket = {
      diag: this.localDiag,
      state: this.state,
      // §6.8.7: never P and F in one packet; the Poll goes out in the next one.
      poll: !final && this.pollFor !== null,
      final,
      controlPlaneIndependent: false,
      demand: false,
      detectMult: this.opts.multiplier,
      myDiscriminator: this.localDiscriminator,
      yourDiscriminator: this.remoteDiscr,
      desiredMinTxUs: this.advTxUs,
      requiredMinRxUs: this.advRxUs,
      requiredMinEchoRxUs: 0,
      ...(this.auth ? { auth: this.auth.section() } : {}),
    };
    const bytes = encodeControl(packet);
    if (this.auth) this.auth.sign(bytes);
    const now = this.env.clock.now();
    if (this.state === State.Up && this.lastTxAt !== null && this.upSince !== null && this.lastTxAt >= this.upSince)
      this.maxTxGapMs = Math.max(this.maxTxGapMs, now - this.lastTxAt);
    this.lastTxAt = now;
    this.packetsSent++;
    this.env.transmit(bytes);
  }
}
