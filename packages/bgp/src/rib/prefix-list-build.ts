import { Afi, PrefixList } from '@tabby/wire';
import { type PrefixKey, v4Parts } from './prefix-key.js';

/** Builds a wire PrefixList from RIB keys of one family (with path ids when given). */
export function prefixListFromKeys(afi: Afi, keys: readonly PrefixKey[], pathIds?: readonly number[]): PrefixList {
  const n = keys.length;
  const lengths = new Uint8Array(n);
  const words = afi === Afi.ipv4 ? 1 : 4;
  const addrs = new Uint32Array(n * words);
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (typeof k === 'number') {
      const { addr, len } = v4Parts(k);
      addrs[i] = addr;
      lengths[i] = len;
    } else {
      const slash = k.indexOf('/');
      for (let w = 0; w < 4; w++) addrs[4 * i + w] = Number.parseInt(k.slice(w * 8, w * 8 + 8), 16);
      lengths[i] = Number(k.slice(slash + 1));
    }
  }
  return new PrefixList(afi, lengths, addrs, pathIds ? Uint32Array.from(pathIds) : undefined);
}
