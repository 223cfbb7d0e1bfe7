import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';

describe('ManualClock', () => {
  it('runs callbacks in due order and only when time reaches them', () => {
    const c = new ManualClock();
    const seen: string[] = [];
    c.setTimeout(() => seen.push('b@20'), 20);
    c.setTimeout(() => seen.push('a@10'), 10);
    c.setTimeout(() => seen.push('c@10'), 10);
    c.advance(9);
    expect(seen).toEqual([]);
    c.advance(1);
    expect(seen).toEqual(['a@10', 'c@10']);
    expect(c.now()).toBe(10);
    c.advance(100);
    expect(seen).toEqual(['a@10', 'c@10', 'b@20']);
    expect(c.now()).toBe(110);
  });

  it('runs timers scheduled by callbacks within the same advance, and honours cancellation', () => {
    const c = new ManualClock();
    const seen: number[] = [];
    const h = c.setTimeout(() => seen.push(-1), 5);
    c.setTimeout(() => {
      seen.push(c.now());
      c.setTimeout(() => seen.push(c.now()), 3);
    }, 2);
    c.clearTimeout(h);
    c.advance(10);
    expect(seen).toEqual([2, 5]);
    expect(c.pendingCount).toBe(0);
  });
});
