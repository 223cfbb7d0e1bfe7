import { describe, expect, it } from 'vitest';
import { type CaseResult, ingestReport } from './ingest-report.js';

/** A finished fast-feeder packed run of `receiver` in round `run`. */
const run = (receiver: string, round: number, cpu: number): CaseResult => ({
  feeder: 'fast',
  receiver,
  mode: 'packed',
  prefixes: 1000,
  status: 'ok',
  run: round,
  seconds: cpu,
  ingestCpuSeconds: cpu,
  peakRssMb: 100,
  loopMaxMs: 10,
});

const report = (results: CaseResult[]) => ingestReport(results, 1000, false, ['fast'], ['packed'], 60, 0, 3);

describe('the ingest report', () => {
  it('judges a target on the medians, so one slow run does not decide it, and counts the rounds within it', () => {
    const bird = [1, 1, 1].map((cpu, i) => run('BIRD', i + 1, cpu));
    const tabby = [0.9, 0.95, 2].map((cpu, i) => run('Tabby', i + 1, cpu));
    const r = report([...bird, ...tabby]);
    expect(r.met['fast.packed.cpu']).toBe(true);
    expect(r.markdown).toContain("fast feeder, packed, CPU at or below 1x BIRD's: 0.95x (2 of 3 rounds) **met**");
  });

  it("pairs each run with BIRD's run of its own round", () => {
    // The machine slowed down round by round: two Tabby runs are within BIRD's of their round,
    // but the medians decide the target.
    const bird = [0.5, 1, 2].map((cpu, i) => run('BIRD', i + 1, cpu));
    const tabby = [0.45, 1.1, 1.8].map((cpu, i) => run('Tabby', i + 1, cpu));
    const r = report([...bird, ...tabby]);
    expect(r.met['fast.packed.cpu']).toBe(false);
    expect(r.markdown).toContain('1.10x (2 of 3 rounds) **NOT met**');
  });

  it('decides nothing when a run of the receiver failed', () => {
    const bird = [1, 1].map((cpu, i) => run('BIRD', i + 1, cpu));
    const r = report([...bird, run('Tabby', 1, 0.5), { ...run('Tabby', 2, 0), status: 'timeout' }]);
    expect(r.met['fast.packed.cpu']).toBeNull();
  });
});
