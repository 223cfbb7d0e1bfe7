import { Address4, Address6 } from 'ip-address';

/** An address family: 4 or 6. */
export type Family = 4 | 6;

/** A parsed CIDR: network address as a bigint, prefix length, family. */
export interface Cidr {
  family: Family;
  addr: bigint;
  len: number;
}

const BITS = { 4: 32, 6: 128 } as const;

/** Parses an IPv4 or IPv6 address (no prefix) into a bigint, or undefined. */
export function parseIp(s: string): { family: Family; addr: bigint } | undefined {
  if (typeof s !== 'string' || s.includes('/')) return undefined;
  if (s.includes(':')) {
    if (!Address6.isValid(s) || s.includes('%')) return undefined;
    return { family: 6, addr: new Address6(s).bigInt() };
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return undefined;
  const parts = s.split('.').map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  if (!Address4.isValid(s)) return undefined;
  return { family: 4, addr: parts.reduce((a, p) => (a << 8n) | BigInt(p), 0n) };
}

/** Parses `addr/len` (or a bare address, as a host route). `masked` says whether host bits were zero. */
export function parseCidr(s: string): (Cidr & { masked: boolean }) | undefined {
  if (typeof s !== 'string') return undefined;
  const [a, l, extra] = s.split('/');
  if (extra !== undefined || a === undefined) return undefined;
  const ip = parseIp(a);
  if (!ip) return undefined;
  const bits = BITS[ip.family];
  let len: number = bits;
  if (l !== undefined) {
    if (!/^\d{1,3}$/.test(l)) return undefined;
    len = Number(l);
    if (len > bits) return undefined;
  }
  const net = ip.addr & mask(ip.family, len);
  return { family: ip.family, addr: net, len, masked: net === ip.addr };
}

/** The netmask of a prefix length as a bigint. */
export function mask(family: Family, len: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return len === 0 ? 0n : (all >> (bits - BigInt(len))) << (bits - BigInt(len));
}

/** Formats an address bigint. */
export function formatIp(family: Family, addr: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 255n)).join('.');
  return Address6.fromBigInt(addr).correctForm();
}

/** Formats a CIDR as `addr/len` (network address). */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.addr)}/${c.len}`;
}

/** The number of addresses in a prefix. */
export function size(c: Cidr): bigint {
  return 1n << BigInt(BITS[c.family] - c.len);
}

/** Whether `inner` lies within `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    inner.len >= outer.len &&
    (inner.addr & mask(outer.family, outer.len)) === outer.addr
  );
}

/** Whether an address lies within a prefix. */
export function containsIp(outer: Cidr, family: Family, addr: bigint): boolean {
  return outer.family === family && (addr & mask(family, outer.len)) === outer.addr;
}

/** The address width of a family. */
export function bits(family: Family): number {
  return BITS[family];
}
