import { Afi } from './constants.js';
import { ipv4ToString, ipv6WordsToString, parseIpv4, parseIpv6 } from './ip.js';

/** One prefix in object form: what `PrefixList.at` returns and `PrefixList.from` accepts. */
export interface Prefix {
  /** 1 = IPv4, 2 = IPv6 (unicast). */
  readonly afi: Afi;
  /** Text form of the network address, host bits zero: `10.0.0.0`, `2001:db8::`. */
  readonly address: string;
  /** Prefix length in bits: 0..32 or 0..128. */
  readonly length: number;
  /** RFC 7911 path identifier, present only on ADD-PATH lists. */
  readonly pathId?: number;
}

/**
 * A compact, immutable list of unicast prefixes of one family, stored column-wise in typed arrays
 * so that a decoded full table costs a few allocations per UPDATE, not one object per prefix.
 *
 * Layout: prefix `i` has length `lengths[i]`; its address is `addrs[i]` for IPv4 and
 * `addrs[4*i .. 4*i+3]` for IPv6 (32-bit words, most significant first), always with host bits
 * zero; `pathIds[i]` is its RFC 7911 path identifier when the list carries them. A compact key for
 * a RIB is `addrs[i] * 64 + lengths[i]` for IPv4 (exact in a double). The list is the first
 * `count` prefixes: the arrays may be longer (a list decoded into a `PrefixScratch`).
 */
export class PrefixList implements Iterable<Prefix> {
  readonly afi: Afi;
  readonly count: number;
  readonly lengths: Uint8Array;
  readonly addrs: Uint32Array;
  readonly pathIds: Uint32Array | undefined;

  /** `count`: how many prefixes the arrays hold, from their start (a decode scratch's are longer). */
  constructor(afi: Afi, lengths: Uint8Array, addrs: Uint32Array, pathIds?: Uint32Array, count = lengths.length) {
    this.afi = afi;
    this.count = count;
    this.lengths = lengths;
    this.addrs = addrs;
    this.pathIds = pathIds;
  }

  /** An empty list; `addPath` says whether it carries path identifiers. */
  static empty(afi: Afi, addPath = false): PrefixList {
    return new PrefixList(afi, new Uint8Array(0), new Uint32Array(0), addPath ? new Uint32Array(0) : undefined);
  }

  /**
   * Builds a list from text (`"10.0.0.0/8"`) or `Prefix` objects. All items must have the list's
   * family, and either all or none carry a path identifier. Throws a TypeError on bad input,
   * including host bits set beyond the prefix length.
   */
  static from(afi: Afi, items: Iterable<string | Omit<Prefix, 'afi'>>): PrefixList {
    const arr = [...items];
    const words = afi === Afi.ipv4 ? 1 : 4;
    const lengths = new Uint8Array(arr.length);
    const addrs = new Uint32Array(arr.length * words);
    let pathIds: Uint32Array | undefined;
    arr.forEach((item, i) => {
      const p = typeof item === 'string' ? parsePrefixText(item) : item;
      const parsed = parseAddress(afi, p.address);
      const max = afi === Afi.ipv4 ? 32 : 128;
      if (!Number.isInteger(p.length) || p.length < 0 || p.length > max) {
        throw new TypeError(`prefix length ${p.length} out of range 0..${max} for ${p.address}`);
      }
      for (let w = 0; w < words; w++) {
        const m = maskWord(p.length, w);
        if ((parsed[w]! & ~m) !== 0) throw new TypeError(`host bits set in ${p.address}/${p.length}`);
        addrs[i * words + w] = parsed[w]!;
      }
      lengths[i] = p.length;
      if (p.pathId !== undefined) {
        if (i === 0) pathIds = new Uint32Array(arr.length);
        if (!pathIds || !Number.isInteger(p.pathId) || p.pathId < 0 || p.pathId > 0xffffffff) {
          throw new TypeError('path identifiers must be uint32 and on every prefix of a list or on none');
        }
        pathIds[i] = p.pathId;
      } else if (pathIds) {
        throw new TypeError('path identifiers must be on every prefix of a list or on none');
      }
    });
    return new PrefixList(afi, lengths, addrs, pathIds);
  }

