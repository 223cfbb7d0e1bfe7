import { describe, expect, it, vi } from 'vitest';
import { clients, setup } from './export-fixtures.js';

const clock = vi.hoisted(() => ({ t: 0, packMsPerPrefix: 0 }));

// Packing costs time on the stage's clock: `packMsPerPrefix` for each prefix a batch carries.
vi.mock('./packer.js', async (importOriginal) => {
  const packer = await importOriginal<typeof import('./packer.js')>();
  return {
    ...packer,
    pack: (...args: Parameters<typeof packer.pack>) => {
      const packed = packer.pack(...args);
      clock.t += (packed.announced + packed.withdrawn) * clock.packMsPerPrefix;
      return packed;
    },
  };
});

describe('export stage: a turn of output', () => {
  it('takes no more prefixes than it can pack within the turn', () => {
    clock.packMsPerPrefix = 0.02;
    const s = setup(clients(3), undefined, () => clock.t);
    s.up('c1');
    s.up('c2');
    // 1,000 routes with a set each (a reflector's clients' routes), reflected to c2.
    for (let i = 0; i < 1000; i++) s.announce('c1', `198.20.${i >> 8}.${i & 255}/32`, { communities: [i] });
    s.run();
    expect(s.held('c2').size).toBe(1000);
    // c3 comes up: its group walks the table and packs it, 20 ms of packing in all.
    s.stage.established(s.peers.get('c3')!);
    const turns: number[] = [];
    for (let i = 0; i < 50 && s.held('c3').size < 1000; i++) {
      const start = clock.t;
      s.stage.work(2000); // the speaker's slice
      turns.push(clock.t - start);
    }
    expect(s.held('c3').size).toBe(1000);
    expect(turns.length).toBeGreaterThan(3);
    // 5 ms a turn, over by at most what one look at the clock lets through (64 prefixes).
    for (const ms of turns) expect(ms).toBeLessThanOrEqual(5 + 64 * 0.02);
  });
});
