import { ManualClock } from './clock.js';
import { type ControlPacket, decodeControl } from './packet.js';
import { BfdSession, type FsmOptions, type StateChange } from './session.js';

/** A deterministic PRNG (mulberry32) so property runs replay exactly. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Sent {
  at: number;
  packet: ControlPacket;
  bytes: Uint8Array;
}

export interface Side {
  fsm: BfdSession;
  sent: Sent[];
  changes: StateChange[];
}

export interface LinkControl {
  /** Probability that a packet is lost (both ways). */
  loss: number;
  /** Nothing is delivered, and packets in flight are lost. */
  cut: boolean;
  /** One-way delay bounds, ms. */
  minDelay: number;
  maxDelay: number;
}

export const defaultOptions: FsmOptions = { minTxMs: 100, minRxMs: 100, multiplier: 3, passive: false, auth: null };

/**
 * Two sessions joined by an in-memory link on one manual clock: every packet is decoded, may be
 * lost or delayed, then given to the other side (as the engine would after demultiplexing).
 */
export function pair(aOpts: Partial<FsmOptions> = {}, bOpts: Partial<FsmOptions> = {}, seed = 1) {
  const clock = new ManualClock(0);
  const random = seeded(seed);
  const link: LinkControl = { loss: 0, cut: false, minDelay: 1, maxDelay: 1 };
  let epoch = 0; // bumped by a cut, so packets in flight are lost
  const sides: Side[] = [];
  const make = (discr: number, opts: Partial<FsmOptions>, peer: () => Side): Side => {
    const side: Side = {
      sent: [],
      changes: [],
      fsm: new BfdSession(
        discr,
        { ...defaultOptions, ...opts },
        {
          clock,
          random,
          transmit: (sent) => {
            // As dgram delivers it: a Buffer, whose slice() is a view, not a copy.
            const bytes = Buffer.from(sent);
            const r = decodeControl(bytes);
            if (!r.ok) throw new Error(`sent an undecodable packet: ${r.error.message}`);
            side.sent.push({ at: clock.now(), packet: r.packet, bytes });
            if (link.cut || random() < link.loss) return;
            const sentIn = epoch;
            const delay = link.minDelay + random() * (link.maxDelay - link.minDelay);
            clock.setTimeout(() => {
              if (sentIn === epoch && !link.cut) peer().fsm.receive(r.packet, bytes);
            }, delay);
          },
          onStateChange: (c) => side.changes.push(c),
        },
      ),
    };
    return side;
  };
  const a = make(0x0a0a0a0a, aOpts, () => sides[1]!);
  const b = make(0x0b0b0b0b, bOpts, () => sides[0]!);
  sides.push(a, b);
  return {
    clock,
    link,
    a,
    b,
    cut() {
      link.cut = true;
      epoch++;
    },
    restore() {
      link.cut = false;
    },
    start() {
      a.fsm.start();
      b.fsm.start();
    },
    /** Advances time in small steps until `cond` holds; returns the time it took, or null. */
    runUntil(cond: () => boolean, maxMs: number, step = 1): number | null {
      const start = clock.now();
      while (clock.now() - start <= maxMs) {
        if (cond()) return clock.now() - start;
        clock.advance(step);
      }
      return cond() ? clock.now() - start : null;
    },
  };
}
