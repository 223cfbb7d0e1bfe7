import {
  BgpDecodeError,
  type BgpMessage,
  decodeFramed,
  ErrorCode,
  encode,
  Framer,
  FsmSubcode,
  INITIAL_SESSION,
  KEEPALIVE,
  type NotificationMessage,
  negotiateSession,
  notification,
  notificationName,
  type OpenMessage,
  OpenSubcode,
  openAsn,
  type RouteRefreshMessage,
  type SessionContext,
  type UpdateMessage,
  UpdateScratch,
} from '@tabby/wire';
import { type Clock, jittered } from './clock.js';
import { othersWaiting, readTimeLeft, spentReading, waitForTurn } from './read-turns.js';
import { QueuedTimer, type TimerQueue, timerQueue } from './timer-queue.js';
import type { Connection } from './transport.js';

/** RFC 4271 8.2.2: the hold timer's "large value" while waiting for OPEN (4 minutes). */
export const OPEN_HOLD_TIME = 240;

/** RFC 9687 10: the suggested send hold time is the greater of 8 minutes and twice the hold time. */
export function defaultSendHoldTime(holdTime: number): number {
  return Math.max(480, 2 * holdTime);
}

/**
 * How long a closing connection may take to flush its last messages (the NOTIFICATION) before it
 * is destroyed: a peer that reads nothing would otherwise keep the socket and its queue for ever.
 */
export const LINGER_MS = 2000;

/** A KEEPALIVE is the same 19 octets on every session: encoded once, not at every send. */
const KEEPALIVE_BYTES = encode(KEEPALIVE, INITIAL_SESSION);

export const MessageKinds = ['open', 'update', 'notification', 'keepalive', 'route_refresh'] as const;
export type MessageKind = (typeof MessageKinds)[number];
export type MessageCounters = Record<MessageKind | 'total', number>;

export function newCounters(): MessageCounters {
  return { open: 0, update: 0, notification: 0, keepalive: 0, route_refresh: 0, total: 0 };
}

function kindOf(m: BgpMessage): MessageKind {
  return m.type === 'route-refresh' ? 'route_refresh' : m.type;
}

/**
 * Where every session decodes an UPDATE's IPv4 prefixes: messages are decoded and handled one at a
 * time, so a message's lists are read before the next decode (see `SessionEvents.onUpdate`).
 */
const scratch = new UpdateScratch();

/** Received bytes handled between two looks at the clock (about one full-size UPDATE). */
const CHECK_BYTES = 4096;

/** Why a session ended. */
export interface CloseReason {
  kind: 'notification-sent' | 'notification-received' | 'transport' | 'hold-expired' | 'send-hold-expired' | 'local';
  notification?: NotificationMessage;
  /** One line for `last_error`, e.g. `Received: Cease/Administrative Shutdown`. */
  text: string;
}

export type SessionPhase = 'OpenSent' | 'OpenConfirm' | 'Established' | 'Closed';

export interface SessionOptions {
  /** The OPEN we send. */
  localOpen: OpenMessage;
  /** Configured hold time (s); the session uses the smaller of ours and the peer's. */
  holdTime: number;
  /** Configured keepalive interval (s); capped at a third of the negotiated hold time. */
  keepaliveTime: number;
  /** AS the peer must announce. */
  expectedAs: number;
  /** True for the connection we initiated (collision detection, RFC 4271 6.8). */
  outgoing: boolean;
  /** RFC 9687 send hold time (s); 0 or absent: {@link defaultSendHoldTime} of the negotiated hold time. */
  sendHoldTime?: number;
}

/** What a session reports to its peer. */
export interface SessionEvents {
  /** A valid OPEN arrived. Return a NOTIFICATION to refuse it (e.g. collision loser). */
  onOpen(s: Session, open: OpenMessage): NotificationMessage | null;
  onEstablished(s: Session): void;
  /** An UPDATE: its IPv4 withdrawn routes and NLRI are valid during the call only (reused after). */
  onUpdate(s: Session, m: UpdateMessage): void;
  onRouteRefresh(s: Session, m: RouteRefreshMessage): void;
  onClose(s: Session, reason: CloseReason): void;
  /** The send buffer emptied (resume queued output). */
  onDrain(s: Session): void;
}

/**
 * One TCP connection's BGP protocol from OPEN to close (the OpenSent, OpenConfirm and Established
 * states of RFC 4271 8). Timers run on the injected clock; bytes come from an injected
 * connection, so the whole exchange is testable in memory.
 */
