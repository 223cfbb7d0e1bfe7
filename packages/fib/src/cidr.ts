import { Address6 } from 'ip-address';
import { InvalidCidrError } from './errors.js';

/** IPv4 dotted quad to an unsigned 32-bit number, or undefined when it does not parse. */
export function parseIpv4(addr: string): number | undefined {
  return parseV4Range(addr, 0, addr.length);
}

// Hand-written (no regex, no substrings): this runs once or twice per route, 100,000s of times.
function parseV4Range(s: string, from: number, to: number): number | undefined {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined; // leading zero: inet_pton refuses it too
      octet = octet * 10 + (c - 48);
      digits += 1;
      if (digits > 3 || octet > 255) return undefined;
    } else if (c === 46 && digits > 0 && dots < 3) {
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots += 1;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return n * 256 + octet;
}

export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function isIpv6(s: string): boolean {
  return s.includes(':');
}

/** A parsed IPv4 prefix. */
export interface Ipv4Prefix {
  addr: number;
  len: number;
}

export function parseIpv4Prefix(cidr: string): Ipv4Prefix {
  const slash = cidr.indexOf('/');
  const addr = parseV4Range(cidr, 0, slash < 0 ? cidr.length : slash);
  let len = 32;
  if (slash >= 0) {
    len = 0;
    if (slash + 1 >= cidr.length || cidr.length - slash > 3) throw new InvalidCidrError(cidr);
    for (let i = slash + 1; i < cidr.length; i++) {
      const c = cidr.charCodeAt(i);
      if (c < 48 || c > 57) throw new InvalidCidrError(cidr);
      len = len * 10 + (c - 48);
    }
  }
  if (addr === undefined || len > 32) throw new InvalidCidrError(cidr);
  return { addr, len };
}

function maskV4(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** True when IPv4 `addr` lies inside `prefix`. */
export function ipv4InPrefix(addr: string, prefix: string): boolean {
  const a = parseIpv4(addr);
  if (a === undefined) return false;
  const p = parseIpv4Prefix(prefix);
  const m = maskV4(p.len);
  return (a & m) >>> 0 === (p.addr & m) >>> 0;
}

/**
 * Canonical prefix: always with a length (`198.18.1.5` becomes `198.18.1.5/32`), IPv6 in RFC 5952
 * form, `default` as `0.0.0.0/0`. Throws `InvalidCidrError` when host bits are set or it does not
 * parse (the kernel would reject such a route).
 */
export function canonicalPrefix(input: string): string {
  if (input === 'default') return '0.0.0.0/0';
  if (!isIpv6(input)) {
    const slash = input.indexOf('/');
    if (slash < 0) {
      if (parseIpv4(input) === undefined) throw new InvalidCidrError(input);
      return `${input}/32`;
    }
    // Parsed in place (no objects): this runs once per desired route.
    const addr = parseV4Range(input, 0, slash);
    const digits = input.length - slash - 1;
    let len = digits === 1 || digits === 2 ? 0 : -1;
    for (let i = slash + 1; i < input.length && len >= 0; i++) {
      const c = input.charCodeAt(i);
      len = c >= 48 && c <= 57 ? len * 10 + (c - 48) : -1;
    }
    if (addr === undefined || len < 0 || len > 32 || (digits === 2 && input.charCodeAt(slash + 1) === 48))
      throw new InvalidCidrError(input);
    if ((addr & ~maskV4(len)) >>> 0 !== 0) throw new InvalidCidrError(input);
    // A parsed IPv4 prefix has exactly one spelling (no leading zeros), so the input is canonical.
    return input;
  }
  let a: Address6;
  try {
    a = new Address6(input.includes('/') ? input : `${input}/128`);
  } catch {
    throw new InvalidCidrError(input);
  }
  if (a.startAddress().correctForm() !== a.correctForm()) throw new InvalidCidrError(input);
  return `${a.correctForm()}/${a.subnetMask}`;
}

let lastAddrIn = '';
let lastAddrOut = '';

/** Canonical address (IPv6 in RFC 5952 form); throws when it does not parse. */
export function canonicalAddress(input: string): string {
  // Callers pass the same gateway for many routes in a row.
  if (input === lastAddrIn) return lastAddrOut;
  const out = canonicalAddressUncached(input);
  lastAddrIn = input;
  lastAddrOut = out;
  return out;
}

function canonicalAddressUncached(input: string): string {
  if (!isIpv6(input)) {
    if (parseIpv4(input) === undefined) throw new InvalidCidrError(input);
    return input;
  }
  try {
    return new Address6(input).correctForm();
  } catch {
    throw new InvalidCidrError(input);
  }
}

/** The prefix as the kernel prints it: host routes without a length. */
export function kernelPrefix(canonical: string): string {
  if (canonical.endsWith('/32') && !isIpv6(canonical)) return canonical.slice(0, -3);
  if (canonical.endsWith('/128')) return canonical.slice(0, -4);
  return canonical;
}

/** True when prefix `inner` lies within prefix `outer` (same family). */
export function prefixContains(outer: string, inner: string): boolean {
  if (isIpv6(outer) !== isIpv6(inner)) return false;
  if (!isIpv6(outer)) {
    const o = parseIpv4Prefix(outer);
    const i = parseIpv4Prefix(inner);
    if (i.len < o.len) return false;
    const m = maskV4(o.len);
    return (o.addr & m) >>> 0 === (i.addr & m) >>> 0;
  }
  try {
    const o = new Address6(outer);
    const i = new Address6(inner.includes('/') ? inner : `${inner}/128`);
    return i.subnetMask >= o.subnetMask && i.isInSubnet(o);
  } catch {
    throw new InvalidCidrError(`${outer} or ${inner}`);
  }
}

/** The address part of `a.b.c.d/len` (or of an address without a length). */
export function addressOf(cidrOrAddr: string): string {
  const slash = cidrOrAddr.indexOf('/');
  return slash < 0 ? cidrOrAddr : cidrOrAddr.slice(0, slash);
}
