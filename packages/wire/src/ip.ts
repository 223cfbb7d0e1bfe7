/** IPv4 and IPv6 address text forms, over the compact numeric forms this package uses. */

const OCTET = Array.from({ length: 256 }, (_, i) => String(i));

/** Dotted quad of a 32-bit unsigned value. */
export function ipv4ToString(v: number): string {
  return `${OCTET[v >>> 24]}.${OCTET[(v >>> 16) & 0xff]}.${OCTET[(v >>> 8) & 0xff]}.${OCTET[v & 0xff]}`;
}

/** Dotted quad at `off` in `b`. */
export function ipv4At(b: Uint8Array, off: number): string {
  return `${OCTET[b[off]!]}.${OCTET[b[off + 1]!]}.${OCTET[b[off + 2]!]}.${OCTET[b[off + 3]!]}`;
}

/** Parses a dotted quad into a 32-bit unsigned value; undefined when it is not one. */
export function parseIpv4(s: string): number | undefined {
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return undefined;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 3) return undefined;
      part = part * 10 + (c - 48);
      if (part > 255) return undefined;
      digits++;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return v * 256 + part;
}

/** Writes a dotted quad at `off`; throws a TypeError when `s` is not one. */
export function writeIpv4(b: Uint8Array, off: number, s: string): void {
  const v = parseIpv4(s);
  if (v === undefined) throw new TypeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

/** RFC 5952 text of the 16 octets at `off`. */
export function ipv6At(b: Uint8Array, off: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  return ipv6WordsToString(w);
}

/** RFC 5952 text of eight 16-bit groups: lower case, no leading zeros, longest run (2+) of zero groups as `::`. */
export function ipv6WordsToString(w: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return w.map((x) => x.toString(16)).join(':');
  const head = w.slice(0, bestStart).map((x) => x.toString(16));
  const tail = w.slice(bestStart + bestLen).map((x) => x.toString(16));
  return `${head.join(':')}::${tail.join(':')}`;
}

/** Parses IPv6 text (with `::` and an optional dotted-quad tail) into 16 octets; undefined when invalid. */
export function parseIpv6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  let text = s;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return undefined;
  let words: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    words = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    if (head.length !== 8) return undefined;
    words = head;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >>> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

/** Writes IPv6 text as 16 octets at `off`; throws a TypeError when `s` is not an IPv6 address. */
export function writeIpv6(b: Uint8Array, off: number, s: string): void {
  const v = parseIpv6(s);
  if (!v) throw new TypeError(`not an IPv6 address: ${JSON.stringify(s)}`);
  b.set(v, off);
}
