import {
  AS_TRANS,
  type AsPathSegmentKind,
  AsPathSegmentType,
  AttrFlag,
  AttrType,
  type Origin,
  OriginValue,
} from './constants.js';
import { BgpEncodeError } from './errors.js';
import { parseIpv4 } from './ip.js';
import type { SessionContext } from './session-context.js';

/** One AS_PATH segment (RFC 4271 §4.3, RFC 5065 §3). */
export interface AsPathSegment {
  readonly kind: AsPathSegmentKind;
  readonly asns: readonly number[];
}

/** AGGREGATOR (RFC 4271 §5.1.7): the AS and BGP identifier of the aggregating speaker. */
export interface Aggregator {
  readonly asn: number;
  readonly address: string;
}

/** RFC 8092 large community: global administrator, local data 1, local data 2 (each uint32). */
export type LargeCommunity = readonly [number, number, number];

/** A path attribute this codec does not model, kept as received (flags without the Extended Length bit). */
export interface RawAttribute {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
}

/**
 * The path attributes of an UPDATE other than MP_REACH_NLRI / MP_UNREACH_NLRI (those are fields of
 * the UPDATE itself). Absent attributes are `undefined`. AS numbers are always the real 4-octet
 * values: on a 2-octet session, decode merges AS4_PATH/AS4_AGGREGATOR (RFC 6793 §4.2.3) and
 * encode splits them again.
 */
export interface PathAttributes {
  /** ORIGIN (type 1). */
  readonly origin?: Origin | undefined;
  /** AS_PATH (type 2), merged with AS4_PATH (type 17) on 2-octet sessions. */
  readonly asPath?: readonly AsPathSegment[] | undefined;
  /** NEXT_HOP (type 3): IPv4 next hop of the IPv4 NLRI field. */
  readonly nextHop?: string | undefined;
  /** MULTI_EXIT_DISC (type 4). */
  readonly med?: number | undefined;
  /** LOCAL_PREF (type 5). */
  readonly localPref?: number | undefined;
  /** ATOMIC_AGGREGATE (type 6): `true` when present. */
  readonly atomicAggregate?: true | undefined;
  /** AGGREGATOR (type 7), merged with AS4_AGGREGATOR (type 18) on 2-octet sessions. */
  readonly aggregator?: Aggregator | undefined;
  /** COMMUNITIES (type 8, RFC 1997) as uint32 values; see `WellKnownCommunity` for named ones. */
  readonly communities?: readonly number[] | undefined;
  /** ORIGINATOR_ID (type 9, RFC 4456). */
  readonly originatorId?: string | undefined;
  /** CLUSTER_LIST (type 10, RFC 4456). */
  readonly clusterList?: readonly string[] | undefined;
  /** EXTENDED_COMMUNITIES (type 16, RFC 4360), each as 16 lower-case hex digits (8 octets). */
  readonly extendedCommunities?: readonly string[] | undefined;
  /** LARGE_COMMUNITIES (type 32, RFC 8092). */
  readonly largeCommunities?: readonly LargeCommunity[] | undefined;
  /** Only to Customer (type 35, RFC 9234 §5). */
  readonly otc?: number | undefined;
  /** Unrecognised optional transitive attributes, with the Partial bit set (RFC 4271 §5), in type order. */
  readonly unknown?: readonly RawAttribute[] | undefined;
}

/** Only to Customer attribute type (RFC 9234 §5). */
export const OTC_ATTR_TYPE = 35;

/** Expected Optional/Transitive flag bits of each modelled attribute (RFC 4271 §5, and each attribute's RFC). */
export const EXPECTED_FLAGS: Readonly<Record<number, number>> = {
  [AttrType.Origin]: AttrFlag.Transitive,
  [AttrType.AsPath]: AttrFlag.Transitive,
  [AttrType.NextHop]: AttrFlag.Transitive,
  [AttrType.MultiExitDisc]: AttrFlag.Optional,
  [AttrType.LocalPref]: AttrFlag.Transitive,
  [AttrType.AtomicAggregate]: AttrFlag.Transitive,
  [AttrType.Aggregator]: AttrFlag.Optional | AttrFlag.Transitive,
  [AttrType.Communities]: AttrFlag.Optional | AttrFlag.Transitive,
  [AttrType.OriginatorId]: AttrFlag.Optional,
  [AttrType.ClusterList]: AttrFlag.Optional,
  [AttrType.MpReachNlri]: AttrFlag.Optional,
  [AttrType.MpUnreachNlri]: AttrFlag.Optional,
  [AttrType.ExtendedCommunities]: AttrFlag.Optional | AttrFlag.Transitive,
  [AttrType.As4Path]: AttrFlag.Optional | AttrFlag.Transitive,
  [AttrType.As4Aggregator]: AttrFlag.Optional | AttrFlag.Transitive,
  [AttrType.LargeCommunities]: AttrFlag.Optional | AttrFlag.Transitive,
  [OTC_ATTR_TYPE]: AttrFlag.Optional | AttrFlag.Transitive,
};

