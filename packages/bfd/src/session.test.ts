import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { Diag, State } from './constants.js';
import { DiscardCode } from './errors.js';
import { type ControlPacket, decodeControl, encodeControl } from './packet.js';
import { pair, type Sent } from './pair.test-support.js';
import { BfdSession } from './session.js';

const bothUp = (p: ReturnType<typeof pair>) => () => p.a.fsm.stateName === 'Up' && p.b.fsm.stateName === 'Up';

function gaps(sent: Sent[]): number[] {
  return sent.slice(1).map((s, i) => s.at - sent[i]!.at);
}

describe('BfdSession: three-way handshake and slow start', () => {
  it('comes Up through Init, and announces each change at once', () => {
    const p = pair();
    p.start();
    expect(p.runUntil(bothUp(p), 5000)).not.toBeNull();
    p.clock.advance(20);
    const path = p.a.changes.map((c) => `${c.from}>${c.to}`);
    expect(path[path.length - 1]).toMatch(/>Up$/);
    expect(path.every((x) => ['Down>Init', 'Init>Up', 'Down>Up'].includes(x))).toBe(true);
    // Each change is followed by a packet in the new state within the immediate-send gap.
    for (const c of p.a.changes) {
      const next = p.a.sent.find((s) => s.at >= c.at);
      expect(next!.at - c.at).toBeLessThanOrEqual(10);
      expect(next!.packet.state).toBe(State[c.to]);
    }
  });

  it('sends at one second (jittered 75-100%) while not Up, advertising 1 s Desired Min TX', () => {
    const p = pair({ minTxMs: 100 }, { passive: true });
    p.link.cut = true; // the passive side never hears A: A stays Down
    p.start();
    p.clock.advance(20_000);
    expect(p.b.sent).toHaveLength(0);
    const g = gaps(p.a.sent);
    expect(g.length).toBeGreaterThan(15);
    for (const x of g) {
      expect(x).toBeGreaterThanOrEqual(750);
      expect(x).toBeLessThanOrEqual(1000);
    }
    expect(p.a.sent.every((s) => s.packet.desiredMinTxUs === 1_000_000 && s.packet.state === State.Down)).toBe(true);
    expect(p.a.sent.every((s) => s.packet.yourDiscriminator === 0)).toBe(true);
  });

  it('once Up, advertises the configured interval in a Poll Sequence and sends at it', () => {
    const p = pair();
    p.start();
    p.runUntil(bothUp(p), 5000);
    const upAt = p.clock.now();
    p.clock.advance(2000);
    const after = p.a.sent.filter((s) => s.at > upAt);
    expect(after[0]!.packet.desiredMinTxUs).toBe(100_000);
    expect(after.some((s) => s.packet.poll)).toBe(true);
    expect(p.b.sent.some((s) => s.at > upAt && s.packet.final)).toBe(true);
    expect(p.a.fsm.status().pollActive).toBe(false);
    for (const x of gaps(after.slice(2))) {
      expect(x).toBeGreaterThanOrEqual(75);
      expect(x).toBeLessThanOrEqual(100);
    }
  });
});

