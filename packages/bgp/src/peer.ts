import {
  type Afi,
  CeaseSubcode,
  encodeCapability,
  type NotificationMessage,
  notification,
  type OpenMessage,
  OpenSubcode,
  type RouteRefreshMessage,
  shutdownNotification,
  type UpdateMessage,
} from '@tabby/wire';
import { type Clock, jittered, type TimerHandle } from './clock.js';
import { addressToBigInt } from './config/cidr.js';
import type { PeerConfig } from './config/types.js';
import type { SessionState } from './control/api.js';
import type { PeerOut } from './export/peer-out.js';
import type { Logger } from './logger.js';
import { familyAfi, negotiatedFamilies } from './open.js';
import { ipv4ToUint } from './rib/attr-table.js';
import type { AttrSet, PathSource } from './rib/path.js';
import type { PrefixKey } from './rib/prefix-key.js';
import { type CloseReason, type MessageCounters, newCounters, Session } from './session.js';
import type { Connection, Transport } from './transport.js';

/** What a peer needs from the speaker that owns it. */
export interface PeerHost {
  readonly clock: Clock;
  readonly transport: Transport;
  readonly log: Logger;
  readonly routerId: string;
  /** The OPEN to send to this peer (capabilities depend on its config). */
  localOpen(peer: Peer): OpenMessage;
  onEstablished(peer: Peer, s: Session): void;
  /** The established session ended; `keepRoutes` when graceful restart applies. */
  onDown(peer: Peer, s: Session, reason: CloseReason): void;
  /** An UPDATE: its IPv4 prefix lists are valid during the call only (see `SessionEvents.onUpdate`). */
  onUpdate(peer: Peer, m: UpdateMessage): void;
  onRouteRefresh(peer: Peer, m: RouteRefreshMessage): void;
  onDrain(peer: Peer): void;
  onStateChange(peer: Peer, from: SessionState, to: SessionState): void;
}

let nextPeerId = 1;

const NO_FAMILIES: ReadonlySet<Afi> = new Set();

/**
 * A configured neighbour: the Idle, Connect and Active states of RFC 4271 8 around up to two
 * sessions (ours and theirs while a collision is resolved, RFC 4271 6.8), reconnect back-off, and
 * what was negotiated on the established session. What we send it is the export stage's `out`.
 */
export class Peer {
  readonly id = nextPeerId++;
  state: SessionState = 'Idle';
  stateSince: number;
  adminDown = false;
  lastError = '';
  lastNotificationSent: { n: NotificationMessage; at: number } | null = null;
  lastNotificationReceived: { n: NotificationMessage; at: number } | null = null;
  established: Session | null = null;
  establishedTransitions = 0;
  readonly sent: MessageCounters = newCounters();
  readonly received: MessageCounters = newCounters();
  readonly updates = { prefixesReceived: 0, withdrawalsReceived: 0, prefixesSent: 0, withdrawalsSent: 0 };
  /** Families negotiated on the established session. */
  families: ReadonlySet<Afi> = NO_FAMILIES;
  /** The export stage's state for the established session: its Adj-RIB-Out (null while there is none). */
  out: PeerOut | null = null;
  /** Graceful restart: the peer's restart time (s) when it advertised the capability, else -1. */
  peerRestartTime = -1;
  /** RFC 8538: both sides set the N bit, so NOTIFICATIONs other than Hard Reset keep routes too. */
  peerNotificationGr = false;
  source: PathSource;
  /** Why we refused the peer's OPEN, appended to the close reason. */
  private closeDetail = '';
  private outgoing: Session | null = null;
  private incoming: Session | null = null;
  private retryTimer: TimerHandle | undefined;
  private failures = 0;
  private connecting = false;
  private stopped = true;
  private bfdHeld = false;

  constructor(
    public config: PeerConfig,
    private readonly host: PeerHost,
    readonly log: Logger,
  ) {
    this.stateSince = host.clock.now();
    this.source = this.makeSource();
  }