/** RFC 4271 §9.1.2.2: path length, where an AS_SET counts 1 and confederation segments count 0. */
export function asPathLength(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of path) {
    if (s.kind === 'sequence') n += s.asns.length;
    else if (s.kind === 'set') n += 1;
  }
  return n;
}

/**
 * RFC 6793 §4.2.3: rebuilds the real path from AS_PATH (with AS_TRANS) and AS4_PATH. When AS_PATH
 * is shorter than AS4_PATH the latter is ignored; otherwise the leading AS_PATH entries that
 * AS4_PATH does not cover are kept (with confederation segments) and AS4_PATH follows.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  const n = asPathLength(asPath);
  const m = asPathLength(as4Path);
  if (n < m) return [...asPath];
  let need = n - m;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (s.kind === 'confed-sequence' || s.kind === 'confed-set') {
      out.push(s);
      continue;
    }
    if (need === 0) continue;
    if (s.kind === 'set') {
      out.push(s);
      need -= 1;
    } else {
      const take = Math.min(need, s.asns.length);
      out.push({ kind: s.kind, asns: s.asns.slice(0, take) });
      need -= take;
    }
  }
  for (const s of as4Path) {
    const last = out[out.length - 1];
    // Join the kept AS_SEQUENCE head and the AS4_PATH's leading AS_SEQUENCE into one segment.
    if (last !== undefined && last.kind === 'sequence' && s.kind === 'sequence' && out.length > 0 && s === as4Path[0]) {
      out[out.length - 1] = { kind: 'sequence', asns: [...last.asns, ...s.asns] };
    } else out.push(s);
  }
  return out;
}

let attrScratch: ByteWriter;

/** Growable byte buffer for the encoders (not hot for prefixes). */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;
  constructor(size = 256, buf?: Uint8Array) {
    this.buf = buf ?? new Uint8Array(size);
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf[this.len++] = v >>> 8;
    this.buf[this.len++] = v & 0xff;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf[this.len++] = v >>> 24;
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** Writes an attribute header for a value written by `body`; picks the Extended Length bit by size. */
  attr(flags: number, type: number, body: () => void): void {
    const start = this.len;
    this.ensure(4);
    this.len += 4;
    body();
    const vlen = this.len - start - 4;
    if (vlen > 0xffff) throw new BgpEncodeError(`path attribute ${type} value of ${vlen} octets exceeds 65535`);
    if (vlen > 255) {
      this.buf[start] = (flags & 0xe0) | AttrFlag.ExtendedLength;
      this.buf[start + 1] = type;
      this.buf[start + 2] = vlen >> 8;
      this.buf[start + 3] = vlen & 0xff;
    } else {
      // RFC 4271 §4.3: 1-octet length; shift the value back by one.
      this.buf[start] = flags & 0xe0 & ~AttrFlag.ExtendedLength;
      this.buf[start + 1] = type;
      this.buf[start + 2] = vlen;
      this.buf.copyWithin(start + 3, start + 4, this.len);
      this.len -= 1;
    }
  }
  /** A copy of the bytes written, carved from a shared slab (see `allocBytes`). */
  result(): Uint8Array {
    const n = this.len;
    const out = allocBytes(n);
    const b = this.buf;
    if (n <= 256) for (let i = 0; i < n; i++) out[i] = b[i]!;
    else out.set(b.subarray(0, n));
    return out;
  }
}

// Encoded output is carved from 64 KiB slabs: a view of an existing ArrayBuffer is several times
// cheaper in V8 than a fresh typed array above 64 octets (whose backing store is malloc'ed).
// A kept message keeps its slab alive, which is fine for output written to a socket.
const SLAB_SIZE = 65536;
let slab = new Uint8Array(SLAB_SIZE);
let slabOff = 0;

