import { Afi } from './constants.js';
import { maskWord, PrefixList } from './prefix-list.js';

/**
 * RFC 4271 §4.3 and RFC 7911 §3: a prefix is encoded as [path identifier (4, ADD-PATH only)],
 * length in bits (1), then the fewest octets holding that many bits. Host bits in the last
 * octet are ignored on decode (RFC 4271 §4.3: "trailing bits ... irrelevant") and zero on encode.
 */

const EMPTY = {
  [Afi.ipv4]: [PrefixList.empty(Afi.ipv4, false), PrefixList.empty(Afi.ipv4, true)],
  [Afi.ipv6]: [PrefixList.empty(Afi.ipv6, false), PrefixList.empty(Afi.ipv6, true)],
} as const;

/** A shared empty list (decoders return it instead of allocating). */
export function emptyPrefixList(afi: Afi, addPath: boolean): PrefixList {
  return EMPTY[afi][addPath ? 1 : 0];
}

/**
 * Storage that `decodePrefixes` reuses, so a table is decoded without new typed arrays per UPDATE.
 * Long arrays live outside the JS heap and are freed only by a garbage collection, which a packed
 * feed (few JS objects) seldom runs: a packed full table held about 5 MB of them. Short ones live
 * in the heap but are costly to make all the same (two per UPDATE: a diverse table's 500,000
 * UPDATEs spent about 35 ms making them, and more in the scavenges that freed them). A list
 * decoded into a scratch holds its arrays, not views of them (a view costs as much to make), and
 * stays valid until the next decode into it. The arrays hold as many prefixes as the largest
 * field decoded into it so far (at most one message).
 */
export class PrefixScratch {
  private l = new Uint8Array(64);
  private a = new Uint32Array(64);
  private p = new Uint32Array(64);

  /** The lengths array, with room for at least `n` prefixes. */
  lengths(n: number): Uint8Array {
    if (this.l.length < n) this.l = new Uint8Array(n);
    return this.l;
  }

  addrs(n: number): Uint32Array {
    if (this.a.length < n) this.a = new Uint32Array(n);
    return this.a;
  }

  pathIds(n: number): Uint32Array {
    if (this.p.length < n) this.p = new Uint32Array(n);
    return this.p;
  }
}

/** Scratch for the two IPv4 fields of an UPDATE (withdrawn routes and NLRI), alive at once. */
export class UpdateScratch {
  readonly withdrawn = new PrefixScratch();
  readonly nlri = new PrefixScratch();
}

/** Why a run of prefixes could not be decoded. */
export type NlriFault = 'overrun' | 'length';

/**
 * Decodes the prefixes in `b[start..end)`. Returns the list, or the fault: `'overrun'` when a
 * prefix runs past `end`, `'length'` when a prefix length exceeds 32 or 128. An IPv4 list is
 * decoded into `scratch` when one is given.
 */
export function decodePrefixes(
  b: Uint8Array,
  start: number,
  end: number,
  afi: Afi,
  addPath: boolean,
  scratch?: PrefixScratch,
): PrefixList | NlriFault {
  if (start === end) return EMPTY[afi][addPath ? 1 : 0];
  const max = afi === Afi.ipv4 ? 32 : 128;
  const head = addPath ? 4 : 0;
  let n = 0;
  let p = start;
  while (p < end) {
    if (p + head >= end) return 'overrun';
    const len = b[p + head]!;
    if (len > max) return 'length';
    p += head + 1 + ((len + 7) >> 3);
    n++;
  }
  if (p !== end) return 'overrun';
  p = start;
  if (afi === Afi.ipv4) {
    const lengths = scratch ? scratch.lengths(n) : new Uint8Array(n);
    const pathIds = addPath ? (scratch ? scratch.pathIds(n) : new Uint32Array(n)) : undefined;
    const addrs = scratch ? scratch.addrs(n) : new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      if (pathIds) {
        pathIds[i] = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
        p += 4;
      }
      const len = b[p++]!;
      lengths[i] = len;
      let v = 0;
      switch ((len + 7) >> 3) {
        case 4:
          v = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
          p += 4;
          break;
        case 3:
          v = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8);
          p += 3;
          break;
        case 2:
          v = (b[p]! << 24) | (b[p + 1]! << 16);
          p += 2;
          break;
        case 1:
          v = b[p]! << 24;
          p += 1;
          break;
      }
      addrs[i] = len === 0 ? 0 : (v & (0xffffffff << (32 - len))) >>> 0;
    }
    return new PrefixList(afi, lengths, addrs, pathIds, n);
  }
  const lengths = new Uint8Array(n);
  const pathIds = addPath ? new Uint32Array(n) : undefined;
  const addrs = new Uint32Array(4 * n);
  for (let i = 0; i < n; i++) {
    if (pathIds) {
      pathIds[i] = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
      p += 4;
    }
    const len = b[p++]!;
    lengths[i] = len;
    const bytes = (len + 7) >> 3;
    for (let w = 0; w < 4; w++) {
      let v = 0;
      for (let k = 0; k < 4; k++) {
        const idx = 4 * w + k;
        v = (v << 8) | (idx < bytes ? b[p + idx]! : 0);
      }
      addrs[4 * i + w] = (v & maskWord(len, w)) >>> 0;
    }
    p += bytes;
  }
  return new PrefixList(afi, lengths, addrs, pathIds);
}

/** Encoded size in octets of prefix `i` of `list`. */
export function prefixWireSize(list: PrefixList, i: number, addPath: boolean): number {
  return (addPath ? 5 : 1) + ((list.lengths[i]! + 7) >> 3);
}

/** Encoded size of prefixes `[from, to)`. */
export function prefixesWireSize(list: PrefixList, from: number, to: number, addPath: boolean): number {
  let n = (addPath ? 5 : 1) * (to - from);
  const lengths = list.lengths;
  for (let i = from; i < to; i++) n += (lengths[i]! + 7) >> 3;
  return n;
}

/** Writes prefixes `[from, to)` at `off`; returns the offset after them. */
export function writePrefixes(
  out: Uint8Array,
  off: number,
  list: PrefixList,
  from: number,
  to: number,
  addPath: boolean,
): number {
  const { lengths, addrs, pathIds } = list;
  const words = list.afi === Afi.ipv4 ? 1 : 4;
  let p = off;
  for (let i = from; i < to; i++) {
    if (addPath) {
      const id = pathIds ? pathIds[i]! : 0;
      out[p] = id >>> 24;
      out[p + 1] = (id >>> 16) & 0xff;
      out[p + 2] = (id >>> 8) & 0xff;
      out[p + 3] = id & 0xff;
      p += 4;
    }
    const len = lengths[i]!;
    out[p++] = len;
    const bytes = (len + 7) >> 3;
    for (let k = 0; k < bytes; k++) {
      const v = addrs[i * words + (k >> 2)]!;
      out[p++] = (v >>> (24 - 8 * (k & 3))) & 0xff;
    }
  }
  return p;
}
