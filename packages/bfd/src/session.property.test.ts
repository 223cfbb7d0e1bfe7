// Two state machines over a lossy in-memory link: they always reach Up while packets flow, and
// each goes Down no later than its detection time after the link is cut.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pair } from './pair.test-support.js';

const timers = fc.record({
  minTxMs: fc.integer({ min: 10, max: 1000 }),
  minRxMs: fc.integer({ min: 10, max: 1000 }),
  multiplier: fc.integer({ min: 1, max: 5 }),
});

const scenario = fc.record({
  a: timers,
  b: timers,
  passive: fc.constantFrom('none', 'a', 'b'),
  loss: fc.double({ min: 0, max: 0.3, noNaN: true }),
  delay: fc.integer({ min: 0, max: 8 }),
  seed: fc.integer(),
  lossyMs: fc.integer({ min: 0, max: 20_000 }),
});

describe('two BfdSessions over a lossy link', () => {
  it('reach Up while packets flow, and go Down within the detection time once they stop', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const p = pair({ ...s.a, passive: s.passive === 'a' }, { ...s.b, passive: s.passive === 'b' }, s.seed);
        // A constant delay: with delay variance on top of jitter, Detect Mult 1 flaps by design.
        p.link.minDelay = p.link.maxDelay = s.delay;
        p.link.loss = s.loss;
        p.start();
        const up = () => p.a.fsm.stateName === 'Up' && p.b.fsm.stateName === 'Up';
        // Lossy: the three-way handshake needs a few packets through each way; with at most 30%
        // loss, 60 s of slow-start packets (one a second) is plenty.
        expect(p.runUntil(up, 60_000, 5)).not.toBeNull();
        p.clock.advance(s.lossyMs);
        // Packets flow without loss: Up, and it stays Up.
        p.link.loss = 0;
        expect(p.runUntil(up, 60_000, 5)).not.toBeNull();
        p.clock.advance(5000);
        expect(up()).toBe(true);
        const flaps = p.a.fsm.status().flaps;
        p.clock.advance(5000);
        expect(p.a.fsm.status().flaps).toBe(flaps);

        // Cut: each side is Down no later than its detection time after the cut.
        const da = p.a.fsm.status().detectTimeMs;
        const db = p.b.fsm.status().detectTimeMs;
        const t0 = p.clock.now();
        p.cut();
        p.clock.advance(Math.max(da, db) + 1);
        const downA = p.a.changes.find((c) => c.at >= t0 && c.to === 'Down');
        const downB = p.b.changes.find((c) => c.at >= t0 && c.to === 'Down');
        expect(downA).toBeDefined();
        expect(downB).toBeDefined();
        expect(downA!.at - t0).toBeLessThanOrEqual(da);
        expect(downB!.at - t0).toBeLessThanOrEqual(db);
        // One side's Down can reach the other first (diag 3), else detection expiry (diag 1).
        expect([1, 3]).toContain(downA!.diag);

        // Restored: Up again.
        p.restore();
        expect(p.runUntil(up, 60_000, 5)).not.toBeNull();
      }),
      { numRuns: 150 },
    );
  });
});
