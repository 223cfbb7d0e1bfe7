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

/** One run of `receiver` per round, with these CPU figures. */
const rounds = (receiver: string, cpus: number[]) => cpus.map((cpu, i) => run(receiver, i + 1, cpu));

const report = (results: CaseResult[]) => ingestReport(results, 1000, false, ['fast'], ['packed'], 60, 0, 3);

describe('the ingest report', () => {
  it('judges a target on the median round, so one slow run does not decide it, and counts the rounds within it', () => {
    const r = report([...rounds('BIRD', [1, 1, 1]), ...rounds('Tabby', [0.9, 0.95, 2])]);
    expect(r.met['fast.packed.cpu']).toBe(true);
    expect(r.markdown).toContain("fast feeder, packed, CPU at or below 1x BIRD's: 0.95x (2 of 3 rounds) **met**");
  });

  it("compares each run with BIRD's run of its own round, so the machine's drift between rounds cancels", () => {
    // The machine slowed down round by round. Within its round Tabby took 0.9x, 1.1x and 0.9x
    // BIRD's CPU; the median of Tabby's runs over the median of BIRD's would be 1.1x.
    const r = report([...rounds('BIRD', [0.5, 1, 2]), ...rounds('Tabby', [0.45, 1.1, 1.8])]);
    expect(r.met['fast.packed.cpu']).toBe(true);
    expect(r.markdown).toContain("CPU at or below 1x BIRD's: 0.90x (2 of 3 rounds) **met**");
    expect(r.markdown).toMatch(
      /\| fast \| packed \| Tabby \| 3 of 3 \| [^|]+\| [^|]+\| 100 \| 0\.90x \| 0\.90x \| 1\.00x \| 10 \|/,
    );
  });

  it('decides nothing when a run of the receiver failed', () => {
    const r = report([...rounds('BIRD', [1, 1]), run('Tabby', 1, 0.5), { ...run('Tabby', 2, 0), status: 'timeout' }]);
    expect(r.met['fast.packed.cpu']).toBeNull();
  });
});
