import { RouteType, Scope } from './constants.js';
import { sortHops } from './kernel-route.js';
import type { KernelRoute, NextHop } from './types.js';

/**
 * Route types by the first token of an `ip [-N] route show` line; `null`: a type the table never
 * manages (the line is skipped).
 */
export const TYPE_BY_TOKEN: ReadonlyMap<string, RouteType | null> = new Map<string, RouteType | null>(
  Object.entries({
    '1': RouteType.Unicast,
    '2': null,
    '3': null,
    '4': null,
    '5': null,
    '6': RouteType.Blackhole,
    '7': RouteType.Unreachable,
    '8': RouteType.Prohibit,
    '9': null,
    '10': null,
    '11': null,
    unicast: RouteType.Unicast,
    local: null,
    broadcast: null,
    anycast: null,
    multicast: null,
    blackhole: RouteType.Blackhole,
    unreachable: RouteType.Unreachable,
    prohibit: RouteType.Prohibit,
    throw: null,
    nat: null,
    xresolve: null,
  }),
);

/** Route scopes by `ip route` token (number with `-N`, else name). */
export const SCOPE_BY_TOKEN: ReadonlyMap<string, Scope> = new Map<string, Scope>(
  Object.entries({
    '0': Scope.Global,
    '253': Scope.Link,
    '254': Scope.Host,
    global: Scope.Global,
    universe: Scope.Global,
    link: Scope.Link,
    host: Scope.Host,
  }),
);

/** `/etc/iproute2/rt_protos` names, for output without `-N`. */
export const PROTOCOL_BY_NAME: ReadonlyMap<string, number> = new Map(
  Object.entries({
    redirect: 1,
    kernel: 2,
    boot: 3,
    static: 4,
    ra: 9,
    zebra: 11,
    bird: 12,
    dhcp: 16,
    babel: 42,
    bgp: 186,
    isis: 187,
    ospf: 188,
    rip: 189,
    eigrp: 192,
  }),
);

/** Attributes printed as `KEY VALUE` that the table does not use (the value is skipped). */
const VALUE_KEYS = new Set([
  'table',
  'from',
  'tos',
  'dsfield',
  'as',
  'nhid',
  'mark',
  'realm',
  'realms',
  'expires',
  'iif',
  'pref',
  'ttl-propagate',
  'error',
  'mtu',
  'advmss',
  'rtt',
  'rttvar',
  'reordering',
  'window',
  'cwnd',
  'initcwnd',
  'initrwnd',
  'ssthresh',
  'hoplimit',
  'features',
  'quickack',
  'congctl',
  'rto_min',
  'fastopen_no_cookie',
  'used',
  'age',
  'users',
]);

const K_FLAG = 0;
const K_SKIP = 1;
const K_VIA = 2;
const K_DEV = 3;
const K_SRC = 4;
const K_PROTO = 5;
const K_SCOPE = 6;
const K_METRIC = 7;
const K_ONLINK = 8;
const K_WEIGHT = 9;
const K_ENCAP = 10;