describe('BfdSession: negotiation (RFC 5880 §6.8.2-6.8.4)', () => {
  it('transmit interval = max(own Desired Min TX, peer Required Min RX); detection = peer mult x max(own Required Min RX, peer Desired Min TX)', () => {
    const p = pair({ minTxMs: 100, minRxMs: 200, multiplier: 3 }, { minTxMs: 300, minRxMs: 50, multiplier: 5 });
    p.start();
    p.runUntil(bothUp(p), 5000);
    p.clock.advance(3000);
    const a = p.a.fsm.status();
    const b = p.b.fsm.status();
    expect(a).toMatchObject({ txIntervalMs: 100, rxIntervalMs: 300, detectTimeMs: 1500, remoteMultiplier: 5 });
    expect(b).toMatchObject({ txIntervalMs: 300, rxIntervalMs: 100, detectTimeMs: 300, remoteMultiplier: 3 });
    expect(a).toMatchObject({ remoteMinRxMs: 50, remoteMinTxMs: 300 });
  });

  it('jitter is 75-90% of the interval when Detect Mult is 1', () => {
    const p = pair({ multiplier: 1 }, {});
    p.start();
    p.runUntil(bothUp(p), 5000);
    const from = p.clock.now() + 500;
    p.clock.advance(10_000);
    const g = gaps(p.a.sent.filter((s) => s.at > from && !s.packet.final && !s.packet.poll));
    expect(g.length).toBeGreaterThan(50);
    for (const x of g) {
      expect(x).toBeGreaterThanOrEqual(75);
      expect(x).toBeLessThanOrEqual(90);
    }
  });

  it('a slower TX takes effect only when the Poll Sequence ends; the new value is advertised at once', () => {
    const p = pair();
    p.start();
    p.runUntil(bothUp(p), 5000);
    p.clock.advance(1000);
    p.link.cut = true; // B never answers the Poll
    const t0 = p.clock.now();
    p.a.fsm.update({ minTxMs: 500, minRxMs: 100, multiplier: 3 });
    p.clock.advance(150); // less than B's detection time (300 ms)
    const polls = p.a.sent.filter((s) => s.at >= t0);
    expect(polls.every((s) => s.packet.poll && s.packet.desiredMinTxUs === 500_000)).toBe(true);
    expect(Math.max(...gaps(polls))).toBeLessThanOrEqual(100); // still the old rate
    p.link.cut = false;
    p.runUntil(() => !p.a.fsm.status().pollActive, 1000);
    expect(p.a.fsm.status().txIntervalMs).toBe(500);
  });

  it('a faster RX keeps the old detection time until the Poll Sequence ends', () => {
    const p = pair({ minRxMs: 300 }, { minTxMs: 50 });
    p.start();
    p.runUntil(bothUp(p), 5000);
    p.clock.advance(1000);
    expect(p.a.fsm.status().detectTimeMs).toBe(900);
    p.link.cut = true;
    p.a.fsm.update({ minTxMs: 100, minRxMs: 50, multiplier: 3 });
    expect(p.a.fsm.status().detectTimeMs).toBe(900);
    p.link.cut = false;
    p.runUntil(() => !p.a.fsm.status().pollActive, 1000);
    p.clock.advance(200);
    expect(p.a.fsm.status().detectTimeMs).toBe(150);
  });

  it('answers a Poll with a Final at once, without the P bit', () => {
    const p = pair();
    p.start();
    p.runUntil(bothUp(p), 5000);
    p.clock.advance(1000);
    const t0 = p.clock.now();
    p.a.fsm.update({ minTxMs: 200, minRxMs: 100, multiplier: 3 });
    p.clock.advance(30);
    const finals = p.b.sent.filter((s) => s.at >= t0 && s.packet.final);
    expect(finals.length).toBeGreaterThanOrEqual(1);
    expect(finals[0]!.at - t0).toBeLessThanOrEqual(12);
    expect(finals.every((s) => !s.packet.poll)).toBe(true);
  });

  it('a peer asking for Required Min RX 0 gets no periodic packets', () => {
    const clock = new ManualClock();
    const sent: ControlPacket[] = [];
    const s = new BfdSession(
      7,
      { minTxMs: 100, minRxMs: 100, multiplier: 3, passive: false, auth: null },
      {
        clock,
        random: () => 0.5,
        transmit: (b) => {
          const r = decodeControl(b);
          if (r.ok) sent.push(r.packet);
        },
        onStateChange: () => {},
      },
    );
    s.start();
    const pkt = peerPacket({ state: State.Down, requiredMinRxUs: 0, yourDiscriminator: 7 });
    expect(s.receive(pkt, encodeControl(pkt))).toBeNull();
    clock.advance(20); // the Init announcement goes out (not periodic)
    const n = sent.length;
    expect(sent.at(-1)!.state).toBe(State.Init);
    clock.advance(2500); // less than the detection time (3 x 1 s)
    expect(sent.length).toBe(n);
  });
});

function peerPacket(over: Partial<ControlPacket>): ControlPacket {
  return {
    diag: 0,
    state: State.Down,
    poll: false,
    final: false,
    controlPlaneIndependent: false,
    demand: false,
    detectMult: 3,
    myDiscriminator: 99,
    yourDiscriminator: 0,
    desiredMinTxUs: 1_000_000,
    requiredMinRxUs: 1_000_000,
    requiredMinEchoRxUs: 0,
    ...over,
  };
}

