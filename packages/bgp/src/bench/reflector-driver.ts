// Client driver for the reflector benchmark (reflector.bench.ts): one Node process, started inside
// the clients' network namespace, that opens N lightweight iBGP sessions to the reflector, one per
// source address, speaks just enough BGP with @tabby/wire (OPEN with 4-octet AS and IPv4 unicast,
// KEEPALIVEs every holdTime/3 less a jitter, UPDATEs counted per session) and reports on stdout as JSON lines;
// after its `end` line it keeps every session until SIGTERM.
//
// Usage: node reflector-driver.js '<DriverConfig as JSON>'. Prefix k of the whole run is the /24
// `11.0.0.0 + k*256` (as `prefixText` in ingest-receivers.ts); announcer a sends k in
// [a*perClient, (a+1)*perClient). A session is complete when it holds every prefix not its own.
import net from 'node:net';
import {
  Afi,
  type AttributeSet,
  BgpDecodeError,
  decode,
  encode,
  encodeAttributeSet,
  Framer,
  KEEPALIVE,
  negotiateSession,
  notification,
  type OpenMessage,
  PrefixList,
  packUpdates,
  type SessionContext,
} from '@tabby/wire';
import { jittered, systemClock } from '../clock.js';
import { ScannedPrefixes, scanUpdate } from './update-scan.js';

export interface DriverConfig {
  rrAddr: string;
  asn: number;
  /** Number of client sessions. */
  clients: number;
  /** Client i uses source address firstAddr + i (an IPv4 address as a uint32). */
  firstAddr: number;
  holdTime: number;
  /** Clients 0..announcers-1 announce `perClient` prefixes each. */
  announcers: number;
  perClient: number;
  /** 'after-all': announcers wait until every session is Established; 'on-established': at once. */
  announce: 'after-all' | 'on-established';
  /** Keep the sessions this long after every session is complete (to catch hold-timer losses). */
  settleMs: number;
  timeoutMs: number;
}

export type DriverEvent =
  | { ev: 'ready'; t: number }
  | { ev: 'allEstablished'; t: number }
  | { ev: 'announceStart'; t: number }
  | { ev: 'announceSent'; t: number }
  | { ev: 'complete'; t: number }
  | { ev: 'down'; t: number; client: number; reason: string; wasEstablished: boolean }
  | {
      ev: 'progress';
      t: number;
      established: number;
      complete: number;
      down: number;
      minHeld: number;
      connectAttempts: number;
    }
  | {
      ev: 'end';
      t: number;
      reason: string;
      driverCpuSeconds: number;
      driverRssMb: number;
      /** Prefixes the clients received announced (each client's own excepted), those already held among them, and withdrawn. */
      received: { announced: number; again: number; withdrawn: number };
    };

const PREFIX_BASE = 11 << 24;
/** One UPDATE in this many (each session's first included) is decoded in full as well as scanned. */
const SAMPLE = 64;
/** How often each session's keepalive and hold timers are looked at (ms). */
const SESSION_TICK_MS = 50;

/**
 * A session's keepalive interval: a third of the hold time less a jitter of up to a quarter
 * (`jittered`, as the speaker's sessions draw theirs), drawn once per session. Looked at once a
 * second and not jittered, 10,000 clients that came up over about 5 s sent their keepalives in
 * bursts of about 2,000 a second, which the reflector read in one poll phase: in the 60 s the
 * report keeps the sessions, its loop was held 69-98 ms in three runs of five (a watch: 93 ms, 83
 * of them on the CPU, a 21 ms scavenge among them); with these timers no gap over 50 ms in four runs.
 */
function keepaliveMs(holdS: number): number {
  return jittered(systemClock, (holdS * 1000) / 3);
}

interface Prefixes {
  readonly count: number;
  readonly addrs: ArrayLike<number>;
  readonly lengths: ArrayLike<number>;
}

function samePrefixes(a: Prefixes, b: Prefixes): boolean {
  if (a.count !== b.count) return false;
  for (let i = 0; i < a.count; i++) if (a.addrs[i] !== b.addrs[i] || a.lengths[i] !== b.lengths[i]) return false;
  return true;
}