/** What the token s[a, b) is, without making a string for the common ones. */
function keyOf(s: string, a: number, b: number): number {
  switch (b - a) {
    case 3:
      if (s.startsWith('via', a)) return K_VIA;
      if (s.startsWith('dev', a)) return K_DEV;
      if (s.startsWith('src', a)) return K_SRC;
      break;
    case 4:
      if (s.startsWith('pref', a)) return K_SKIP;
      break;
    case 5:
      if (s.startsWith('proto', a)) return K_PROTO;
      if (s.startsWith('scope', a)) return K_SCOPE;
      if (s.startsWith('table', a)) return K_SKIP;
      if (s.startsWith('encap', a)) return K_ENCAP;
      break;
    case 6:
      if (s.startsWith('metric', a)) return K_METRIC;
      if (s.startsWith('onlink', a)) return K_ONLINK;
      if (s.startsWith('weight', a)) return K_WEIGHT;
      break;
  }
  return VALUE_KEYS.has(s.slice(a, b)) ? K_SKIP : K_FLAG;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** Unsigned decimal s[a, b), or -1. */
function decimal(s: string, a: number, b: number): number {
  if (a >= b || b - a > 10) return -1;
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/**
 * Streaming parser of `ip -N -4|-6 route show table T` text (the plain-text read-back; `-N`
 * prints types, protocols and scopes as numbers, but names are understood too). Feed it the
 * output in pieces of any size with `push`, then call `end`. Produces the same routes as
 * `ip -N -json route show` does (a test compares both on one table): only unicast, blackhole,
 * unreachable and prohibit routes; multipath next hops (the indented `nexthop` lines) sorted; values the table does not
 * program (table, pref, expires, metrics, ...) skipped.
 */
export class RouteTextParser {
  readonly routes: KernelRoute[] = [];
  private readonly v6: boolean;
  private rest = '';
  /** The route that `nexthop` lines belong to; undefined after a skipped line. */
  private last: KernelRoute | undefined;
  private multipath: KernelRoute[] = [];
  // Repeated values (the same device and gateway on most routes) are reused, not re-sliced.
  private lastDev = '';
  private lastVia = '';

  constructor(v6: boolean) {
    this.v6 = v6;
  }

  /** Feeds output; a line may be split across calls. */
  push(text: string): void {
    const s = this.rest ? this.rest + text : text;
    let start = 0;
    for (;;) {
      const nl = s.indexOf('\n', start);
      if (nl < 0) break;
      if (nl > start) this.line(s, start, nl);
      start = nl + 1;
    }
    this.rest = start < s.length ? s.slice(start) : '';
  }

  /** Parses what is left and returns every route. */
  end(): KernelRoute[] {
    if (this.rest) {
      const s = this.rest;
      this.rest = '';
      this.line(s, 0, s.length);
    }
    for (const r of this.multipath) if (r.nextHops) r.nextHops = sortHops(r.nextHops);
    this.multipath = [];
    return this.routes;
  }

  private value(s: string, a: number, b: number, cached: string): string {
    return b - a === cached.length && s.startsWith(cached, a) ? cached : s.slice(a, b);
  }

  private line(s: string, from: number, to: number): void {
    let i = from;
    if (isSpace(s.charCodeAt(i))) {
      this.nextHopLine(s, i, to);
      return;
    }
    // Token bounds: [a, b).
    let a = i;
    while (i < to && !isSpace(s.charCodeAt(i))) i++;
    let b = i;
    let type: RouteType = RouteType.Unicast;
    // A prefix has a dot, colon or slash; `default` is one too; any other first token is a type.
    let isPrefix = b - a === 7 && s.startsWith('default', a);
    for (let j = a; j < b && !isPrefix; j++) {
      const c = s.charCodeAt(j);
      isPrefix = c === 46 || c === 58 || c === 47;
    }
    if (!isPrefix) {
      const t = TYPE_BY_TOKEN.get(s.slice(a, b));
      if (!t) {
        this.last = undefined;
        return;
      }
      type = t;
      while (i < to && isSpace(s.charCodeAt(i))) i++;
      a = i;
      while (i < to && !isSpace(s.charCodeAt(i))) i++;
      b = i;
    }
    if (a >= b) {
      this.last = undefined;
      return;
    }
    let dst: string;
    if (b - a === 7 && s.startsWith('default', a)) dst = this.v6 ? '::/0' : '0.0.0.0/0';
    else {
      dst = s.slice(a, b);
      if (!dst.includes('/')) dst += this.v6 ? '/128' : '/32';
    }
    let protocol = 3; // iproute2 omits `proto boot`
    let via: string | undefined;
    let dev: string | undefined;
    let src: string | undefined;
    let onlink = false;
    let scope: Scope = Scope.Global;
    let metric = -1;
    let inEncap = false;
    for (;;) {
      while (i < to && isSpace(s.charCodeAt(i))) i++;
      if (i >= to) break;
      a = i;
      while (i < to && !isSpace(s.charCodeAt(i))) i++;
      b = i;
      const k = keyOf(s, a, b);
      if (inEncap) {
        // Encapsulation arguments vary; they end where the route's own attributes resume.
        if (k !== K_VIA && k !== K_DEV && k !== K_PROTO && k !== K_SCOPE && k !== K_METRIC) continue;
        inEncap = false;
      }
      if (k === K_FLAG) continue;
      if (k === K_ONLINK) {
        onlink = true;
        continue;
      }
      if (k === K_ENCAP) {
        inEncap = true;
        continue;
      }
      // Every other key has a value.
      while (i < to && isSpace(s.charCodeAt(i))) i++;
      a = i;
      while (i < to && !isSpace(s.charCodeAt(i))) i++;
      b = i;
      if (a >= b) break;
      switch (k) {
        case K_VIA:
          // `via inet6 ADDR` (a gateway of the other family).
          if ((b - a === 4 && s.startsWith('inet', a)) || (b - a === 5 && s.startsWith('inet6', a))) {
            while (i < to && isSpace(s.charCodeAt(i))) i++;
            a = i;
            while (i < to && !isSpace(s.charCodeAt(i))) i++;
            b = i;
          }
          via = this.value(s, a, b, this.lastVia);
          this.lastVia = via;
          break;
        case K_DEV:
          dev = this.value(s, a, b, this.lastDev);
          this.lastDev = dev;
          break;
        case K_SRC:
          src = s.slice(a, b);
          break;
        case K_PROTO: {
          const n = decimal(s, a, b);
          protocol = n >= 0 ? n : (PROTOCOL_BY_NAME.get(s.slice(a, b)) ?? -1);
          break;
        }
        case K_SCOPE:
          scope = SCOPE_BY_TOKEN.get(s.slice(a, b)) ?? Scope.Global;
          break;
        case K_METRIC:
          metric = decimal(s, a, b);
          break;
        case K_SKIP:
          // `mtu lock 1400`: a locked metric has one more token.
          if (b - a === 4 && s.startsWith('lock', a)) {
            while (i < to && isSpace(s.charCodeAt(i))) i++;
            while (i < to && !isSpace(s.charCodeAt(i))) i++;
          }
          break;
      }
    }
    let r: KernelRoute;
    if (type !== RouteType.Unicast) {
      r = { dst, type, protocol, scope: Scope.Global };
      if (metric >= 0) r.metric = metric;
      this.routes.push(r);
      this.last = undefined;
      return;
    }
    if (dev !== undefined && src === undefined && metric < 0) {
      // The common shapes, made in one go (and with the property order `toKernelRoute` uses).
      if (via !== undefined)
        r = onlink ? { dst, type, protocol, scope, dev, via, onlink: true } : { dst, type, protocol, scope, dev, via };
      else if (!onlink) r = { dst, type, protocol, scope, dev };
      else r = { dst, type, protocol, scope, dev, onlink: true };
    } else {
      r = { dst, type, protocol, scope };
      if (metric >= 0) r.metric = metric;
      if (src !== undefined) r.src = src;
      if (dev !== undefined) r.dev = dev;
      if (via !== undefined) r.via = via;
      if (onlink) r.onlink = true;
    }
    this.routes.push(r);
    this.last = r;
  }

  /** `\tnexthop via GW dev D weight W [onlink]`: one hop of the last route. */
  private nextHopLine(s: string, i: number, to: number): void {
    const r = this.last;
    if (!r) return;
    while (i < to && isSpace(s.charCodeAt(i))) i++;
    if (!(to - i >= 7 && s.startsWith('nexthop', i))) return;
    i += 7;
    let via: string | undefined;
    let dev: string | undefined;
    let onlink = false;
    let weight = 1;
    let inEncap = false;
    for (;;) {
      while (i < to && isSpace(s.charCodeAt(i))) i++;
      if (i >= to) break;
      let a = i;
      while (i < to && !isSpace(s.charCodeAt(i))) i++;
      let b = i;
      const k = keyOf(s, a, b);
      if (inEncap) {
        if (k !== K_VIA && k !== K_DEV && k !== K_WEIGHT) continue;
        inEncap = false;
      }
      if (k === K_FLAG) continue;
      if (k === K_ONLINK) {
        onlink = true;
        continue;
      }
      if (k === K_ENCAP) {
        inEncap = true;
        continue;
      }
      while (i < to && isSpace(s.charCodeAt(i))) i++;
      a = i;
      while (i < to && !isSpace(s.charCodeAt(i))) i++;
      b = i;
      if (a >= b) break;
      if (k === K_VIA) {
        if ((b - a === 4 && s.startsWith('inet', a)) || (b - a === 5 && s.startsWith('inet6', a))) {
          while (i < to && isSpace(s.charCodeAt(i))) i++;
          a = i;
          while (i < to && !isSpace(s.charCodeAt(i))) i++;
          b = i;
        }
        via = this.value(s, a, b, this.lastVia);
        this.lastVia = via;
      } else if (k === K_DEV) {
        dev = this.value(s, a, b, this.lastDev);
        this.lastDev = dev;
      } else if (k === K_WEIGHT) weight = decimal(s, a, b);
    }
    if (dev === undefined) return;
    const hop: NextHop = { dev };
    if (via !== undefined) hop.via = via;
    if (onlink) hop.onlink = true;
    if (weight > 1) hop.weight = weight;
    if (!r.nextHops) {
      // The head line of a multipath route carries no device or gateway of its own.
      r.nextHops = [];
      if (r.dev !== undefined) delete r.dev;
      if (r.via !== undefined) delete r.via;
      if (r.onlink !== undefined) delete r.onlink;
      this.multipath.push(r);
    }
    r.nextHops.push(hop);
  }
}

/** Parses complete `ip -N route show` output (see `RouteTextParser`). */
export function parseRouteText(text: string, v6: boolean): KernelRoute[] {
  const p = new RouteTextParser(v6);
  p.push(text);
  return p.end();
}
