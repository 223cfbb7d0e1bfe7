// The hash functions of the RIB's IPv4 prefix index (`RouteStore`), over keys as `v4Key` makes them.

/**
 * The index hash of an IPv4 key: in `mode` 0 Tabby's own, in mode 1 in BIRD's order, for an index
 * array of 2^`bits` slots (the index chooses: see `IdIndex`).
 *
 * Mode 0: eight neighbouring prefixes of one length (the 3 bits above the length marker) share a
 * block whose position is mixed, and sit in consecutive slots of it: a table arriving in address
 * order (FRR sends its table so), touches one cache line of the index per 8 prefixes instead of
 * one per prefix, and a doubling writes the new index in blocks (blocks of 16 made the probes past
 * other blocks cost more than they saved; 8 was fastest for a table in order and for runs of
 * mixed lengths at random). The top bits (the slot's tag) mix in the position too, so neighbours
 * still have different tags.
 */
export function v4Hash(key: number, mode: number, bits: number): number {
  if (mode === 1) return birdOrder(key, bits);
  let block: number;
  let low: number;
  if (key >= 4294967296) {
    // A /32: 2^32 + address.
    const a = key - 4294967296;
    block = ((a >>> 3) ^ 0x5bd1e995) | 0;
    low = a & 7;
  } else {
    const t = key >>> 0;
    const marker = 31 - Math.clz32(t & -t); // the bit after the prefix's last network bit
    low = marker > 28 ? 0 : (t >>> (marker + 1)) & 7;
    block = marker > 27 ? marker : ((t >>> (marker + 4)) << 5) | marker;
  }
  let h = Math.imul(block, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h & ~7) ^ low ^ Math.imul(low + 1, 0x9e3779b1 & ~0x3ffffff);
}

/**
 * Mode 1: the slot is the top `bits` bits of the hash BIRD 2 files IPv4 prefixes under (address
 * times 2902958171, the length in the top 6 bits), the tag a mix of all of it. BIRD sends its
 * table in that order (its FIB's buckets in turn), so prefixes from a BIRD peer land in slots
 * one after the other.
 */
function birdOrder(key: number, bits: number): number {
  let addr: number;
  let len: number;
  if (key >= 4294967296) {
    addr = key - 4294967296;
    len = 32;
  } else {
    const t = key >>> 0;
    len = Math.clz32(t & -t); // the length marker's bit
    addr = t & (t - 1);
  }
  const h = Math.imul(addr, 2902958171) ^ (len << 26);
  const tag = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 26;
  return (h >>> (32 - bits)) | (tag << 26);
}
