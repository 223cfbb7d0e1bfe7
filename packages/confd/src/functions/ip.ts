import { isIP } from 'node:net';

/** The address as a bigint (IPv4 in 32 bits, IPv6 in 128). Throws on a malformed address. */
export function ipToBigInt(ip: string): bigint {
  const family = isIP(ip);
  if (family === 4) return ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  if (family === 6) {
    let s = ip;
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
    if (v4) {
      const n = ipToBigInt(v4[1]!);
      s = `${s.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = s.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
  }
  throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
}

/** Orders two addresses numerically: -1, 0 or 1. IPv4 sorts before IPv6. */
export function compareIP(a: string, b: string): number {
  const fa = isIP(a);
  const fb = isIP(b);
  if (fa !== fb) {
    if (!fa || !fb) ipToBigInt(fa ? b : a);
    return fa < fb ? -1 : 1;
  }
  const x = ipToBigInt(a);
  const y = ipToBigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
