import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { QueuedTimer, TimerQueue, timerQueue } from './timer-queue.js';

type Op =
  | { kind: 'start'; timer: number; ms: number }
  | { kind: 'stop'; timer: number }
  | { kind: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('start' as const), timer: fc.nat(7), ms: fc.nat(50) }),
  fc.record({ kind: fc.constant('stop' as const), timer: fc.nat(7) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(30) }),
);

describe('TimerQueue', () => {
  it('fires each started timer once, at its due time, in due then start order, and never a stopped one', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const clock = new ManualClock();
        const q = new TimerQueue(clock);
        const fired: [number, number][] = [];
        const timers = Array.from({ length: 8 }, (_, i) => new QueuedTimer(() => fired.push([i, clock.now()])));
        // The model: each timer's due time and start order, or nothing while stopped.
        const due = new Map<number, { at: number; seq: number }>();
        let seq = 0;
        const expected: [number, number][] = [];
        const runModel = (until: number) => {
          for (;;) {
            let next: [number, { at: number; seq: number }] | undefined;
            for (const e of due) {
              if (e[1].at > until) continue;
              if (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq)) next = e;
            }
            if (!next) return;
            due.delete(next[0]);
            expected.push([next[0], next[1].at]);
          }
        };
        for (const o of ops) {
          if (o.kind === 'start') {
            q.start(timers[o.timer]!, o.ms);
            due.set(o.timer, { at: clock.now() + o.ms, seq: seq++ });
          } else if (o.kind === 'stop') {
            q.stop(timers[o.timer]!);
            due.delete(o.timer);
          } else {
            runModel(clock.now() + o.ms);
            clock.advance(o.ms);
          }
          expect(fired).toEqual(expected);
          expect(q.size).toBe(due.size);
          for (const [i, t] of timers.entries()) expect(t.running).toBe(due.has(i));
        }
        runModel(Number.POSITIVE_INFINITY);
        clock.advance(1_000);
        expect(fired).toEqual(expected);
        // Nothing is left set on the clock once every timer has fired or stopped.
        expect(clock.pendingCount).toBe(0);
      }),
    );
  });

  it('runs a timer a callback restarts on a later wake-up, and one it starts for now in the same', () => {
    const clock = new ManualClock();
    const q = timerQueue(clock);
    expect(timerQueue(clock)).toBe(q);
    const seen: string[] = [];
    const b = new QueuedTimer(() => seen.push(`b@${clock.now()}`));
    const a: QueuedTimer = new QueuedTimer(() => {
      seen.push(`a@${clock.now()}`);
      if (clock.now() < 30) q.start(a, 10);
      q.start(b, 0);
    });
    q.start(a, 10);
    clock.advance(25);
    expect(seen).toEqual(['a@10', 'b@10', 'a@20', 'b@20']);
    clock.advance(100);
    expect(seen).toEqual(['a@10', 'b@10', 'a@20', 'b@20', 'a@30', 'b@30']);
    expect(q.size).toBe(0);
    expect(clock.pendingCount).toBe(0);
  });

  it('sets the clock timer again only when the earliest due time moves earlier', () => {
    const clock = new ManualClock();
    const q = new TimerQueue(clock);
    let sets = 0;
    const setTimeout = clock.setTimeout.bind(clock);
    clock.setTimeout = (fn, ms) => {
      sets++;
      return setTimeout(fn, ms);
    };
    const timers = Array.from({ length: 1_000 }, () => new QueuedTimer(() => {}));
    q.start(timers[0]!, 100);
    for (const t of timers.slice(1)) q.start(t, 200 + Math.floor(Math.random() * 1_000));
    // Restarting the later ones (keepalives sent, a message heard) sets nothing.
    for (const t of timers.slice(1)) q.start(t, 500);
    expect(sets).toBe(1);
    expect(clock.pendingCount).toBe(1);
    clock.advance(100);
    // One wake-up ran the first and set the clock for the rest, due together.
    expect(sets).toBe(2);
    clock.advance(400);
    expect(q.size).toBe(0);
    expect(sets).toBe(2);
  });
});