export class Session {
  phase: SessionPhase = 'OpenSent';
  ctx: SessionContext = INITIAL_SESSION;
  remoteOpen: OpenMessage | null = null;
  holdTime = 0;
  keepaliveTime = 0;
  readonly sent = newCounters();
  readonly received = newCounters();
  private readonly framer = new Framer();
  /** The session's timers, restarted without allocating (see {@link QueuedTimer}). */
  private readonly timers: TimerQueue;
  private readonly holdTimer = new QueuedTimer(() => this.holdDue());
  private readonly keepaliveTimer = new QueuedTimer(() => {
    this.send(KEEPALIVE);
    this.armKeepalive();
  });
  private readonly sendHoldTimer = new QueuedTimer(() => this.sendHoldDue());
  /** The negotiated hold time (ms) the hold timer runs for; 0 while it does not run. */
  private holdMs = 0;
  /** `conn.sentBytes` when the send hold timer was (re)started: no change by its expiry means no progress. */
  private sendHoldMark = 0;
  /** When the last message arrived (clock ms): the hold timer runs from here. */
  private lastHeard = 0;
  private closing = false;

  constructor(
    readonly conn: Connection,
    readonly options: SessionOptions,
    private readonly clock: Clock,
    private readonly events: SessionEvents,
  ) {
    this.timers = timerQueue(clock);
  }

  /** Sends our OPEN and starts listening (RFC 4271 8.2.2, TcpConnectionConfirmed). */
  start(): void {
    this.conn.onData((chunk) => this.onData(chunk));
    this.conn.onClose((err) => {
      if (this.phase === 'Closed') return;
      // What the peer sent before it closed counts (its NOTIFICATION, UPDATEs a graceful restart keeps).
      this.handleInbox(performance.now(), Infinity);
      const text = `Socket: ${err ? err.message : 'connection closed by peer'}`;
      if ((this.phase as SessionPhase) !== 'Closed') this.finish({ kind: 'transport', text });
    });
    this.conn.onDrain(() => {
      this.watchSend();
      this.events.onDrain(this);
    });
    this.send(this.options.localOpen);
    this.armHold(OPEN_HOLD_TIME);
  }

  get remoteAs(): number {
    return this.remoteOpen ? openAsn(this.remoteOpen) : 0;
  }

  get remoteRouterId(): string {
    return this.remoteOpen?.bgpId ?? '';
  }

  /** Encodes and sends a message; false once the send buffer is full. */
  send(m: BgpMessage): boolean {
    if (this.phase === 'Closed' || this.closing) return false;
    const bytes = m === KEEPALIVE ? KEEPALIVE_BYTES : encode(m, this.ctx);
    const k = kindOf(m);
    this.sent[k] += 1;
    this.sent.total += 1;
    const ok = this.conn.write(bytes);
    this.watchSend();
    return ok;
  }

  /** Sends pre-encoded UPDATE bytes (`count` messages). */
  sendEncoded(bytes: Uint8Array, count: number): boolean {
    if (this.phase !== 'Established' || this.closing) return false;
    this.sent.update += count;
    this.sent.total += count;
    const ok = this.conn.write(bytes);
    this.watchSend();
    return ok;
  }

  get writable(): boolean {
    return this.phase !== 'Closed' && !this.closing;
  }

  /** Sends `n` (if given), flushes, closes. */
  close(n: NotificationMessage | null, text = 'closed locally'): void {
    if (this.phase === 'Closed' || this.closing) return;
    if (n) {
      this.send(n);
      this.closing = true;
      this.conn.end();
      this.finish({ kind: 'notification-sent', notification: n, text: `Sent: ${describeNotification(n)}` });
    } else {
      this.closing = true;
      this.conn.end();
      this.finish({ kind: 'local', text });
    }
  }

  /**
   * The session is over. The connection is destroyed now, or, when it was ended after a last
   * message (`linger`), once that message had `LINGER_MS` to leave: either way the socket and
   * everything queued on it go, whether the peer reads or not.
   */
  private finish(reason: CloseReason, linger = this.closing): void {
    if (this.phase === 'Closed') return;
    this.phase = 'Closed';
    this.timers.stop(this.holdTimer);
    this.timers.stop(this.keepaliveTimer);
    this.timers.stop(this.sendHoldTimer);
    if (linger) {
      const t = this.clock.setTimeout(() => this.conn.destroy(), LINGER_MS);
      this.conn.onClose(() => this.clock.clearTimeout(t));
    } else this.conn.destroy();
    this.events.onClose(this, reason);
  }

  /** The send hold time in effect (ms), 0 when the timer does not run (RFC 9687: hold time 0). */
  private get sendHoldMs(): number {
    if (this.holdTime === 0) return 0;
    return (this.options.sendHoldTime || defaultSendHoldTime(this.holdTime)) * 1000;
  }

