import { isIP } from 'node:net';

/** Parses an IPv4 or IPv6 address into a bigint and its family. */
export function addressToBigInt(addr: string): { family: 4 | 6; value: bigint } | undefined {
  const fam = isIP(addr);
  if (fam === 4) {
    const parts = addr.split('.').map(Number);
    return { family: 4, value: BigInt(((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) };
  }
  if (fam === 6) {
    let s = addr;
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
    if (v4) {
      const n = addressToBigInt(v4[1]!)!.value;
      s = `${s.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = s.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    let value = 0n;
    for (const g of groups) value = (value << 16n) | BigInt(Number.parseInt(g || '0', 16));
    return { family: 6, value };
  }
  return undefined;
}

export function bigIntToAddress(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
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

export interface ParsedCidr {
  family: 4 | 6;
  address: string;
  length: number;
  /** The prefix in canonical form (host bits cleared, RFC 5952 for IPv6). */
  canonical: string;
  /** True when the input had host bits set. */
  hostBitsSet: boolean;
}

/** Parses `a.b.c.d/n` or `x:y::/n`; undefined when malformed. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const addr = addressToBigInt(m[1]!);
  if (!addr) return undefined;
  const length = Number(m[2]);
  const bits = addr.family === 4 ? 32 : 128;
  if (length > bits) return undefined;
  const mask = ((1n << BigInt(length)) - 1n) << BigInt(bits - length);
  const masked = addr.value & mask;
  const address = bigIntToAddress(addr.family, masked);
  return {
    family: addr.family,
    address,
    length,
    canonical: `${address}/${length}`,
    hostBitsSet: masked !== addr.value,
  };
}
