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
 * NLRI. Two UPDATEs (on one session) announce with the same attributes exactly when `bytes` are
 * equal; `hash` is FNV-1a of `bytes`, so compare `hash` first. `bytes` may be a view into the
 * received chunk: copy it (`slice()`) before keeping it.
 */
export interface AttributeKey {
  readonly hash: number;
  readonly bytes: Uint8Array;
}

/** True when two keys denote the same attribute set. */
export function sameAttributeKey(a: AttributeKey, b: AttributeKey): boolean {
  if (a.hash !== b.hash || a.bytes.length !== b.bytes.length) return false;
  const x = a.bytes;
  const y = b.bytes;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