  /**
   * RFC 9687: the send hold timer restarts whenever we get a message out. It runs while bytes wait
   * in our send queue; any progress of the network taking them restarts it; none for the whole
   * send hold time (the peer's TCP window stays closed) ends the session. Bytes the kernel took
   * count as sent: only a queue that backs up into ours is seen.
   */
  private watchSend(): void {
    if (this.phase !== 'Established' || this.closing) return;
    if (this.conn.pendingBytes === 0) {
      this.timers.stop(this.sendHoldTimer);
      return;
    }
    const ms = this.sendHoldMs;
    if (this.sendHoldTimer.running || ms === 0) return;
    this.sendHoldMark = this.conn.sentBytes;
    this.timers.start(this.sendHoldTimer, ms);
  }

  private sendHoldDue(): void {
    if (this.phase !== 'Established' || this.closing || this.conn.pendingBytes === 0) return;
    if (this.conn.sentBytes !== this.sendHoldMark) {
      this.watchSend();
      return;
    }
    // Sent if the peer ever reads again before the socket goes; nothing else can leave.
    const n = notification(ErrorCode.SendHoldTimerExpired, 0);
    this.send(n);
    this.closing = true;
    this.finish({ kind: 'send-hold-expired', notification: n, text: 'Send hold timer expired' }, false);
  }

  /** When the messages being handled were read (clock ms): the clock is read once per read, not per message. */
  get heardAt(): number {
    return this.lastHeard;
  }

  /**
   * (Re)starts the hold timer. A message restarts it only by moving `lastHeard` (a full table is
   * hundreds of thousands of UPDATEs: not a timer each); when the timer fires early for that
   * reason it waits out the rest.
   */
  private armHold(seconds: number): void {
    this.timers.stop(this.holdTimer);
    this.holdMs = seconds * 1000;
    if (seconds <= 0) return;
    this.lastHeard = this.clock.now();
    this.timers.start(this.holdTimer, this.holdMs);
  }

  private holdDue(): void {
    const left = this.lastHeard + this.holdMs - this.clock.now();
    if (left > 0) {
      this.timers.start(this.holdTimer, left);
      return;
    }
    const n = notification(ErrorCode.HoldTimerExpired, 0);
    this.send(n);
    this.closing = true;
    this.conn.end();
    this.finish({ kind: 'hold-expired', notification: n, text: 'Hold timer expired' });
  }

  private armKeepalive(): void {
    if (this.keepaliveTime <= 0) {
      this.timers.stop(this.keepaliveTimer);
      return;
    }
    this.timers.start(this.keepaliveTimer, jittered(this.clock, this.keepaliveTime * 1000));
  }

  /** Messages framed but not handled yet (the rest of a read when its turn's time ran out). */
  private inbox: Uint8Array[] = [];
  private inboxAt = 0;
  /** A bad header the framer found after the messages in `inbox`: handled after them. */
  private inboxError: BgpDecodeError | null = null;
  private resumeScheduled = false;

  /** Pauses the socket and queues the session behind the others waiting (once). */
  private pauseUntilNextTurn(): void {
    this.conn.pause();
    if (this.resumeScheduled) return;
    this.resumeScheduled = true;
    waitForTurn(this);
  }

  /** Its turn in the waiting queue: handles what waits, and reads again once nothing does. */
  resumeWaiting(): void {
    this.resumeScheduled = false;
    if (this.phase === 'Closed') return;
    this.drain();
    if (!this.resumeScheduled) this.conn.resume();
  }

  private onData(chunk: Uint8Array): void {
    if (this.phase === 'Closed') return;
    try {
      for (const bytes of this.framer.push(chunk)) this.inbox.push(bytes);
    } catch (err) {
      if (!(err instanceof BgpDecodeError)) throw err;
      this.inboxError = err;
    }
    if (this.resumeScheduled) return; // a paused session's backlog goes first, in order
    // Sessions already waiting go first: a new read joins the queue behind them.
    if (othersWaiting()) this.pauseUntilNextTurn();
    else this.drain();
  }

  /**
   * Handles the messages waiting, until the turn's time for reading is used up. Node delivers
   * many socket reads in one turn of the event loop, and a read of 64 KB is up to 16,000
   * prefixes; a full table would hold the loop for seconds. Messages are handled for at most
   * READ_MS (read-turns.ts) per turn, by all sessions together (the clock is read about every 4 KB of messages);
   * then the socket pauses and the rest of the read waits in `inbox` until the next turn, so
   * timers (keepalives), the work loop and the control socket get theirs in between.
   */
  private drain(): void {
    const start = performance.now();
    const left = readTimeLeft();
    try {
      this.handleInbox(start, left);
    } finally {
      spentReading(performance.now() - start);
    }
  }