describe('BfdSession: going Down', () => {
  it('detection time expiry: Down with diag 1 exactly one detection time after the last packet', () => {
    const p = pair();
    p.start();
    p.runUntil(bothUp(p), 5000);
    p.clock.advance(2000);
    const detect = p.a.fsm.status().detectTimeMs;
    p.cut();
    const t0 = p.clock.now();
    const lastRx = Math.max(...p.b.sent.filter((s) => s.at < t0).map((s) => s.at)) + 1; // 1 ms link delay
    p.runUntil(() => p.a.fsm.stateName === 'Down' && p.b.fsm.stateName === 'Down', 2000);
    const down = p.a.changes.find((c) => c.to === 'Down' && c.at >= t0)!;
    expect(down.diag).toBe(Diag.ControlDetectionTimeExpired);
    expect(down.at).toBeCloseTo(lastRx + detect, 5);
    expect(p.a.fsm.status()).toMatchObject({ remoteDiscriminator: 0, lastDownDiag: 1, flaps: 1 });
  });

  it('after a cut is mended, both come back Up', () => {
    const p = pair();
    p.start();
    p.runUntil(bothUp(p), 5000);
    p.clock.advance(1000); // past the Poll Sequence that ends slow start
    p.cut();
    p.clock.advance(2000);
    expect(p.a.fsm.stateName).toBe('Down');
    p.restore();
    expect(p.runUntil(bothUp(p), 10_000)).not.toBeNull();
    expect(p.a.fsm.status().upTransitions).toBe(2);
  });

  it('peer AdminDown: Down with diag 3 and remote state AdminDown (not a failure for the client)', () => {
    const p = pair();
    p.start();
    p.runUntil(bothUp(p), 5000);
    p.b.fsm.setAdminDown(true);
    p.clock.advance(50);
    const last = p.a.changes.at(-1)!;
    expect(last).toMatchObject({
      from: 'Up',
      to: 'Down',
      diag: Diag.NeighborSignaledSessionDown,
      remoteState: 'AdminDown',
    });
    expect(p.b.sent.at(-1)!.packet).toMatchObject({ state: State.AdminDown, diag: Diag.AdministrativelyDown });
    p.clock.advance(5000);
    expect(p.a.fsm.stateName).toBe('Down'); // stays Down while the peer is AdminDown
    expect(p.b.fsm.stateName).toBe('AdminDown');
    p.b.fsm.setAdminDown(false);
    expect(p.runUntil(bothUp(p), 10_000)).not.toBeNull();
  });

  it('local AdminDown discards received packets', () => {
    const p = pair();
    p.start();
    p.runUntil(bothUp(p), 5000);
    p.a.fsm.setAdminDown(true);
    const pkt = peerPacket({ state: State.Up, yourDiscriminator: 0x0a0a0a0a, myDiscriminator: 0x0b0b0b0b });
    expect(p.a.fsm.receive(pkt, encodeControl(pkt))).toBe(DiscardCode.AdminDown);
  });

  it('peer says Down while Up: Down with diag 3', () => {
    const p = pair();
    p.start();
    p.runUntil(bothUp(p), 5000);
    const pkt = peerPacket({ state: State.Down, yourDiscriminator: 0x0a0a0a0a, myDiscriminator: 0x0b0b0b0b });
    p.a.fsm.receive(pkt, encodeControl(pkt));
    expect(p.a.changes.at(-1)).toMatchObject({
      from: 'Up',
      to: 'Down',
      diag: Diag.NeighborSignaledSessionDown,
      remoteState: 'Down',
    });
  });

  it('stop() sends one AdminDown packet and then nothing', () => {
    const p = pair();
    p.start();
    p.runUntil(bothUp(p), 5000);
    p.a.fsm.stop();
    const n = p.a.sent.length;
    expect(p.a.sent.at(-1)!.packet).toMatchObject({ state: State.AdminDown, diag: Diag.AdministrativelyDown });
    p.clock.advance(5000);
    expect(p.a.sent.length).toBe(n);
    expect(p.b.fsm.stateName).toBe('Down');
  });
});

describe('BfdSession: passive role', () => {
  it('sends nothing until the peer is heard, and falls silent again when it is lost', () => {
    const p = pair({ passive: true }, {});
    p.link.cut = true;
    p.start();
    p.clock.advance(5000);
    expect(p.a.sent).toHaveLength(0);
    p.link.cut = false;
    expect(p.runUntil(bothUp(p), 5000)).not.toBeNull();
    p.b.fsm.stop(false);
    p.clock.advance(2000);
    expect(p.a.fsm.stateName).toBe('Down');
    const n = p.a.sent.length;
    p.clock.advance(5000);
    expect(p.a.sent.length).toBe(n);
  });
});

describe('BfdSession: authentication', () => {
  for (const type of ['simple', 'keyed-md5', 'meticulous-keyed-md5', 'keyed-sha1', 'meticulous-keyed-sha1'] as const) {
    it(`${type}: same secret comes Up; a wrong secret is discarded and never Up`, () => {
      const auth = { type, keyId: 3, secret: 'tabby-secret' };
      const ok = pair({ auth }, { auth });
      ok.start();
      expect(ok.runUntil(bothUp(ok), 5000)).not.toBeNull();
      expect(ok.a.sent.every((s) => s.packet.auth?.type !== undefined)).toBe(true);

      const bad = pair({ auth }, { auth: { ...auth, secret: 'other' } });
      bad.start();
      bad.clock.advance(5000);
      expect(bad.a.fsm.stateName).not.toBe('Up');
      const s = bad.b.sent.at(-1)!;
      expect(bad.a.fsm.receive(s.packet, s.bytes)).toBe(DiscardCode.AuthFailed);
    });
  }

  it('meticulous: a replayed packet is discarded (sequence), a fresh one accepted', () => {
    const auth = { type: 'meticulous-keyed-sha1' as const, keyId: 1, secret: 'k' };
    const p = pair({ auth }, { auth });
    p.start();
    p.runUntil(bothUp(p), 5000);
    const last = p.b.sent.at(-1)!;
    p.clock.advance(5);
    expect(p.a.fsm.receive(last.packet, last.bytes)).toBe(DiscardCode.AuthSequence);
  });

  it('mismatched presence: A bit without auth configured, or no A bit with auth configured', () => {
    const auth = { type: 'keyed-sha1' as const, keyId: 1, secret: 'k' };
    const p = pair({ auth }, {});
    p.start();
    p.clock.advance(3000);
    const fromB = p.b.sent.at(-1)!;
    const fromA = p.a.sent.at(-1)!;
    expect(p.a.fsm.receive(fromB.packet, fromB.bytes)).toBe(DiscardCode.AuthMissing);
    expect(p.b.fsm.receive(fromA.packet, fromA.bytes)).toBe(DiscardCode.AuthUnexpected);
  });
});
