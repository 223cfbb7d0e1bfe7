import {
  type BgpMessage,
  decode,
  encode,
  Framer,
  INITIAL_SESSION,
  KEEPALIVE,
  type NotificationMessage,
  type OpenMessage,
  sessionContext,
} from '@tabby/wire';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { parseConfig } from './config/load.js';
import { type CloseReason, Session, type SessionOptions } from './session.js';
import type { Connection } from './transport.js';

/**
 * A connection whose send side the test controls: `pendingBytes` is what waits in our send
 * buffer, `sentBytes` what the network took so far (a peer with a closed TCP window takes nothing).
 */
class StuckConnection implements Connection {
  readonly localAddress = '198.18.0.1';
  readonly localPort = 40000;
  readonly remoteAddress = '198.18.0.2';
  readonly remotePort = 179;
  pendingBytes = 0;
  sentBytes = 0;
  ended = false;
  destroyed = false;
  readonly written: BgpMessage[] = [];
  private readonly framer = new Framer();
  private data: ((c: Uint8Array) => void)[] = [];
  private closed: ((err?: Error) => void)[] = [];
  private drained: (() => void)[] = [];

  write(bytes: Uint8Array): boolean {
    if (this.destroyed) return false;
    for (const m of this.framer.push(bytes)) this.written.push(decode(m, sessionContext({ fourOctetAs: true })));
    // Bytes go to the network unless it is stuck, then they stay queued.
    if (this.stuck) this.pendingBytes += bytes.length;
    else this.sentBytes += bytes.length;
    return this.pendingBytes < 1 << 20;
  }
  stuck = false;
  end(): void {
    this.ended = true; // a peer that does not read never sees our FIN: no close follows
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pendingBytes = 0;
    for (const cb of this.closed) cb();
  }
  onData(cb: (chunk: Uint8Array) => void): void {
    this.data.push(cb);
  }
  onClose(cb: (err?: Error) => void): void {
    this.closed.push(cb);
  }
  onDrain(cb: () => void): void {
    this.drained.push(cb);
  }
  pause(): void {}
  resume(): void {}

  /** The peer sends `m`. */
  deliver(m: BgpMessage): void {
    for (const cb of this.data) cb(encode(m, INITIAL_SESSION));
  }
  /** The network takes `n` queued bytes (the peer read some). */
  progress(n: number): void {
    this.pendingBytes -= n;
    this.sentBytes += n;
    if (this.pendingBytes === 0) for (const cb of this.drained) cb();
  }
}

const open = (bgpId: string, holdTime: number): OpenMessage => ({
  type: 'open',
  version: 4,
  myAs: 64512,
  holdTime,
  bgpId,
  capabilities: [{ kind: 'four-octet-as', asn: 64512 }],
});

function established(opts: Partial<SessionOptions> = {}, remoteHold = 9) {
  const conn = new StuckConnection();
  const clock = new ManualClock();
  let closed: CloseReason | null = null;
  const s = new Session(
    conn,
    {
      localOpen: open('198.18.0.1', 9),
      holdTime: 9,
      keepaliveTime: 3,
      expectedAs: 64512,
      outgoing: true,
      ...opts,
    },
    clock,
    {
      onOpen: () => null,
      onEstablished: () => {},
      onUpdate: () => {},
      onRouteRefresh: () => {},
      onClose: (_s, r) => {
        closed = r;
      },
      onDrain: () => {},
    },
  );
  s.start();
  conn.deliver(open('198.18.0.2', remoteHold));
  conn.deliver(KEEPALIVE);
  expect(s.phase).toBe('Established');
  /** Time passes in steps of 3 s; the peer keeps sending KEEPALIVEs (it is alive, it just does not read). */
  const live = (seconds: number, each?: () => void) => {
    for (let t = 0; t < seconds && s.phase !== 'Closed'; t += 3) {
      conn.deliver(KEEPALIVE);
      each?.();
      clock.advance(3000);
    }
  };
  /** From now on the peer reads nothing: what we send stays queued (starting with a KEEPALIVE now). */
  const stall = () => {
    conn.stuck = true;
    s.send(KEEPALIVE);
  };
  return { s, conn, clock, live, stall, closed: () => closed as CloseReason | null };
}