  private handleInbox(start: number, left: number): void {
    const inbox = this.inbox;
    let heard = false;
    let bytesSinceCheck = CHECK_BYTES;
    try {
      while (this.inboxAt < inbox.length) {
        if ((this.phase as SessionPhase) === 'Closed' || this.closing) break;
        if (bytesSinceCheck >= CHECK_BYTES) {
          bytesSinceCheck = 0;
          if (performance.now() - start > left) {
            this.pauseUntilNextTurn();
            return;
          }
        }
        const bytes = inbox[this.inboxAt++]!;
        bytesSinceCheck += bytes.length;
        const m = decodeFramed(bytes, this.ctx, scratch);
        this.received[kindOf(m)] += 1;
        this.received.total += 1;
        // Messages after our OPEN was answered restart the hold timer: once per read, not per message.
        if (!heard && this.phase !== 'OpenSent') {
          heard = true;
          this.lastHeard = this.clock.now();
        }
        this.handle(m);
      }
    } catch (err) {
      if (!(err instanceof BgpDecodeError)) throw err;
      this.inboxError = err;
    }
    this.inbox = [];
    this.inboxAt = 0;
    const err = this.inboxError;
    this.inboxError = null;
    if (err && this.phase !== 'Closed' && !this.closing) {
      this.close(notification(err.notification.code, err.notification.subcode, err.notification.data));
    }
  }

  private handle(m: BgpMessage): void {
    if (m.type === 'notification') {
      this.closing = true;
      this.conn.end();
      this.finish({ kind: 'notification-received', notification: m, text: `Received: ${describeNotification(m)}` });
      return;
    }
    switch (this.phase) {
      case 'OpenSent':
        if (m.type !== 'open') {
          this.close(notification(ErrorCode.Fsm, FsmSubcode.UnexpectedMessageInOpenSent));
          return;
        }
        {
          this.onOpen(m);
          return;
        }
      case 'OpenConfirm':
        if (m.type !== 'keepalive') {
          this.close(notification(ErrorCode.Fsm, FsmSubcode.UnexpectedMessageInOpenConfirm));
          return;
        }
        this.phase = 'Established';
        this.events.onEstablished(this);
        return;
      case 'Established':
        if (m.type === 'update') this.events.onUpdate(this, m);
        else if (m.type === 'route-refresh') this.events.onRouteRefresh(this, m);
        else if (m.type === 'open') this.close(notification(ErrorCode.Fsm, FsmSubcode.UnexpectedMessageInEstablished));
        return;
      default:
        return;
    }
  }

  private onOpen(open: OpenMessage): void {
    const local = this.options.localOpen;
    const asn = openAsn(open);
    if (asn !== this.options.expectedAs) {
      const data = new Uint8Array([(open.myAs >> 8) & 0xff, open.myAs & 0xff]);
      this.close(notification(ErrorCode.Open, OpenSubcode.BadPeerAs, data));
      return;
    }
    if (open.bgpId === '0.0.0.0' || (open.bgpId === local.bgpId && asn === openAsn(local))) {
      this.close(notification(ErrorCode.Open, OpenSubcode.BadBgpIdentifier));
      return;
    }
    if (open.holdTime === 1 || open.holdTime === 2) {
      this.close(notification(ErrorCode.Open, OpenSubcode.UnacceptableHoldTime));
      return;
    }
    this.remoteOpen = open;
    const refusal = this.events.onOpen(this, open);
    if (refusal) {
      this.close(refusal);
      return;
    }
    if ((this.phase as SessionPhase) === 'Closed') return;
    this.holdTime = Math.min(this.options.holdTime, open.holdTime);
    this.keepaliveTime = this.holdTime === 0 ? 0 : Math.min(this.options.keepaliveTime, Math.floor(this.holdTime / 3));
    this.ctx = negotiateSession(local, open);
    this.framer.setExtendedMessage(this.ctx.extendedMessage);
    this.phase = 'OpenConfirm';
    this.send(KEEPALIVE);
    this.armKeepalive();
    this.armHold(this.holdTime);
  }
}

/** `Cease / Administrative Shutdown: "maintenance"`. */
export function describeNotification(n: NotificationMessage): string {
  const msg = n.shutdownMessage ? `: "${n.shutdownMessage}"` : '';
  return `${notificationName(n.code, n.subcode)}${msg}`;
}
