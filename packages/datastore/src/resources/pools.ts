import type { FieldProblem } from '../errors.js';
import { type Cidr, parseCidr } from '../ip.js';
import type { IPPoolResource } from './types.js';

/** A pool problem found against other pools: which pool, and the `spec.cidr` problem. */
export interface PoolProblem {
  name: string;
  problem: FieldProblem;
}

interface Range {
  name: string;
  cidr: string;
  /** Being written now (not only stored). */
  incoming: boolean;
  family: number;
  start: bigint;
  end: bigint;
}

function range(p: IPPoolResource, incoming: boolean): Range | undefined {
  const c: Cidr | undefined = parseCidr(p.spec.cidr);
  if (!c) return undefined;
  const bits = c.family === 4 ? 32 : 128;
  const span = (1n << BigInt(bits - c.len)) - 1n;
  return { name: p.metadata.name, cidr: p.spec.cidr, incoming, family: c.family, start: c.addr, end: c.addr + span };
}

/**
 * Calico's IP pool rules, for pools about to be written (`incoming`, validated) against the pools
 * stored (`stored`): a pool's CIDR and block size cannot change and a LoadBalancer pool stays one
 * (delete the pool and create it again), and no two pools overlap. Pools are sorted once (n log n), so a file of many pools is checked in one
 * pass. Overlaps among stored pools alone are not reported (they are not being written).
 */
export function poolProblems(incoming: readonly IPPoolResource[], stored: readonly IPPoolResource[]): PoolProblem[] {
  const out: PoolProblem[] = [];
  const byName = new Map(stored.map((p) => [p.metadata.name, p]));
  const writing = new Set<string>();
  const ranges: Range[] = [];
  for (const p of incoming) {
    writing.add(p.metadata.name);
    const old = byName.get(p.metadata.name);
    if (old && old.spec.cidr !== p.spec.cidr) {
      out.push({
        name: p.metadata.name,
        problem: {
          field: 'spec.cidr',
          value: p.spec.cidr,
          message: `cannot change the CIDR of an existing pool (it is ${old.spec.cidr}): pool CIDRs are immutable; delete the pool and create it again`,
        },
      });
    }
    if (old && old.spec.blockSize !== undefined && old.spec.blockSize !== p.spec.blockSize) {
      out.push({
        name: p.metadata.name,
        problem: {
          field: 'spec.blockSize',
          value: p.spec.blockSize,
          message: `cannot change the block size of an existing pool (it is ${old.spec.blockSize}): blocks already claimed keep their size; delete the pool and create it again`,
        },
      });
    }
    if (old?.spec.allowedUses?.includes('LoadBalancer') && !p.spec.allowedUses?.includes('LoadBalancer')) {
      out.push({
        name: p.metadata.name,
        problem: {
          field: 'spec.allowedUses',
          value: p.spec.allowedUses,
          message: 'a LoadBalancer pool cannot become a Workload or Tunnel pool; delete the pool and create it again',
        },
      });
    }
    const r = range(p, true);
    if (r) ranges.push(r);
  }
  for (const p of stored) {
    if (writing.has(p.metadata.name)) continue;
    const r = range(p, false);
    if (r) ranges.push(r);
  }
  // CIDRs nest or are apart: after sorting by start (wider first), a range overlaps an earlier
  // one exactly when it starts before the furthest end seen so far in its family.
  ranges.sort(
    (a, b) =>
      a.family - b.family ||
      (a.start < b.start ? -1 : a.start > b.start ? 1 : b.end > a.end ? 1 : b.end < a.end ? -1 : 0),
  );
  let cover: Range | undefined;
  const reported = new Set<string>();
  for (const r of ranges) {
    if (cover && cover.family === r.family && r.start <= cover.end) {
      for (const [self, other] of [
        [r, cover],
        [cover, r],
      ] as const) {
        if (!self.incoming || reported.has(self.name)) continue;
        reported.add(self.name);
        out.push({
          name: self.name,
          problem: {
            field: 'spec.cidr',
            value: self.cidr,
            message: `overlaps IPPool/${other.name} (${other.cidr}); pools may not overlap`,
          },
        });
      }
    }
    if (!cover || cover.family !== r.family || r.end > cover.end) cover = r;
  }
  return out;
}