  /** The peer address as a number for the decision process's last tie-break, kept per address. */
  private addressKey: { address: string; key: bigint } | null = null;

  private makeSource(): PathSource {
    const address = this.config.address;
    if (this.addressKey?.address !== address) {
      this.addressKey = { address, key: addressToBigInt(address)?.value ?? 0n };
    }
    return {
      id: this.id,
      name: this.config.name,
      address,
      addressKey: this.addressKey.key,
      routerId: 0,
      asn: this.config.asn,
      ibgp: this.config.asn === this.config.localAsn,
      rrClient: this.config.routeReflectorClient,
      local: false,
    };
  }

  /** The old session's paths are being dropped: they keep the old source, marked dead; new ones get a new source. */
  renewSource(): void {
    this.source.dead = true;
    this.source = this.makeSource();
  }

  get ibgp(): boolean {
    return this.config.asn === this.config.localAsn;
  }

  /** Sessions in progress (not yet established). */
  get sessions(): Session[] {
    return [this.outgoing, this.incoming].filter((s): s is Session => s !== null);
  }

  private setState(to: SessionState): void {
    if (to === this.state) return;
    const from = this.state;
    this.state = to;
    this.stateSince = this.host.clock.now();
    this.log.info({ from, to, reason: this.lastError || undefined }, `peer ${to}`);
    this.host.onStateChange(this, from, to);
  }

  /** ManualStart (RFC 4271 8.1.2). */
  start(): void {
    this.stopped = false;
    if (this.adminDown) return;
    this.failures = 0;
    this.connect();
  }

