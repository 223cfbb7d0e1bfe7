import type { PrefixList } from '@tabby/wire';

/**
 * A compact map key for a unicast prefix. IPv4: `address * 64 + length`, a number (exact in a
 * double). IPv6: 32 hex digits, `/`, length, a string.
 */
export type PrefixKey = number | string;

export function prefixKeyAt(list: PrefixList, i: number): PrefixKey {
  if (list.afi === 1) return list.addrs[i]! * 64 + list.lengths[i]!;
  let s = '';
  for (let w = 0; w < 4; w++) s += list.addrs[4 * i + w]!.toString(16).padStart(8, '0');
  return `${s}/${list.lengths[i]}`;
}

function ipv4Text(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function ipv6Text(hex: string): string {
  const groups: string[] = [];
  for (let g = 0; g < 8; g++) groups.push(Number.parseInt(hex.slice(g * 4, g * 4 + 4), 16).toString(16));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** `198.18.0.0/26`, `2001:db8::/64`. */
export function prefixKeyText(key: PrefixKey): string {
  if (typeof key === 'number') return `${ipv4Text(Math.floor(key / 64))}/${key % 64}`;
  const [hex, len] = key.split('/') as [string, string];
  return `${ipv6Text(hex)}/${len}`;
}

/** Address and length of a key, in the form `PrefixList.from` accepts. */
export function prefixKeyParts(key: PrefixKey): { address: string; length: number } {
  const t = prefixKeyText(key);
  const slash = t.lastIndexOf('/');
  return { address: t.slice(0, slash), length: Number(t.slice(slash + 1)) };
}

/** Key of a prefix given as text (must be canonical: host bits zero). */
export function prefixKeyFromText(family: 4 | 6, address: bigint, length: number): PrefixKey {
  if (family === 4) return Number(address) * 64 + length;
  return `${address.toString(16).padStart(32, '0')}/${length}`;
}

export function keyFamily(key: PrefixKey): 4 | 6 {
  return typeof key === 'number' ? 4 : 6;
}
