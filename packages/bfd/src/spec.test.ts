import { describe, expect, it } from 'vitest';
import { intervalMs, parseBfdSpec } from './spec.js';

describe('the tabby.dev/bfd annotation form', () => {
  it('the one-line annotation form', () => {
    expect(parseBfdSpec('minRx=100ms,minTx=100ms,multiplier=3')).toEqual({ minRx: 100, minTx: 100, multiplier: 3 });
    expect(parseBfdSpec(' true ')).toEqual({ enabled: true });
    expect(parseBfdSpec('false')).toEqual({ enabled: false });
    expect(parseBfdSpec('enabled=true, passive=true, minRx=0.5s')).toEqual({
      enabled: true,
      passive: true,
      minRx: 500,
    });
    expect(() => parseBfdSpec('minRx=1ms')).toThrow('minRx="1ms" is not an interval from 10 to 60000 ms');
    expect(() => parseBfdSpec('multiplier=x')).toThrow('multiplier="x": expected 1 to 255');
    expect(() => parseBfdSpec('interval=3')).toThrow('unknown key "interval"; expected enabled, minRx');
    expect(() => parseBfdSpec('passive=yes')).toThrow('passive="yes": expected true or false');
  });

  it('intervals: ms as a number or a string, or seconds', () => {
    expect([intervalMs(100), intervalMs('100'), intervalMs('100ms'), intervalMs('0.3s'), intervalMs('1 s')]).toEqual([
      100, 100, 100, 300, 1000,
    ]);
    expect([
      intervalMs(9),
      intervalMs(60_001),
      intervalMs(1.5),
      intervalMs('0.0001s'),
      intervalMs('fast'),
      intervalMs(null),
    ]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });
});