const notifications = (c: StuckConnection) =>
  c.written.filter((m): m is NotificationMessage => m.type === 'notification').map((n) => [n.code, n.subcode]);

describe('RFC 9687 send hold timer', () => {
  it('closes a session whose peer takes none of our bytes for the send hold time (default 8 minutes)', () => {
    const t = established();
    t.stall();
    t.live(477); // keepalives pile up, unsent
    expect(t.s.phase).toBe('Established');
    t.live(9);
    expect(t.s.phase).toBe('Closed');
    expect(t.closed()).toMatchObject({ kind: 'send-hold-expired', text: 'Send hold timer expired' });
    expect(notifications(t.conn)).toEqual([[8, 0]]);
    // Nothing more can leave: the socket is destroyed at once and its queue freed.
    expect(t.conn.destroyed).toBe(true);
    expect(t.conn.pendingBytes).toBe(0);
  });

  it('uses the configured send hold time, and twice the hold time when that is longer than 8 minutes', () => {
    const a = established({ sendHoldTime: 20 });
    a.stall();
    a.live(18);
    expect(a.s.phase).toBe('Established');
    a.live(6);
    expect(a.closed()?.kind).toBe('send-hold-expired');
    const b = established({ holdTime: 300, keepaliveTime: 100, localOpen: open('198.18.0.1', 300) }, 300);
    b.stall();
    b.live(597);
    expect(b.s.phase).toBe('Established');
    b.live(6);
    expect(b.closed()?.kind).toBe('send-hold-expired');
  });

  it('keeps a session that makes progress, or has nothing queued, or has no hold time', () => {
    const slow = established({ sendHoldTime: 20 });
    slow.stall();
    // The peer reads a little every 15 s: slow, not stuck.
    let n = 0;
    slow.live(120, () => {
      if (++n % 5 === 0) slow.conn.progress(10);
    });
    expect(slow.s.phase).toBe('Established');
    const idle = established({ sendHoldTime: 20 });
    idle.live(120);
    expect(idle.s.phase).toBe('Established');
    // RFC 9687: with a negotiated hold time of zero the send hold timer does not run.
    const zero = established({ sendHoldTime: 20, holdTime: 0, localOpen: open('198.18.0.1', 0) }, 0);
    zero.stall();
    zero.clock.advance(600_000);
    expect(zero.s.phase).toBe('Established');
  });
});

describe('every session end destroys its socket', () => {
  it('after the hold timer expires on a peer that does not read, the socket goes after a short linger', () => {
    const t = established();
    t.stall();
    t.clock.advance(9000); // the peer went silent
    expect(t.closed()?.kind).toBe('hold-expired');
    expect(notifications(t.conn)).toEqual([[4, 0]]);
    expect(t.conn.ended).toBe(true);
    t.clock.advance(5000);
    expect(t.conn.destroyed).toBe(true);
    expect(t.conn.pendingBytes).toBe(0);
  });

  it('after a local close (Cease) too', () => {
    const t = established();
    t.stall();
    t.s.close({ type: 'notification', code: 6, subcode: 2, data: new Uint8Array() });
    expect(t.conn.ended).toBe(true);
    t.clock.advance(5000);
    expect(t.conn.destroyed).toBe(true);
  });
});

describe('sendHoldTime in the config', () => {
  it('is per peer, and must be greater than the hold time (RFC 9687)', () => {
    const peer = (extra: string) =>
      `routerId: 198.18.0.1\nasn: 64512\npeers:\n  - { address: 198.18.0.2, asn: 64512, holdTime: 30${extra} }\n`;
    expect(parseConfig(peer(', sendHoldTime: 61')).peers[0]?.sendHoldTime).toBe(61);
    expect(parseConfig(peer('')).peers[0]?.sendHoldTime).toBeUndefined();
    expect(() => parseConfig(peer(', sendHoldTime: 30'), 'bgpd.yaml')).toThrow(
      /bgpd\.yaml:4:\d+: peers\[0\]\.sendHoldTime: 30 is not allowed: the send hold time must be greater than the hold time \(30\)/,
    );
  });
});
