import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { durationSeconds, effectiveBGPConfiguration } from './defaults.js';

describe('durationSeconds (Go durations)', () => {
  it.each([
    ['120s', 120],
    ['2m', 120],
    ['1m30s', 90],
    ['1.5h', 5400],
    ['0s', 0],
    ['1500ms', 1],
    ['90s500ms', 90],
  ])('%s is %i s', (text, seconds) => {
    expect(durationSeconds(text)).toBe(seconds);
  });

  it.each(['', '120', 's', '2 m', '-1s', '1d', '1m 30s'])('%j is not a duration', (text) => {
    expect(durationSeconds(text)).toBeNaN();
  });

  it('sums hours, minutes and seconds in any combination', () => {
    fc.assert(
      fc.property(fc.nat(100), fc.nat(100), fc.nat(100), (h, m, s) => {
        expect(durationSeconds(`${h}h${m}m${s}s`)).toBe(h * 3600 + m * 60 + s);
      }),
    );
  });

  it('the effective configuration carries the mesh restart time in seconds (default 120)', () => {
    expect(effectiveBGPConfiguration(undefined).nodeMeshRestartSeconds).toBe(120);
    expect(effectiveBGPConfiguration({ nodeMeshMaxRestartTime: '5m' }).nodeMeshRestartSeconds).toBe(300);
    expect(effectiveBGPConfiguration({ nodeMeshMaxRestartTime: '0s' }).nodeMeshRestartSeconds).toBe(0);
  });
});
