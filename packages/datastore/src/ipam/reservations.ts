import { type Cidr, type Family, parseCidr, size } from '../ip.js';
import type { IPReservationResource } from '../resources/types.js';

const lesser = (a: bigint, b: bigint) => (a < b ? a : b);
const greater = (a: bigint, b: bigint) => (a < b ? b : a);

interface Range {
  start: bigint;
  /** Inclusive. */
  end: bigint;
}

/**
 * The addresses IPReservations keep from IPAM: every `reservedCIDRs` entry (a CIDR or a single
 * address) of every reservation, merged into sorted, disjoint ranges per family so that a lookup
 * is a binary search and a count never counts an address twice.
 */
export class Reservations {
  private readonly ranges: Record<Family, Range[]> = { 4: [], 6: [] };

  constructor(reservations: readonly IPReservationResource[]) {
    const raw: Record<Family, Range[]> = { 4: [], 6: [] };
    for (const r of reservations) {
      for (const text of r.spec.reservedCIDRs ?? []) {
        const c = parseCidr(text);
        if (c) raw[c.family].push({ start: c.addr, end: c.addr + size(c) - 1n });
      }
    }
    for (const family of [4, 6] as const) {
      const sorted = raw[family].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
      const merged = this.ranges[family];
      for (const r of sorted) {
        const last = merged[merged.length - 1];
        if (last && r.start <= last.end + 1n) {
          if (r.end > last.end) last.end = r.end;
        } else merged.push({ ...r });
      }
    }
  }

  /** The index of the first range that ends at or after `addr` (binary search). */
  private indexFrom(family: Family, addr: bigint): number {
    const list = this.ranges[family];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((list[mid] as Range).end < addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether an address is reserved. */
  has(family: Family, addr: bigint): boolean {
    const r = this.ranges[family][this.indexFrom(family, addr)];
    return r !== undefined && r.start <= addr;
  }

  /** How many addresses of `c` are reserved. */
  countIn(c: Cidr): bigint {
    const start = c.addr;
    const end = c.addr + size(c) - 1n;
    const list = this.ranges[c.family];
    let n = 0n;
    for (let i = this.indexFrom(c.family, start); i < list.length; i++) {
      const r = list[i] as Range;
      if (r.start > end) break;
      n += lesser(r.end, end) - greater(r.start, start) + 1n;
    }
    return n;
  }

  /** Whether every address of `c` is reserved (IPAM then never claims it as a block). */
  covers(c: Cidr): boolean {
    const r = this.ranges[c.family][this.indexFrom(c.family, c.addr)];
    return r !== undefined && r.start <= c.addr && r.end >= c.addr + size(c) - 1n;
  }
}