  /** Prefix `i` as an object (allocates; use the typed arrays in hot paths). */
  at(i: number): Prefix {
    const text = this.addressAt(i);
    const base = { afi: this.afi, address: text, length: this.lengths[i]! };
    return this.pathIds ? { ...base, pathId: this.pathIds[i]! } : base;
  }

  /** Address text of prefix `i`. */
  addressAt(i: number): string {
    if (this.afi === Afi.ipv4) return ipv4ToString(this.addrs[i]!);
    const w: number[] = [];
    for (let k = 0; k < 4; k++) {
      const v = this.addrs[4 * i + k]!;
      w.push(v >>> 16, v & 0xffff);
    }
    return ipv6WordsToString(w);
  }

  /** `10.0.0.0/8`, or `10.0.0.0/8 path-id 7` for ADD-PATH lists. */
  toStringAt(i: number): string {
    const s = `${this.addressAt(i)}/${this.lengths[i]}`;
    return this.pathIds ? `${s} path-id ${this.pathIds[i]}` : s;
  }

  /** Every prefix as text. */
  toStrings(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.toStringAt(i));
    return out;
  }

  /** A new list holding `count` prefixes from index `start` (copies). */
  slice(start: number, end: number): PrefixList {
    const words = this.afi === Afi.ipv4 ? 1 : 4;
    return new PrefixList(
      this.afi,
      this.lengths.slice(start, end),
      this.addrs.slice(start * words, end * words),
      this.pathIds?.slice(start, end),
    );
  }

  /** This list followed by `other` (same family, same path-id presence). */
  concat(other: PrefixList): PrefixList {
    if (other.afi !== this.afi || !other.pathIds !== !this.pathIds) {
      throw new TypeError('cannot concatenate prefix lists of different families or ADD-PATH modes');
    }
    if (other.count === 0) return this;
    if (this.count === 0) return other;
    const words = this.afi === Afi.ipv4 ? 1 : 4;
    const lengths = new Uint8Array(this.count + other.count);
    lengths.set(this.lengths.subarray(0, this.count));
    lengths.set(other.lengths.subarray(0, other.count), this.count);
    const addrs = new Uint32Array(lengths.length * words);
    addrs.set(this.addrs.subarray(0, this.count * words));
    addrs.set(other.addrs.subarray(0, other.count * words), this.count * words);
    let pathIds: Uint32Array | undefined;
    if (this.pathIds && other.pathIds) {
      pathIds = new Uint32Array(lengths.length);
      pathIds.set(this.pathIds.subarray(0, this.count));
      pathIds.set(other.pathIds.subarray(0, other.count), this.count);
    }
    return new PrefixList(this.afi, lengths, addrs, pathIds);
  }

  *[Symbol.iterator](): Iterator<Prefix> {
    for (let i = 0; i < this.count; i++) yield this.at(i);
  }
}

/** Mask of the network bits of 32-bit word `w` (0-based) for a prefix of `length` bits. */
export function maskWord(length: number, w: number): number {
  const bits = length - 32 * w;
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

function parsePrefixText(s: string): Omit<Prefix, 'afi'> {
  const slash = s.indexOf('/');
  if (slash < 0) throw new TypeError(`not a prefix (address/length): ${JSON.stringify(s)}`);
  const lenText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) throw new TypeError(`bad prefix length in ${JSON.stringify(s)}`);
  return { address: s.slice(0, slash), length: Number(lenText) };
}

function parseAddress(afi: Afi, text: string): number[] {
  if (afi === Afi.ipv4) {
    const v = parseIpv4(text);
    if (v === undefined) throw new TypeError(`not an IPv4 address: ${JSON.stringify(text)}`);
    return [v];
  }
  const b = parseIpv6(text);
  if (!b) throw new TypeError(`not an IPv6 address: ${JSON.stringify(text)}`);
  const out: number[] = [];
  for (let w = 0; w < 4; w++)
    out.push(((b[4 * w]! << 24) | (b[4 * w + 1]! << 16) | (b[4 * w + 2]! << 8) | b[4 * w + 3]!) >>> 0);
  return out;
}