/** A fresh, zeroed byte array of `n` octets, usually a view into a shared slab. */
export function allocBytes(n: number): Uint8Array {
  if (n > SLAB_SIZE / 4) return new Uint8Array(n);
  if (slabOff + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabOff = 0;
  }
  const out = slab.subarray(slabOff, slabOff + n);
  slabOff += (n + 7) & ~7;
  return out;
}

attrScratch = new ByteWriter(4096);
const NO_UNKNOWN: readonly RawAttribute[] = [];

function fail(what: string): never {
  throw new BgpEncodeError(`cannot encode path attributes: ${what}`);
}

function u32ok(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function ipv4(s: string, what: string): number {
  const v = parseIpv4(s);
  if (v === undefined) fail(`${what} is not a dotted quad: ${JSON.stringify(s)}`);
  return v;
}

function writeAsPath(w: ByteWriter, path: readonly AsPathSegment[], four: boolean): void {
  for (const s of path) {
    const code = AsPathSegmentType[s.kind];
    if (code === undefined) fail(`unknown AS_PATH segment kind ${String(s.kind)}`);
    if (s.asns.length === 0) fail('empty AS_PATH segment (RFC 7606 §7.2 makes it malformed)');
    // RFC 4271 §4.3: at most 255 ASes per segment; longer runs are split into several segments.
    for (let i = 0; i < s.asns.length; i += 255) {
      const part = s.asns.slice(i, i + 255);
      w.u8(code);
      w.u8(part.length);
      for (const a of part) {
        if (!u32ok(a)) fail(`AS number ${a} is not uint32`);
        if (four) w.u32(a);
        else w.u16(a > 0xffff ? AS_TRANS : a);
      }
    }
  }
}

/**
 * Encodes the path attributes (all but MP_REACH/MP_UNREACH) for `ctx`, in ascending type order,
 * each with the Extended Length bit only when its value exceeds 255 octets. On a 2-octet
 * session, 4-octet AS numbers become AS_TRANS and AS4_PATH / AS4_AGGREGATOR are added (RFC 6793 §4.2.2).
 */
export function encodePathAttributes(a: PathAttributes, ctx: SessionContext): Uint8Array {
  // A reused scratch buffer: encoding is synchronous and this writer is not shared.
  const w = attrScratch;
  w.len = 0;
  const four = ctx.fourOctetAs;
  const T = AttrFlag.Transitive;
  const O = AttrFlag.Optional;
  const unknown =
    a.unknown === undefined || a.unknown.length === 0 ? NO_UNKNOWN : [...a.unknown].sort((x, y) => x.type - y.type);
  for (const u of unknown) {
    if (EXPECTED_FLAGS[u.type] !== undefined || !Number.isInteger(u.type) || u.type < 0 || u.type > 255) {
      fail(`raw attribute type ${u.type} is modelled or out of range; use its field`);
    }
    // An unrecognised well-known attribute makes the receiver reset the session (RFC 4271 §6.3).
    if ((u.flags & AttrFlag.Optional) === 0) fail(`raw attribute type ${u.type} must have the Optional flag`);
  }
  let ui = 0;
  const unknownBefore = (type: number): void => {
    while (ui < unknown.length && unknown[ui]!.type < type) {
      const u = unknown[ui++]!;
      w.attr(u.flags, u.type, () => w.bytes(u.value));
    }
  };
  unknownBefore(AttrType.Origin);
  if (a.origin !== undefined) {
    const v = OriginValue[a.origin];
    if (v === undefined) fail(`unknown ORIGIN ${String(a.origin)}`);
    w.attr(T, AttrType.Origin, () => w.u8(v));
  }
  unknownBefore(AttrType.AsPath);
  if (a.asPath !== undefined) {
    const path = a.asPath;
    w.attr(T, AttrType.AsPath, () => writeAsPath(w, path, four));
  }
  unknownBefore(AttrType.NextHop);
  if (a.nextHop !== undefined) {
    const nh = ipv4(a.nextHop, 'NEXT_HOP');
    w.attr(T, AttrType.NextHop, () => w.u32(nh));
  }
  unknownBefore(AttrType.MultiExitDisc);
  if (a.med !== undefined) {
    const med = a.med;
    if (!u32ok(med)) fail(`MED ${med} is not uint32`);
    w.attr(O, AttrType.MultiExitDisc, () => w.u32(med));
  }
  unknownBefore(AttrType.LocalPref);
  if (a.localPref !== undefined) {
    const lp = a.localPref;
    if (!u32ok(lp)) fail(`LOCAL_PREF ${lp} is not uint32`);
    w.attr(T, AttrType.LocalPref, () => w.u32(lp));
  }
  unknownBefore(AttrType.AtomicAggregate);
  if (a.atomicAggregate) w.attr(T, AttrType.AtomicAggregate, () => {});
  unknownBefore(AttrType.Aggregator);
  const agg = a.aggregator;
  if (agg !== undefined) {
    if (!u32ok(agg.asn)) fail(`AGGREGATOR AS ${agg.asn} is not uint32`);
    const addr = ipv4(agg.address, 'AGGREGATOR address');
    w.attr(O | T, AttrType.Aggregator, () => {
      if (four) w.u32(agg.asn);
      else w.u16(agg.asn > 0xffff ? AS_TRANS : agg.asn);
      w.u32(addr);
    });
  }
  unknownBefore(AttrType.Communities);
  if (a.communities !== undefined) {
    const cs = a.communities;
    if (cs.length === 0) fail('empty COMMUNITIES (RFC 7606 §7.8 makes it malformed)');
    w.attr(O | T, AttrType.Communities, () => {
      for (const c of cs) {
        if (!u32ok(c)) fail(`community ${c} is not uint32`);
        w.u32(c);
      }
    });
  }
  unknownBefore(AttrType.OriginatorId);
  if (a.originatorId !== undefined) {
    const id = ipv4(a.originatorId, 'ORIGINATOR_ID');
    w.attr(O, AttrType.OriginatorId, () => w.u32(id));
  }
  unknownBefore(AttrType.ClusterList);
  if (a.clusterList !== undefined) {
    const ids = a.clusterList.map((c) => ipv4(c, 'CLUSTER_LIST entry'));
    if (ids.length === 0) fail('empty CLUSTER_LIST (RFC 7606 §7.10 makes it malformed)');
    w.attr(O, AttrType.ClusterList, () => {
      for (const id of ids) w.u32(id);
    });
  }
  unknownBefore(AttrType.ExtendedCommunities);
  if (a.extendedCommunities !== undefined) {
    const ecs = a.extendedCommunities;
    if (ecs.length === 0) fail('empty EXTENDED_COMMUNITIES (RFC 7606 §7.14 makes it malformed)');
    w.attr(O | T, AttrType.ExtendedCommunities, () => {
      for (const ec of ecs) {
        if (!/^[0-9a-f]{16}$/.test(ec)) fail(`extended community must be 16 lower-case hex digits: ${ec}`);
        w.u32(Number.parseInt(ec.slice(0, 8), 16));
        w.u32(Number.parseInt(ec.slice(8), 16));
      }
    });
  }
  const needAs4Path = !four && a.asPath !== undefined && a.asPath.some((s) => s.asns.some((x) => x > 0xffff));
  unknownBefore(AttrType.As4Path);
  if (needAs4Path) {
    // RFC 6793 §4.2.2: AS4_PATH carries no confederation segments.
    const path = a.asPath!.filter((s) => s.kind === 'sequence' || s.kind === 'set');
    if (path.length > 0) w.attr(O | T, AttrType.As4Path, () => writeAsPath(w, path, true));
  }
  unknownBefore(AttrType.As4Aggregator);
  if (!four && agg !== undefined && agg.asn > 0xffff) {
    const addr = ipv4(agg.address, 'AGGREGATOR address');
    w.attr(O | T, AttrType.As4Aggregator, () => {
      w.u32(agg.asn);
      w.u32(addr);
    });
  }
  unknownBefore(AttrType.LargeCommunities);
  if (a.largeCommunities !== undefined) {
    const lcs = a.largeCommunities;
    if (lcs.length === 0) fail('empty LARGE_COMMUNITIES (RFC 8092 §5 makes it malformed)');
    w.attr(O | T, AttrType.LargeCommunities, () => {
      for (const lc of lcs) {
        if (lc.length !== 3 || !lc.every(u32ok)) fail('large community must be three uint32 values');
        w.u32(lc[0]);
        w.u32(lc[1]);
        w.u32(lc[2]);
      }
    });
  }
  unknownBefore(OTC_ATTR_TYPE);
  if (a.otc !== undefined) {
    const otc = a.otc;
    if (!u32ok(otc)) fail(`OTC ${otc} is not uint32`);
    w.attr(O | T, OTC_ATTR_TYPE, () => w.u32(otc));
  }
  unknownBefore(256);
  return w.result();
}
