import { copyBytes } from './bytes.js';

/**
 * FNV-1a (32-bit) over `b[start..end)`, continuing from `seed`. Used as a stable key of the raw
 * attribute bytes so a speaker can intern identical attribute sets without decoding them.
 */
export function fnv1a(b: Uint8Array, start = 0, end = b.length, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = start; i < end; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The attribute set an UPDATE announces its prefixes with, as raw bytes: every path attribute
 * except MP_REACH_NLRI / MP_UNREACH_NLRI and except any attribute decoding discarded, followed, when
 * MP_REACH_NLRI is present, by an MP_REACH_NLRI attribute holding its AFI, SAFI and next hop but no
 * NLRI. Two UPDATEs (on one session) announce with the same attributes exactly when their bytes
 * are equal. `hash` is FNV-1a of the bytes (it can collide: confirm with `equals`).
 *
 * The bytes usually stay inside the received chunk and are only materialised on demand:
 * `equals(storedBytes)` compares without allocating, `copy()` returns bytes that are safe to keep,
 * and `bytes` is a view into the chunk (do not keep it).
 */
export class AttributeKey {
  readonly hash: number;
  /** Length of the key bytes. */
  readonly length: number;
  readonly #src: Uint8Array;
  readonly #start: number;

  constructor(src: Uint8Array, start: number, length: number, hash = fnv1a(src, start, start + length)) {
    this.#src = src;
    this.#start = start;
    this.length = length;
    this.hash = hash;
  }

  /** A view of the key bytes (into the received chunk: copy before keeping). */
  get bytes(): Uint8Array {
    return new Uint8Array(this.#src.buffer, this.#src.byteOffset + this.#start, this.length);
  }

  /** A copy of the key bytes, safe to keep. */
  copy(): Uint8Array {
    return copyBytes(this.#src, this.#start, this.#start + this.length);
  }

  /** True when `other` (stored bytes or another key) holds exactly these bytes. */
  equals(other: Uint8Array | AttributeKey): boolean {
    if (other instanceof AttributeKey) {
      if (other.hash !== this.hash || other.length !== this.length) return false;
      return other.equals(this.bytes);
    }
    if (other.length !== this.length) return false;
    const s = this.#src;
    const o = this.#start;
    for (let i = 0; i < other.length; i++) if (s[o + i] !== other[i]) return false;
    return true;
  }
}