  /** Stops everything; sends `n` on live sessions. */
  stop(n: NotificationMessage | null): void {
    this.stopped = true;
    this.host.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const s of [this.established, this.outgoing, this.incoming]) s?.close(n, 'stopped');
    this.outgoing = null;
    this.incoming = null;
    this.setState('Idle');
  }

  /** `neighbor X down`: Cease/Administrative Shutdown with an optional RFC 8203 message, stay Idle. */
  shutdown(message?: string): void {
    this.adminDown = true;
    this.stop(this.operatorCease(CeaseSubcode.AdministrativeShutdown, message));
    this.lastError = 'Administratively down';
  }

  /**
   * The Cease an operator action sends. With the RFC 8538 N bit negotiated a plain Cease would
   * leave our routes at the peer as stale, so it goes inside a Hard Reset (subcode 9), whose data
   * is the original subcode and data (RFC 8538 3).
   */
  private operatorCease(subcode: number, message?: string): NotificationMessage {
    const plain = shutdownNotification(message ?? '', subcode);
    if (!this.established || !this.peerNotificationGr) return plain;
    return notification(6, CeaseSubcode.HardReset, new Uint8Array([subcode, ...plain.data]));
  }

  /** `neighbor X up`. */
  enable(): void {
    if (!this.adminDown) return;
    this.adminDown = false;
    this.lastError = '';
    this.start();
  }

  /** `neighbor X clear`: Cease/Administrative Reset, then reconnect. */
  clear(message?: string): void {
    this.stop(this.operatorCease(CeaseSubcode.AdministrativeReset, message));
    this.start();
  }

  /**
   * The hook for BFD (RFC 5882 4.3): the peer's BFD session went Down, so the established session
   * ends at once with Cease/BFD Down (RFC 9384, subcode 10), and the peer does not connect again
   * until `bfdUp()`. Its routes go at once on both sides, graceful restart or not (inside a Hard
   * Reset when both sides set the RFC 8538 N bit).
   */
  bfdDown(): void {
    this.bfdHeld = true;
    const s = this.established;
    if (s) {
      this.log.warn({}, 'BFD session down: closing the BGP session');
      // The forwarding path is gone (RFC 5882 4.3.2): no graceful restart. With the RFC 8538 N bit
      // a plain Cease would keep the routes as stale on both sides, so it goes in a Hard Reset.
      s.close(
        this.peerNotificationGr
          ? notification(6, CeaseSubcode.HardReset, new Uint8Array([CeaseSubcode.BfdDown]))
          : notification(6, CeaseSubcode.BfdDown),
      );
    }
    for (const x of this.sessions) x.close(notification(6, CeaseSubcode.BfdDown));
  }

  /**
   * BFD is Up again, or no longer watches this peer: a connection held since `bfdDown` is tried
   * at once. Until then the peer makes no connection of its own (RFC 5882 4.1 lets the client
   * wait for BFD); connections the peer opens are still accepted.
   */
  bfdUp(): void {
    if (!this.bfdHeld) return;
    this.bfdHeld = false;
    if (this.stopped || this.adminDown || this.connectionUnderWay) return;
    this.host.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.failures = 0;
    this.connect();
  }

  /** A BFD Down holds our connection attempts until BFD is Up (see `bfdUp`). */
  get heldByBfd(): boolean {
    return this.bfdHeld;
  }

  /**
   * A session is up, ours is being set up, or theirs has their OPEN and our KEEPALIVE: the peer may
   * be Established on it, and with graceful restart it takes a second connection for a restart
   * (RFC 4724 4.2) and closes the session. No new connection then; if theirs fails, its close retries.
   */
  private get connectionUnderWay(): boolean {
    return !!(this.established || this.outgoing || this.connecting || this.incoming?.remoteOpen);
  }

  private connect(): void {
    if (this.stopped || this.adminDown) return;
    if (this.bfdHeld) {
      this.setState(this.config.passive ? 'Active' : 'Idle');
      this.lastError = 'BFD Down: waiting for BFD Up to connect';
      return;
    }
    if (this.config.passive) {
      this.setState('Active');
      return;
    }
    this.setState('Connect');
    this.connecting = true;
    const { address, port, localAddress } = this.config;
    this.host.transport
      .connect({
        host: address,
        port,
        ...(localAddress ? { localAddress } : {}),
        timeoutMs: this.config.connectRetryTime * 1000,
      })
      .then(
        (conn) => {
          this.connecting = false;
          // Theirs may have got this far meanwhile: keep it, whichever identifier is higher.
          if (this.stopped || this.adminDown || this.connectionUnderWay) {
            conn.destroy();
            return;
          }
          this.outgoing = this.newSession(conn, true);
        },
        (err: NodeJS.ErrnoException) => {
          this.connecting = false;
          if (this.stopped) return;
          this.lastError = `Socket: ${socketError(err)}`;
          if (!this.outgoing && !this.incoming && !this.established) {
            this.setState('Active');
            this.scheduleRetry(this.config.connectRetryTime);
          }
        },
      );
  }

  private scheduleRetry(seconds: number): void {
    this.host.clock.clearTimeout(this.retryTimer);
    this.retryTimer = this.host.clock.setTimeout(
      () => {
        this.retryTimer = undefined;
        if (!this.connectionUnderWay) this.connect();
      },
      jittered(this.host.clock, seconds * 1000),
    );
  }

  /** A connection from this peer's address arrived at the listener. */
  accept(conn: Connection): void {
    if (this.stopped || this.adminDown) {
      const s = new Session(conn, this.sessionOptions(false), this.host.clock, this.sessionEvents());
      s.close(notification(6, CeaseSubcode.ConnectionRejected));
      return;
    }
    if (this.established) {
      if (this.peerRestartTime >= 0) {
        // RFC 4724 4.2: a new connection while established means the peer restarted.
        this.log.info({}, 'new connection while established: peer restarted');
        this.established.close(null, 'peer reconnected (graceful restart)');
      } else {
        const s = new Session(conn, this.sessionOptions(false), this.host.clock, this.sessionEvents());
        s.close(notification(6, CeaseSubcode.ConnectionCollisionResolution));
        return;
      }
    }
    this.incoming?.close(notification(6, CeaseSubcode.ConnectionCollisionResolution));
    this.incoming = this.newSession(conn, false);
  }

  private sessionOptions(outgoing: boolean) {
    return {
      localOpen: this.host.localOpen(this),
      holdTime: this.config.holdTime,
      keepaliveTime: this.config.keepaliveTime,
      expectedAs: this.config.asn,
      outgoing,
      sendHoldTime: this.config.sendHoldTime ?? 0,
    };
  }

  private newSession(conn: Connection, outgoing: boolean): Session {
    const s = new Session(conn, this.sessionOptions(outgoing), this.host.clock, this.sessionEvents());
    s.start();
    this.setState('OpenSent');
    return s;
  }

  private sessionEvents() {
    return {
      onOpen: (s: Session, open: OpenMessage) => this.onOpen(s, open),
      onEstablished: (s: Session) => this.onEstablished(s),
      onUpdate: (s: Session, m: UpdateMessage) => {
        if (s === this.established) this.host.onUpdate(this, m);
      },
      onRouteRefresh: (s: Session, m: RouteRefreshMessage) => {
        if (s === this.established) this.host.onRouteRefresh(this, m);
      },
      onClose: (s: Session, r: CloseReason) => this.onSessionClose(s, r),
      onDrain: (s: Session) => {
        if (s === this.established) this.host.onDrain(this);
      },
    };
  }

  /**
   * RFC 4271 6.8 collision detection, on receipt of an OPEN. Both connections lead to the same
   * peer, so its BGP identifier is known from this OPEN even when the other connection has not
   * seen one yet: deciding now, by the same rule on both ends, avoids the race where each side
   * establishes a different connection and then tears it down.
   */
  private onOpen(s: Session, open: OpenMessage): NotificationMessage | null {
    const other = s === this.outgoing ? this.incoming : this.outgoing;
    if (other && other.phase !== 'Closed') {
      const local = ipv4ToUint(this.host.routerId);
      const remote = ipv4ToUint(open.bgpId);
      // The lower BGP identifier gives way: if ours is lower, keep the connection the peer opened.
      const keepIncoming = local < remote;
      const loser = keepIncoming ? this.outgoing : this.incoming;
      const collision = notification(6, CeaseSubcode.ConnectionCollisionResolution);
      if (loser === s) return collision;
      loser?.close(collision);
    }
    // RFC 5492 5: a peer that shares none of our address families cannot carry anything; refuse
    // it with Unsupported Capability, naming the multiprotocol capabilities it lacks.
    if (negotiatedFamilies(this.config.families, open).size === 0) {
      const ours = this.config.families.map(familyAfi);
      const data = Buffer.concat(ours.map((afi) => encodeCapability({ kind: 'multiprotocol', afi, safi: 1 })));
      this.closeDetail = `the peer supports none of our families (${this.config.families.join(', ')})`;
      return notification(2, OpenSubcode.UnsupportedCapability, data);
    }
    this.setState('OpenConfirm');
    return null;
  }

  private onEstablished(s: Session): void {
    const others = this.sessions.filter((x) => x !== s);
    this.outgoing = null;
    this.incoming = null;
    this.established = s;
    for (const other of others) other.close(notification(6, CeaseSubcode.ConnectionCollisionResolution));
    this.establishedTransitions += 1;
    this.failures = 0;
    this.lastError = '';
    this.source.routerId = ipv4ToUint(s.remoteRouterId);
    this.families = s.remoteOpen ? negotiatedFamilies(this.config.families, s.remoteOpen) : NO_FAMILIES;
    const caps = s.remoteOpen?.capabilities ?? [];
    const gr = caps.find((c) => c.kind === 'graceful-restart');
    this.peerRestartTime = gr && this.config.gracefulRestart ? gr.restartTime : -1;
    const ourGr = s.options.localOpen.capabilities.find((c) => c.kind === 'graceful-restart');
    this.peerNotificationGr = this.peerRestartTime >= 0 && !!gr?.notification && !!ourGr?.notification;
    this.setState('Established');
    this.host.onEstablished(this, s);
  }

  private onSessionClose(s: Session, reason: CloseReason): void {
    for (const k of ['open', 'update', 'notification', 'keepalive', 'route_refresh', 'total'] as const) {
      this.sent[k] += s.sent[k];
      this.received[k] += s.received[k];
    }
    const now = this.host.clock.now();
    if (reason.kind === 'notification-sent' && reason.notification) {
      this.lastNotificationSent = { n: reason.notification, at: now };
    }
    if (reason.kind === 'notification-received' && reason.notification) {
      this.lastNotificationReceived = { n: reason.notification, at: now };
    }
    if (s === this.outgoing) this.outgoing = null;
    if (s === this.incoming) this.incoming = null;
    const collision =
      reason.notification?.code === 6 && reason.notification.subcode === CeaseSubcode.ConnectionCollisionResolution;
    if (!collision || s === this.established) {
      this.lastError = this.closeDetail ? `${reason.text}: ${this.closeDetail}` : reason.text;
    }
    this.closeDetail = '';
    if (s === this.established) {
      this.established = null;
      this.log.warn({ reason: reason.text }, 'session down');
      this.host.onDown(this, s, reason);
    }
    if (this.established || this.sessions.length) return;
    if (this.stopped) {
      this.setState('Idle');
      return;
    }
    // Back off after errors so a broken peer does not cause a connect storm: 1, 2, 4, ... seconds,
    // capped at the connect retry time.
    this.failures += 1;
    const delay = Math.min(this.config.connectRetryTime, 2 ** Math.min(this.failures - 1, 16));
    this.setState(this.config.passive ? 'Active' : 'Idle');
    this.scheduleRetry(delay);
  }

  /** Message counters including the sessions still open. */
  counters(): { sent: MessageCounters; received: MessageCounters } {
    const sent = { ...this.sent };
    const received = { ...this.received };
    for (const s of [this.established, ...this.sessions]) {
      if (!s) continue;
      for (const k of Object.keys(sent) as (keyof MessageCounters)[]) {
        sent[k] += s.sent[k];
        received[k] += s.received[k];
      }
    }
    return { sent, received };
  }

  /** What we advertise to the peer (without ADD-PATH), per prefix key. */
  advertised(): IterableIterator<[PrefixKey, AttrSet]> {
    return this.out ? this.out.advertised() : new Map<PrefixKey, AttrSet>().entries();
  }

  /** How many prefixes we advertise to the peer (with ADD-PATH: prefixes, not paths). */
  get advertisedCount(): number {
    return this.out?.advertisedCount ?? 0;
  }

  /** The update group the established session's output is part of (see `PeerOut`). */
  get group(): PeerOut['group'] {
    return this.out?.group ?? null;
  }

  /** Families for which we still owe the peer an End-of-RIB. */
  get eorPending(): ReadonlySet<Afi> {
    return this.out?.eorPending ?? NO_FAMILIES;
  }

  /** RFC 7911: families where we send the peer several paths per prefix. */
  get addPathSend(): ReadonlySet<Afi> {
    return this.out?.addPathSend ?? NO_FAMILIES;
  }

  /** Bytes waiting in the send buffer of the established session. */
  get outQueueBytes(): number {
    return this.established?.conn.pendingBytes ?? 0;
  }
}

function socketError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'ETIMEDOUT':
      return 'Connection timed out';
    case 'EHOSTUNREACH':
      return 'No route to host';
    case 'ENETUNREACH':
      return 'Network unreachable';
    case 'EADDRNOTAVAIL':
      return 'Local address not available';
    default:
      return err.message;
  }
}
