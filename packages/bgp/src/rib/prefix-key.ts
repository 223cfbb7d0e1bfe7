import type { PrefixList } from '@tabby/wire';
import { bigIntToAddress } from '../config/cidr.js';

/**
 * A compact map key for a unicast prefix. IPv4: a number, see `v4Key`. IPv6: 32 hex digits, `/`,
 * length, a string.
 */
export type PrefixKey = number | string;

const TWO32 = 4294967296;

/**
 * IPv4 key: the prefix's `len` network bits followed by a single 1 bit, left-aligned in 32 bits
 * and read as a signed int32, so every prefix up to /31 is a small integer (a V8 Smi: no boxed
 * number per route, in fields or as a Map key). A /32 is `2^32 + address` (a plain double).
 */
export function v4Key(addr: number, len: number): number {
  if (len === 32) return TWO32 + addr;
  if (len === 0) return -2147483648;
  const p = addr >>> (32 - len);
  return ((p * 2 + 1) << (31 - len)) | 0;
}

/** Inverse of `v4Key`. */
export function v4Parts(key: number): { addr: number; len: number } {
  if (key >= TWO32) return { addr: key - TWO32, len: 32 };
  const t = key >>> 0;
  const low = 31 - Math.clz32(t & -t);
  const len = 31 - low;
  const addr = len === 0 ? 0 : ((t >>> (low + 1)) << (low + 1)) >>> 0;
  return { addr, len };
}

export function prefixKeyAt(list: PrefixList, i: number): PrefixKey {
  if (list.afi === 1) return v4Key(list.addrs[i]!, list.lengths[i]!);
  let s = '';
  for (let w = 0; w < 4; w++) s += list.addrs[4 * i + w]!.toString(16).padStart(8, '0');
  return `${s}/${list.lengths[i]}`;
}

function ipv4Text(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function ipv6Text(hex: string): string {
  return bigIntToAddress(6, BigInt(`0x${hex}`));
}

/** `198.18.0.0/26`, `2001:db8::/64`. */
export function prefixKeyText(key: PrefixKey): string {
  if (typeof key === 'number') {
    const { addr, len } = v4Parts(key);
    return `${ipv4Text(addr)}/${len}`;
  }
  const [hex, len] = key.split('/') as [string, string];
  return `${ipv6Text(hex)}/${len}`;
}

/** Key of a prefix given as text (must be canonical: host bits zero). */
export function prefixKeyFromText(family: 4 | 6, address: bigint, length: number): PrefixKey {
  if (family === 4) return v4Key(Number(address), length);
  return `${address.toString(16).padStart(32, '0')}/${length}`;
}

/** Orders keys by family, then address, then length (for listings). */
export function compareKeys(a: PrefixKey, b: PrefixKey): number {
  if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
  if (typeof a === 'number') {
    const x = v4Parts(a);
    const y = v4Parts(b as number);
    return x.addr - y.addr || x.len - y.len;
  }
  const [ah, al] = a.split('/') as [string, string];
  const [bh, bl] = (b as string).split('/') as [string, string];
  return ah < bh ? -1 : ah > bh ? 1 : Number(al) - Number(bl);
}