function addrText(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

class Session {
  sock: net.Socket | null = null;
  framer = new Framer();
  ctx: SessionContext | null = null;
  state: 'idle' | 'connecting' | 'open-sent' | 'open-confirm' | 'established' | 'down' = 'idle';
  lastRx = 0;
  lastTx = 0;
  holdMs: number;
  kaMs: number;
  held = 0;
  updates = 0;
  have: Uint8Array;
  attempts = 0;
  establishedAt = 0;
  complete = false;
  readonly addr: string;
  readonly ownFrom: number;
  readonly ownTo: number;
  readonly localOpen: OpenMessage;

  constructor(
    readonly d: Driver,
    readonly i: number,
  ) {
    const c = d.cfg;
    this.addr = addrText(c.firstAddr + i);
    this.have = new Uint8Array(d.total);
    this.ownFrom = i < c.announcers ? i * c.perClient : 0;
    this.ownTo = i < c.announcers ? (i + 1) * c.perClient : 0;
    this.holdMs = c.holdTime * 1000;
    this.kaMs = keepaliveMs(c.holdTime);
    this.localOpen = {
      type: 'open',
      version: 4,
      myAs: c.asn > 65535 ? 23456 : c.asn,
      holdTime: c.holdTime,
      bgpId: this.addr,
      capabilities: [
        { kind: 'multiprotocol', afi: Afi.ipv4, safi: 1 },
        { kind: 'four-octet-as', asn: c.asn },
      ],
    };
  }

  get expected(): number {
    return this.d.total - (this.ownTo - this.ownFrom);
  }

  connect(): void {
    this.state = 'connecting';
    this.attempts += 1;
    this.d.connectAttempts += 1;
    this.framer = new Framer();
    const sock = net.createConnection({ host: this.d.cfg.rrAddr, port: 179, localAddress: this.addr });
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on('connect', () => {
      this.state = 'open-sent';
      this.lastRx = Date.now();
      this.send(encode(this.localOpen, this.d.initialCtx));
    });
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', () => {});
    sock.on('close', () => {
      if (this.sock !== sock) return;
      this.sock = null;
      // Our own teardown at the end closes every socket: not a session the reflector lost (those
      // closes were counted as lost whenever their events reached the runner before it tallied).
      if (this.d.finished) return;
      if (this.state === 'established') this.fail('connection closed by the reflector');
      else if (this.state !== 'down') {
        // Not up yet (refused, reset during OPEN): try again, as a real speaker would.
        this.state = 'idle';
        setTimeout(() => {
          if (!this.d.finished && this.state === 'idle') this.connect();
        }, 1000);
      }
    });
  }

  send(b: Uint8Array): void {
    this.lastTx = Date.now();
    this.sock?.write(b);
  }

  fail(reason: string): void {
    if (this.state === 'down') return;
    const wasEstablished = this.state === 'established';
    this.state = 'down';
    this.d.onDown(this, reason, wasEstablished);
    const s = this.sock;
    this.sock = null;
    s?.destroy();
  }

  onData(chunk: Buffer): void {
    this.lastRx = Date.now();
    try {
      for (const m of this.framer.push(chunk)) this.onMessage(m);
    } catch (err) {
      if (err instanceof BgpDecodeError) {
        this.send(encode(notification(err.notification.code, err.notification.subcode), this.d.initialCtx));
      }
      this.fail(`decode error: ${(err as Error).message}`);
    }
  }

  onMessage(bytes: Uint8Array): void {
    // UPDATEs are read by scanning their prefixes; one in SAMPLE (each session's first among them)
    // is also decoded in full, attributes checked, and the two readings must agree.
    if (bytes[18] === 2 && this.ctx) {
      const { withdrawn, nlri } = this.d;
      scanUpdate(bytes, withdrawn, nlri);
      if (this.updates++ % SAMPLE === 0) {
        const m = decode(bytes, this.ctx);
        if (m.type !== 'update' || !samePrefixes(m.withdrawn, withdrawn) || !samePrefixes(m.nlri, nlri)) {
          throw new Error('an UPDATE scanned and decoded gave different prefixes');
        }
      }
      this.onPrefixes(withdrawn, nlri);
      return;
    }
    const m = decode(bytes, this.ctx ?? this.d.initialCtx);
    switch (m.type) {
      case 'open': {
        this.ctx = negotiateSession(this.localOpen, m);
        this.framer.setExtendedMessage(this.ctx.extendedMessage);
        const hold = Math.min(this.d.cfg.holdTime, m.holdTime);
        this.holdMs = hold * 1000;
        this.kaMs = keepaliveMs(hold);
        this.state = 'open-confirm';
        this.send(encode(KEEPALIVE, this.ctx));
        break;
      }
      case 'keepalive':
        if (this.state === 'open-confirm') {
          this.state = 'established';
          this.establishedAt = Date.now();
          this.d.onEstablished(this);
          this.checkComplete();
        }
        break;
      case 'notification':
        this.fail(`NOTIFICATION ${m.code}/${m.subcode}${m.shutdownMessage ? ` "${m.shutdownMessage}"` : ''}`);
        break;
      default:
        break;
    }
  }

  onPrefixes(wd: Prefixes, nl: Prefixes): void {
    const rx = this.d.received;
    rx.withdrawn += wd.count;
    for (let j = 0; j < wd.count; j++) {
      const k = (wd.addrs[j]! - PREFIX_BASE) / 256;
      if (wd.lengths[j] === 24 && k >= 0 && k < this.d.total && this.have[k]) {
        this.have[k] = 0;
        this.held -= 1;
      }
    }
    for (let j = 0; j < nl.count; j++) {
      const k = (nl.addrs[j]! - PREFIX_BASE) / 256;
      if (nl.lengths[j] !== 24 || k < 0 || k >= this.d.total || (k >= this.ownFrom && k < this.ownTo)) continue;
      rx.announced += 1;
      if (this.have[k]) rx.again += 1;
      else {
        this.have[k] = 1;
        this.held += 1;
      }
    }
    this.checkComplete();
  }

  checkComplete(): void {
    const c = this.held >= this.expected;
    if (c !== this.complete) {
      this.complete = c;
      this.d.onComplete(c);
    }
  }

  announce(): void {
    if (!this.ctx || this.ownTo === this.ownFrom) return;
    const prefixes: string[] = [];
    for (let k = this.ownFrom; k < this.ownTo; k++) {
      const a = PREFIX_BASE + k * 256;
      prefixes.push(`${addrText(a)}/24`);
    }
    const attrs: AttributeSet = encodeAttributeSet(
      { origin: 'igp', asPath: [], nextHop: this.addr, localPref: 100 },
      this.ctx,
    );
    for (const u of packUpdates({ announce: PrefixList.from(Afi.ipv4, prefixes), attributes: attrs }, this.ctx)) {
      this.send(u);
    }
  }

  /** Every SESSION_TICK_MS: keepalives and the hold timer (the reflector must send something every hold time). */
  tick(now: number): void {
    if (this.state === 'established' || this.state === 'open-confirm') {
      if (now - this.lastTx >= this.kaMs) this.send(encode(KEEPALIVE, this.ctx ?? this.d.initialCtx));
      if (this.holdMs > 0 && now - this.lastRx > this.holdMs) {
        this.send(encode(notification(4, 0), this.ctx ?? this.d.initialCtx));
        this.fail('hold timer expired (nothing from the reflector for the hold time)');
      }
    } else if (this.state === 'open-sent' && now - this.lastRx > 240_000) {
      // RFC 4271's large hold time before the OPEN arrives: drop this connection and try again.
      const s = this.sock;
      this.sock = null;
      s?.destroy();
      this.state = 'idle';
      this.connect();
    }
  }
}

class Driver {
  readonly t0 = Date.now();
  readonly total: number;
  readonly initialCtx: SessionContext = negotiateSession(
    { type: 'open', version: 4, myAs: 0, holdTime: 0, bgpId: '0.0.0.0', capabilities: [] },
    { type: 'open', version: 4, myAs: 0, holdTime: 0, bgpId: '0.0.0.0', capabilities: [] },
  );
  readonly sessions: Session[] = [];
  /** Scratch for the UPDATE being read (one at a time: sessions read in turn). */
  readonly withdrawn = new ScannedPrefixes();
  readonly nlri = new ScannedPrefixes();
  established = 0;
  down = 0;
  connectAttempts = 0;
  readonly received = { announced: 0, again: 0, withdrawn: 0 };
  finished = false;
  allEstablishedAt = 0;
  completeAt = 0;
  announced = false;

  constructor(readonly cfg: DriverConfig) {
    this.total = cfg.announcers * cfg.perClient;
    this.announced = cfg.announce === 'on-established';
    for (let i = 0; i < cfg.clients; i++) this.sessions.push(new Session(this, i));
  }

  emit(e: DriverEvent): void {
    process.stdout.write(`${JSON.stringify(e)}\n`);
  }

  now(): number {
    return Date.now() - this.t0;
  }

  start(): void {
    this.emit({ ev: 'ready', t: 0 });
    for (const s of this.sessions) s.connect();
    this.timers.push(setInterval(() => this.tick(), 1000));
    this.timers.push(
      setInterval(() => {
        const now = Date.now();
        for (const s of this.sessions) s.tick(now);
      }, SESSION_TICK_MS),
    );
    setTimeout(() => this.end('timeout'), this.cfg.timeoutMs);
  }

  readonly timers: NodeJS.Timeout[] = [];

  onEstablished(s: Session): void {
    this.established += 1;
    if (this.cfg.announce === 'on-established') s.announce();
    if (this.established === this.cfg.clients && !this.allEstablishedAt) {
      this.allEstablishedAt = Date.now();
      this.emit({ ev: 'allEstablished', t: this.now() });
      if (this.cfg.announce === 'after-all') {
        // Give the reflector a moment to finish the OPEN round (its End-of-RIBs), then announce.
        setTimeout(() => this.announceAll(), 1000);
      }
    }
  }

  announceAll(): void {
    this.emit({ ev: 'announceStart', t: this.now() });
    for (const s of this.sessions) if (s.state === 'established') s.announce();
    this.announced = true;
    this.emit({ ev: 'announceSent', t: this.now() });
  }

  completeCount = 0;

  onComplete(on: boolean): void {
    this.completeCount += on ? 1 : -1;
    if (on && this.completeCount === this.cfg.clients && this.allEstablishedAt && this.announced && !this.completeAt) {
      this.completeAt = Date.now();
      this.emit({ ev: 'complete', t: this.now() });
      setTimeout(() => this.end('done'), this.cfg.settleMs);
    }
  }

  onDown(s: Session, reason: string, wasEstablished: boolean): void {
    this.down += 1;
    if (wasEstablished) this.established -= 1;
    this.emit({ ev: 'down', t: this.now(), client: s.i, reason, wasEstablished });
  }

  tick(): void {
    const now = Date.now();
    let complete = 0;
    let minHeld = Number.POSITIVE_INFINITY;
    for (const s of this.sessions) {
      if (s.held >= s.expected) complete += 1;
      minHeld = Math.min(minHeld, s.held);
    }
    this.emit({
      ev: 'progress',
      t: this.now(),
      established: this.established,
      complete,
      down: this.down,
      minHeld,
      connectAttempts: this.connectAttempts,
    });
    if (!this.completeAt && complete === this.cfg.clients && this.allEstablishedAt && this.announced) {
      this.completeAt = now;
      this.emit({ ev: 'complete', t: this.now() });
      setTimeout(() => this.end('done'), this.cfg.settleMs);
    }
  }

  end(reason: string): void {
    if (this.finished) return;
    const cpu = process.cpuUsage();
    this.emit({
      ev: 'end',
      t: this.now(),
      reason,
      driverCpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
      driverRssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
      received: this.received,
    });
    this.finished = true;
    for (const t of this.timers) clearInterval(t);
    // The runner reads the reflector's state with every session still up, then stops the driver
    // (SIGTERM), and every session closes at once. Closing here raced with that last reading: the
    // reflector could answer it only after handling every close, and the disconnect's stall was
    // then counted as one while the clients were up.
    process.once('SIGTERM', () => this.close());
    setTimeout(() => this.close(), 60_000);
  }

  close(): void {
    for (const s of this.sessions) s.sock?.destroy();
    setTimeout(() => process.exit(0), 200);
  }
}

const arg = process.argv[2];
if (arg) new Driver(JSON.parse(arg) as DriverConfig).start();
