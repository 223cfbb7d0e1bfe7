import { AttributeKey } from './attr-key.js';
import {
  type Aggregator,
  type AsPathSegment,
  ByteWriter,
  EXPECTED_FLAGS,
  encodePathAttributes,
  type LargeCommunity,
  mergeAs4Path,
  OTC_ATTR_TYPE,
  type PathAttributes,
  type RawAttribute,
} from './attributes.js';
import { copyBytes } from './bytes.js';
import {
  Afi,
  AS_TRANS,
  type AsPathSegmentKind,
  AttrFlag,
  AttrType,
  ErrorCode,
  HEADER_LENGTH,
  type Origin,
  Safi,
  UpdateSubcode,
} from './constants.js';
import { BgpDecodeError, BgpEncodeError } from './errors.js';
import { ipv4At, ipv6At, parseIpv4, parseIpv6 } from './ip.js';
import { decodePrefixes, emptyPrefixList, prefixesWireSize, type UpdateScratch, writePrefixes } from './nlri.js';
import type { PrefixList } from './prefix-list.js';
import type { SessionContext } from './session-context.js';

/** MP_REACH_NLRI (RFC 4760 §3) for IPv4 or IPv6 unicast. */
export interface MpReach {
  readonly afi: Afi;
  readonly safi: typeof Safi.unicast;
  /**
   * Next hop text: IPv4 (4 octets) or IPv6 (16 octets; RFC 8950 allows it for IPv4 NLRI).
   * For IPv6 a 32-octet next hop is the global address here plus `linkLocalNextHop` (RFC 2545 §3).
   */
  readonly nextHop: string;
  readonly linkLocalNextHop?: string | undefined;
  readonly nlri: PrefixList;
}

/** MP_UNREACH_NLRI (RFC 4760 §4) for IPv4 or IPv6 unicast. */
export interface MpUnreach {
  readonly afi: Afi;
  readonly safi: typeof Safi.unicast;
  readonly withdrawn: PrefixList;
}

/** RFC 7606 §2 outcomes short of a session reset (a reset is a thrown `BgpDecodeError`). */
export const UpdateAction = {
  /** The UPDATE's announcements are treated as withdrawals (RFC 7606 §2). */
  treatAsWithdraw: 'treat-as-withdraw',
  /** The attribute is ignored and the UPDATE otherwise processed (RFC 7606 §2). */
  attributeDiscard: 'attribute-discard',
} as const;
export type UpdateAction = (typeof UpdateAction)[keyof typeof UpdateAction];

/** One non-fatal error found while decoding an UPDATE (worth a log line). */
export interface UpdateError {
  readonly action: UpdateAction;
  /** UPDATE Message Error subcode that RFC 4271 would have sent (RFC 7606 keeps the session). */
  readonly subcode: number;
  /** Attribute type involved; 0 when the attribute list as a whole is at fault. */
  readonly attrType: number;
  readonly reason: string;
}

/**
 * RFC 4271 §4.3 UPDATE. `withdrawn` and `nlri` are the IPv4 Withdrawn Routes and NLRI fields;
 * other families travel in `mpReach` / `mpUnreach`. Fields after `nlri` are set by decode only.
 */
export interface UpdateMessage {
  readonly type: 'update';
  readonly withdrawn: PrefixList;
  readonly attributes: PathAttributes;
  readonly mpReach?: MpReach | undefined;
  readonly mpUnreach?: MpUnreach | undefined;
  readonly nlri: PrefixList;
  /** Decode only: key of the attribute set the announcements use (absent when nothing is announced with it). */
  readonly attrKey?: AttributeKey | undefined;
  /** Decode only: RFC 7606 treat-as-withdraw applied: every announcement was turned into a withdrawal. */
  readonly treatAsWithdraw?: boolean | undefined;
  /** Decode only: non-fatal errors (treat-as-withdraw or attribute-discard), if any. */
  readonly errors?: readonly UpdateError[] | undefined;
}

const EMPTY_ATTRS: PathAttributes = Object.freeze({});
const SEGMENT_KINDS: readonly (AsPathSegmentKind | undefined)[] = [
  undefined,
  'set',
  'sequence',
  'confed-sequence',
  'confed-set',
];
const ORIGINS: readonly Origin[] = ['igp', 'egp', 'incomplete'];
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// Per-decode scratch state, reused: which attribute types were seen (by generation) and which
// attribute byte ranges the attribute key must leave out.
const seenGen = new Uint32Array(256);
let generation = 0;
let excluded = new Int32Array(32);

// EXPECTED_FLAGS as a flat table (-1: not a modelled attribute), for the hot loop.
const FLAG_TABLE = new Int16Array(256).fill(-1);
for (const [t, f] of Object.entries(EXPECTED_FLAGS)) FLAG_TABLE[Number(t)] = f;

// Most UPDATEs of a session carry the same NEXT_HOP: reuse its text.
let lastNextHop = -1;
let lastNextHopText = '';

// Per-decode error state (decoding is synchronous, so module-level state is safe and saves closures).
let errs: UpdateError[] | undefined;
let tawFlag = false;
let nExcluded = 0;

function note(action: UpdateAction, subcode: number, attrType: number, reason: string): void {
  if (errs === undefined) errs = [];
  errs.push({ action, subcode, attrType, reason });
  if (action === 'treat-as-withdraw') tawFlag = true;
}

function exclude(s: number, e: number): void {
  if (2 * nExcluded + 2 > excluded.length) {
    const n = new Int32Array(excluded.length * 2);
    n.set(excluded);
    excluded = n;
  }
  excluded[2 * nExcluded] = s;
  excluded[2 * nExcluded + 1] = e;
  nExcluded++;
}

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}
function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function reset(subcode: number, data: Uint8Array, message: string): BgpDecodeError {
  return new BgpDecodeError(ErrorCode.Update, subcode, data, message);
}

/** Parses AS_PATH / AS4_PATH segments; undefined when malformed (RFC 7606 §7.2). */
function parseAsPath(b: Uint8Array, v: number, e: number, asSize: 2 | 4): AsPathSegment[] | undefined {
  const out: AsPathSegment[] = [];
  let p = v;
  while (p < e) {
    if (p + 2 > e) return undefined; // a single octet left: underrun
    const kind = SEGMENT_KINDS[b[p]!];
    const n = b[p + 1]!;
    if (kind === undefined || n === 0) return undefined; // unknown segment type, or zero length
    p += 2;
    if (p + n * asSize > e) return undefined; // overrun
    const asns: number[] = new Array(n);
    if (asSize === 4) {
      for (let i = 0; i < n; i++, p += 4) asns[i] = u32(b, p);
    } else {
      for (let i = 0; i < n; i++, p += 2) asns[i] = u16(b, p);
    }
    out.push({ kind, asns });
  }
  // Exact size: push reserves room for more, and a full table keeps hundreds of thousands of these.
  return out.length === 1 ? [out[0]!] : out.slice();
}

/**
 * Decodes an UPDATE (`b` is the whole message, header included). Throws `BgpDecodeError` when
 * RFC 4271 / RFC 7606 demand a session reset; otherwise returns the message with any RFC 7606
 * treat-as-withdraw or attribute-discard already applied and listed in `errors`.
 */
export function decodeUpdate(b: Uint8Array, ctx: SessionContext, scratch?: UpdateScratch): UpdateMessage {
  const end = b.length;
  let p = HEADER_LENGTH;
  const addPath4 = ctx.addPathReceive.ipv4;
  const addPath6 = ctx.addPathReceive.ipv6;
  const four = ctx.fourOctetAs;
  // RFC 4271 §4.3: Withdrawn Routes Length (2), Withdrawn Routes, Total Path Attribute Length (2),
  // Path Attributes, NLRI. §6.3: lengths that overrun the message are a Malformed Attribute List.
  const wlen = u16(b, p);
  p += 2;
  if (p + wlen + 2 > end)
    throw reset(
      UpdateSubcode.MalformedAttributeList,
      new Uint8Array(0),
      `UPDATE withdrawn routes length ${wlen} overruns the message`,
    );
  const withdrawnRaw = decodePrefixes(b, p, p + wlen, Afi.ipv4, addPath4, scratch?.withdrawn);
  if (typeof withdrawnRaw === 'string')
    throw reset(
      UpdateSubcode.InvalidNetworkField,
      new Uint8Array(0),
      `UPDATE withdrawn routes field is malformed (${withdrawnRaw === 'length' ? 'prefix length over 32' : 'prefix overruns the field'})`,
    );
  let withdrawn: PrefixList = withdrawnRaw;
  p += wlen;
  const alen = u16(b, p);
  p += 2;
  if (p + alen > end)
    throw reset(
      UpdateSubcode.MalformedAttributeList,
      new Uint8Array(0),
      `UPDATE total path attribute length ${alen} overruns the message`,
    );
  const attrStart = p;
  const attrEnd = p + alen;
  // RFC 4271 §6.3 / RFC 7606 §5.3: a syntactically incorrect NLRI field resets the session.
  const nlriRaw = decodePrefixes(b, attrEnd, end, Afi.ipv4, addPath4, scratch?.nlri);
  if (typeof nlriRaw === 'string')
    throw reset(
      UpdateSubcode.InvalidNetworkField,
      new Uint8Array(0),
      `UPDATE NLRI field is malformed (${nlriRaw === 'length' ? 'prefix length over 32' : 'prefix overruns the message'})`,
    );
  let nlri: PrefixList = nlriRaw;

  errs = undefined;
  tawFlag = false;
  nExcluded = 0;

  let origin: Origin | undefined;
  let asPath: AsPathSegment[] | undefined;
  let nextHop: string | undefined;
  let med: number | undefined;
  let localPref: number | undefined;
  let atomicAggregate: true | undefined;
  let aggregator: Aggregator | undefined;
  let communities: number[] | undefined;
  let originatorId: string | undefined;
  let clusterList: string[] | undefined;
  let extendedCommunities: string[] | undefined;
  let largeCommunities: LargeCommunity[] | undefined;
  let otc: number | undefined;
  let unknown: RawAttribute[] | undefined;
  let as4Path: AsPathSegment[] | undefined;
  let as4Aggregator: Aggregator | undefined;
  let mpReach: MpReach | undefined;
  let mpUnreach: MpUnreach | undefined;
  let mpReachNh = -1;
  let mpReachNhEnd = -1;

  generation = (generation + 1) >>> 0;
  if (generation === 0) {
    seenGen.fill(0);
    generation = 1;
  }
  const gen = generation;

  p = attrStart;
  while (p < attrEnd) {
    // RFC 7606 §4: fewer octets than an attribute header, or a length overrunning the Total
    // Attribute Length, make the attribute list malformed: treat-as-withdraw.
    if (p + 3 > attrEnd) {
      note('treat-as-withdraw', UpdateSubcode.MalformedAttributeList, 0, 'truncated path attribute header');
      break;
    }
    const flags = b[p]!;
    const type = b[p + 1]!;
    let v: number;
    let len: number;
    if (flags & AttrFlag.ExtendedLength) {
      if (p + 4 > attrEnd) {
        note('treat-as-withdraw', UpdateSubcode.MalformedAttributeList, type, 'truncated path attribute header');
        break;
      }
      len = u16(b, p + 2);
      v = p + 4;
    } else {
      len = b[p + 2]!;
      v = p + 3;
    }
    const e = v + len;
    if (e > attrEnd) {
      note(
        'treat-as-withdraw',
        UpdateSubcode.AttributeLengthError,
        type,
        `path attribute ${type} length ${len} overruns the attribute list`,
      );
      break;
    }
    const start = p;
    p = e;
    // RFC 7606 §3(g): a repeated MP_REACH_NLRI or MP_UNREACH_NLRI resets the session; any other
    // repeated attribute is discarded after its first occurrence.
    if (seenGen[type] === gen) {
      if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) {
        throw reset(UpdateSubcode.MalformedAttributeList, new Uint8Array(0), `UPDATE carries attribute ${type} twice`);
      }
      note(
        'attribute-discard',
        UpdateSubcode.MalformedAttributeList,
        type,
        `duplicate path attribute ${type} discarded`,
      );
      exclude(start, e);
      continue;
    }
    seenGen[type] = gen;
    const expected = FLAG_TABLE[type]!;
    if (expected >= 0) {
      // RFC 4271 §4.3: Optional and Transitive must match the attribute's definition; Partial
      // must be 0 unless the attribute is optional transitive. RFC 7606 §3(c): treat-as-withdraw.
      const bad = (flags & 0xc0) !== expected || (expected !== 0xc0 && (flags & AttrFlag.Partial) !== 0);
      if (bad) {
        if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) {
          throw reset(
            UpdateSubcode.AttributeFlagsError,
            copyBytes(b, start, e),
            `bad flags 0x${flags.toString(16)} on attribute ${type}`,
          );
        }
        if (type === AttrType.As4Path || type === AttrType.As4Aggregator) {
          note(
            'attribute-discard',
            UpdateSubcode.AttributeFlagsError,
            type,
            `bad flags on attribute ${type}, discarded (RFC 6793 §6)`,
          );
        } else {
          note(
            'treat-as-withdraw',
            UpdateSubcode.AttributeFlagsError,
            type,
            `bad flags 0x${flags.toString(16)} on attribute ${type}`,
          );
        }
        exclude(start, e);
        continue;
      }
    }
    switch (type) {
      case AttrType.Origin: {
        // RFC 7606 §7.1: wrong length or undefined value: treat-as-withdraw.
        const o = len === 1 ? ORIGINS[b[v]!] : undefined;
        if (o === undefined)
          note(
            'treat-as-withdraw',
            len === 1 ? UpdateSubcode.InvalidOriginAttribute : UpdateSubcode.AttributeLengthError,
            type,
            'malformed ORIGIN',
          );
        else origin = o;
        break;
      }
      case AttrType.AsPath: {
        const path = parseAsPath(b, v, e, four ? 4 : 2);
        if (path === undefined)
          note('treat-as-withdraw', UpdateSubcode.MalformedAsPath, type, 'malformed AS_PATH (RFC 7606 §7.2)');
        else asPath = path;
        break;
      }
      case AttrType.NextHop:
        // RFC 7606 §7.3: wrong length: treat-as-withdraw.
        if (len !== 4) {
          note('treat-as-withdraw', UpdateSubcode.AttributeLengthError, type, `NEXT_HOP length ${len}, not 4`);
        } else if (b[v] === 0 || b[v]! >= 224) {
          // RFC 4271 §6.3: NEXT_HOP must be a valid IP host address; 0.0.0.0/8 and 224.0.0.0/3
          // (multicast, reserved, broadcast) never are. RFC 7606 §7.3: treat-as-withdraw.
          note(
            'treat-as-withdraw',
            UpdateSubcode.InvalidNextHopAttribute,
            type,
            `NEXT_HOP ${ipv4At(b, v)} is not a host address`,
          );
        } else {
          const n = u32(b, v);
          if (n !== lastNextHop) {
            lastNextHop = n;
            lastNextHopText = ipv4At(b, v);
          }
          nextHop = lastNextHopText;
        }
        break;
      case AttrType.MultiExitDisc:
        // RFC 7606 §7.4.
        if (len !== 4)
          note('treat-as-withdraw', UpdateSubcode.AttributeLengthError, type, `MULTI_EXIT_DISC length ${len}, not 4`);
        else med = u32(b, v);
        break;
      case AttrType.LocalPref:
        // RFC 7606 §7.5.
        if (len !== 4)
          note('treat-as-withdraw', UpdateSubcode.AttributeLengthError, type, `LOCAL_PREF length ${len}, not 4`);
        else localPref = u32(b, v);
        break;
      case AttrType.AtomicAggregate:
        // RFC 7606 §7.6: wrong length: attribute-discard.
        if (len !== 0) {
          note('attribute-discard', UpdateSubcode.AttributeLengthError, type, `ATOMIC_AGGREGATE length ${len}, not 0`);
          exclude(start, e);
        } else atomicAggregate = true;
        break;
      case AttrType.Aggregator:
        // RFC 7606 §7.7: length must be 6 (2-octet AS) or 8 (4-octet AS session); else attribute-discard.
        if (len !== (four ? 8 : 6)) {
          note(
            'attribute-discard',
            UpdateSubcode.AttributeLengthError,
            type,
            `AGGREGATOR length ${len}, not ${four ? 8 : 6}`,
          );
          exclude(start, e);
        } else
          aggregator = four
            ? { asn: u32(b, v), address: ipv4At(b, v + 4) }
            : { asn: u16(b, v), address: ipv4At(b, v + 2) };
        break;
      case AttrType.Communities:
        // RFC 7606 §7.8: length not a non-zero multiple of 4: treat-as-withdraw.
        if (len === 0 || len % 4 !== 0)
          note('treat-as-withdraw', UpdateSubcode.OptionalAttributeError, type, `COMMUNITIES length ${len}`);
        else {
          communities = new Array(len >> 2);
          for (let i = 0; i < len >> 2; i++) communities[i] = u32(b, v + 4 * i);
        }
        break;
      case AttrType.OriginatorId:
        // RFC 7606 §7.9.
        if (len !== 4)
          note('treat-as-withdraw', UpdateSubcode.AttributeLengthError, type, `ORIGINATOR_ID length ${len}, not 4`);
        else originatorId = ipv4At(b, v);
        break;
      case AttrType.ClusterList:
        // RFC 7606 §7.10.
        if (len === 0 || len % 4 !== 0)
          note('treat-as-withdraw', UpdateSubcode.AttributeLengthError, type, `CLUSTER_LIST length ${len}`);
        else {
          clusterList = [];
          for (let q = v; q < e; q += 4) clusterList.push(ipv4At(b, q));
        }
        break;
      case AttrType.ExtendedCommunities:
        // RFC 7606 §7.14: length not a non-zero multiple of 8: treat-as-withdraw.
        if (len === 0 || len % 8 !== 0)
          note('treat-as-withdraw', UpdateSubcode.OptionalAttributeError, type, `EXTENDED_COMMUNITIES length ${len}`);
        else {
          extendedCommunities = [];
          for (let q = v; q < e; q += 8) {
            let s = '';
            for (let k = 0; k < 8; k++) s += HEX[b[q + k]!];
            extendedCommunities.push(s);
          }
        }
        break;
      case AttrType.LargeCommunities:
        // RFC 8092 §6: length not a non-zero multiple of 12: treat-as-withdraw.
        if (len === 0 || len % 12 !== 0)
          note('treat-as-withdraw', UpdateSubcode.OptionalAttributeError, type, `LARGE_COMMUNITIES length ${len}`);
        else {
          largeCommunities = [];
          for (let q = v; q < e; q += 12) largeCommunities.push([u32(b, q), u32(b, q + 4), u32(b, q + 8)]);
        }
        break;
      case OTC_ATTR_TYPE:
        // RFC 9234 §5: length other than 4: treat-as-withdraw.
        if (len !== 4) note('treat-as-withdraw', UpdateSubcode.AttributeLengthError, type, `OTC length ${len}, not 4`);
        else otc = u32(b, v);
        break;
      case AttrType.As4Path:
      case AttrType.As4Aggregator: {
        // RFC 6793 §4.2.2 / §6: ignored from a 4-octet speaker; malformed ones are discarded. Kept
        // ones stay in the attribute key: they change the AS path (or aggregator) they merge into.
        if (four) {
          note('attribute-discard', 0, type, `attribute ${type} received on a 4-octet AS session, ignored`);
          exclude(start, e);
          break;
        }
        if (type === AttrType.As4Aggregator) {
          if (len !== 8) {
            note('attribute-discard', UpdateSubcode.AttributeLengthError, type, `AS4_AGGREGATOR length ${len}, not 8`);
            exclude(start, e);
          } else as4Aggregator = { asn: u32(b, v), address: ipv4At(b, v + 4) };
          break;
        }
        const path = parseAsPath(b, v, e, 4);
        if (path === undefined || path.some((s) => s.kind !== 'sequence' && s.kind !== 'set')) {
          note('attribute-discard', UpdateSubcode.MalformedAsPath, type, 'malformed AS4_PATH discarded');
          exclude(start, e);
        } else as4Path = path;
        break;
      }
      case AttrType.MpReachNlri: {
        exclude(start, e);
        // RFC 4760 §3: AFI (2), SAFI (1), Next Hop Length (1), Next Hop, Reserved (1), NLRI.
        // RFC 7606 §7.11: a malformed MP_REACH_NLRI (its NLRI cannot be located) resets the session.
        if (len < 5)
          throw reset(
            UpdateSubcode.OptionalAttributeError,
            copyBytes(b, start, e),
            `MP_REACH_NLRI length ${len} too short`,
          );
        const afi = u16(b, v);
        const safi = b[v + 2]!;
        const nhLen = b[v + 3]!;
        const nh = v + 4;
        if (nh + nhLen + 1 > e)
          throw reset(
            UpdateSubcode.OptionalAttributeError,
            copyBytes(b, start, e),
            `MP_REACH_NLRI next hop length ${nhLen} overruns the attribute`,
          );
        if ((afi !== Afi.ipv4 && afi !== Afi.ipv6) || safi !== Safi.unicast) {
          note(
            'attribute-discard',
            UpdateSubcode.OptionalAttributeError,
            type,
            `MP_REACH_NLRI for unsupported AFI/SAFI ${afi}/${safi} ignored`,
          );
          break;
        }
        let nextHopText: string;
        let linkLocal: string | undefined;
        if (nhLen === 4 && afi === Afi.ipv4) nextHopText = ipv4At(b, nh);
        else if (nhLen === 16) nextHopText = ipv6At(b, nh);
        else if (nhLen === 32) {
          nextHopText = ipv6At(b, nh);
          linkLocal = ipv6At(b, nh + 16);
        } else
          throw reset(
            UpdateSubcode.OptionalAttributeError,
            copyBytes(b, start, e),
            `MP_REACH_NLRI next hop length ${nhLen} is wrong for AFI ${afi}`,
          );
        const list = decodePrefixes(b, nh + nhLen + 1, e, afi, afi === Afi.ipv4 ? addPath4 : addPath6);
        if (typeof list === 'string')
          throw reset(
            UpdateSubcode.OptionalAttributeError,
            copyBytes(b, start, e),
            `MP_REACH_NLRI NLRI malformed (${list})`,
          );
        mpReach =
          linkLocal === undefined
            ? { afi, safi: Safi.unicast, nextHop: nextHopText, nlri: list }
            : { afi, safi: Safi.unicast, nextHop: nextHopText, linkLocalNextHop: linkLocal, nlri: list };
        mpReachNh = v;
        mpReachNhEnd = nh + nhLen;
        break;
      }
      case AttrType.MpUnreachNlri: {
        exclude(start, e);
        // RFC 4760 §4: AFI (2), SAFI (1), Withdrawn Routes.
        if (len < 3)
          throw reset(
            UpdateSubcode.OptionalAttributeError,
            copyBytes(b, start, e),
            `MP_UNREACH_NLRI length ${len} too short`,
          );
        const afi = u16(b, v);
        const safi = b[v + 2]!;
        if ((afi !== Afi.ipv4 && afi !== Afi.ipv6) || safi !== Safi.unicast) {
          note(
            'attribute-discard',
            UpdateSubcode.OptionalAttributeError,
            type,
            `MP_UNREACH_NLRI for unsupported AFI/SAFI ${afi}/${safi} ignored`,
          );
          break;
        }
        const list = decodePrefixes(b, v + 3, e, afi, afi === Afi.ipv4 ? addPath4 : addPath6);
        if (typeof list === 'string')
          throw reset(
            UpdateSubcode.OptionalAttributeError,
            copyBytes(b, start, e),
            `MP_UNREACH_NLRI withdrawn routes malformed (${list})`,
          );
        mpUnreach = { afi, safi: Safi.unicast, withdrawn: list };
        break;
      }
      default:
        if ((flags & AttrFlag.Optional) === 0) {
          // RFC 4271 §6.3: an unrecognised well-known attribute resets the session; data is the attribute.
          throw reset(
            UpdateSubcode.UnrecognizedWellKnownAttribute,
            copyBytes(b, start, e),
            `unrecognised well-known attribute ${type}`,
          );
        }
        if (flags & AttrFlag.Transitive) {
          // RFC 4271 §5: kept for propagation, with the Partial bit set.
          if (unknown === undefined) unknown = [];
          unknown.push({ flags: (flags & 0xe0) | AttrFlag.Partial, type, value: copyBytes(b, v, e) });
        } else {
          // RFC 4271 §5: unrecognised optional non-transitive attributes are quietly ignored.
          exclude(start, e);
        }
    }
  }

  // RFC 6793 §4.2.3: on a 2-octet session, rebuild 4-octet AS numbers from AS4_PATH / AS4_AGGREGATOR;
  // an AGGREGATOR with an AS other than AS_TRANS means both AS4 attributes are ignored.
  if (!four && (as4Path !== undefined || as4Aggregator !== undefined)) {
    if (aggregator !== undefined && aggregator.asn !== AS_TRANS) {
      // ignored
    } else {
      if (as4Aggregator !== undefined && aggregator !== undefined) aggregator = as4Aggregator;
      if (as4Path !== undefined && asPath !== undefined) asPath = mergeAs4Path(asPath, as4Path);
    }
  }

  const announces = nlri.count > 0 || (mpReach !== undefined && mpReach.nlri.count > 0);
  if (announces && !tawFlag) {
    // RFC 7606 §3(d): a missing well-known mandatory attribute means treat-as-withdraw; NEXT_HOP is
    // mandatory only with a non-empty IPv4 NLRI field (RFC 4760 §3).
    if (origin === undefined)
      note('treat-as-withdraw', UpdateSubcode.MissingWellKnownAttribute, AttrType.Origin, 'ORIGIN missing');
    else if (asPath === undefined)
      note('treat-as-withdraw', UpdateSubcode.MissingWellKnownAttribute, AttrType.AsPath, 'AS_PATH missing');
    else if (nlri.count > 0 && nextHop === undefined)
      note('treat-as-withdraw', UpdateSubcode.MissingWellKnownAttribute, AttrType.NextHop, 'NEXT_HOP missing');
  }

  const errors = errs;
  if (tawFlag) {
    // RFC 7606 §2: every announced prefix becomes a withdrawal. IPv4 ones go to the Withdrawn
    // Routes field, IPv6 ones to MP_UNREACH_NLRI.
    let v6: PrefixList | undefined = mpUnreach?.afi === Afi.ipv6 ? mpUnreach.withdrawn : undefined;
    if (mpUnreach?.afi === Afi.ipv4) withdrawn = withdrawn.concat(mpUnreach.withdrawn);
    withdrawn = withdrawn.concat(nlri);
    if (mpReach !== undefined) {
      if (mpReach.afi === Afi.ipv4) withdrawn = withdrawn.concat(mpReach.nlri);
      else v6 = v6 ? v6.concat(mpReach.nlri) : mpReach.nlri;
    }
    nlri = emptyPrefixList(Afi.ipv4, addPath4);
    return {
      type: 'update',
      withdrawn,
      attributes: EMPTY_ATTRS,
      mpReach: undefined,
      mpUnreach: v6 ? { afi: Afi.ipv6, safi: Safi.unicast, withdrawn: v6 } : undefined,
      nlri,
      attrKey: undefined,
      treatAsWithdraw: true,
      errors,
    };
  }

  let attrKey: AttributeKey | undefined;
  if (announces) {
    if (nExcluded === 0 && mpReach === undefined) attrKey = new AttributeKey(b, attrStart, alen);
    else {
      let size = alen;
      for (let i = 0; i < nExcluded; i++) size -= excluded[2 * i + 1]! - excluded[2 * i]!;
      const mpLen = mpReach !== undefined ? 3 + (mpReachNhEnd - mpReachNh) + 1 : 0;
      const bytes = new Uint8Array(size + mpLen);
      let q = 0;
      let from = attrStart;
      for (let i = 0; i < nExcluded; i++) {
        const s = excluded[2 * i]!;
        bytes.set(b.subarray(from, s), q);
        q += s - from;
        from = excluded[2 * i + 1]!;
      }
      bytes.set(b.subarray(from, attrEnd), q);
      q += attrEnd - from;
      if (mpReach !== undefined) {
        // A synthetic MP_REACH_NLRI without NLRI: AFI, SAFI, next hop length, next hop, reserved.
        bytes[q++] = AttrFlag.Optional;
        bytes[q++] = AttrType.MpReachNlri;
        bytes[q++] = mpReachNhEnd - mpReachNh + 1;
        bytes.set(b.subarray(mpReachNh, mpReachNhEnd), q);
        q += mpReachNhEnd - mpReachNh;
        bytes[q++] = 0;
      }
      attrKey = new AttributeKey(bytes, 0, bytes.length);
    }
  }

  const attributes: PathAttributes =
    alen === 0
      ? EMPTY_ATTRS
      : {
          origin,
          asPath,
          nextHop,
          med,
          localPref,
          atomicAggregate,
          aggregator,
          communities,
          originatorId,
          clusterList,
          extendedCommunities,
          largeCommunities,
          otc,
          unknown,
        };
  return {
    type: 'update',
    withdrawn,
    attributes,
    mpReach,
    mpUnreach,
    nlri,
    attrKey,
    treatAsWithdraw: undefined,
    errors,
  };
}

function checkAddPath(list: PrefixList, addPath: boolean, where: string): void {
  if (list.count > 0 && !list.pathIds !== !addPath) {
    throw new BgpEncodeError(
      addPath
        ? `${where}: ADD-PATH is negotiated for sending, so every prefix needs a path identifier`
        : `${where}: prefixes carry path identifiers but ADD-PATH is not negotiated for sending`,
    );
  }
}

function sendAddPath(ctx: SessionContext, afi: Afi): boolean {
  return afi === Afi.ipv4 ? ctx.addPathSend.ipv4 : ctx.addPathSend.ipv6;
}

/** The next hop octets of an MP_REACH_NLRI: 4 (IPv4), 16 (IPv6) or 32 (IPv6 global + link-local). */
export function encodeMpNextHop(afi: Afi, nextHop: string, linkLocal?: string): Uint8Array {
  if (linkLocal !== undefined) {
    const g = parseIpv6(nextHop);
    const l = parseIpv6(linkLocal);
    if (!g || !l) throw new BgpEncodeError(`MP_REACH_NLRI next hops must be IPv6: ${nextHop}, ${linkLocal}`);
    const out = new Uint8Array(32);
    out.set(g);
    out.set(l, 16);
    return out;
  }
  if (nextHop.includes(':')) {
    const g = parseIpv6(nextHop);
    if (!g) throw new BgpEncodeError(`MP_REACH_NLRI next hop is not an IPv6 address: ${nextHop}`);
    return g;
  }
  const v4 = parseIpv4(nextHop);
  if (v4 === undefined || afi !== Afi.ipv4)
    throw new BgpEncodeError(`MP_REACH_NLRI next hop ${nextHop} does not suit AFI ${afi}`);
  return Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff);
}

/** Writes MP_REACH_NLRI with prefixes `[from, to)`. */
export function writeMpReach(
  w: ByteWriter,
  afi: Afi,
  nh: Uint8Array,
  list: PrefixList,
  from: number,
  to: number,
  addPath: boolean,
): void {
  w.attr(AttrFlag.Optional, AttrType.MpReachNlri, () => {
    w.u16(afi);
    w.u8(Safi.unicast);
    w.u8(nh.length);
    w.bytes(nh);
    w.u8(0);
    w.ensure(prefixesWireSize(list, from, to, addPath));
    w.len = writePrefixes(w.buf, w.len, list, from, to, addPath);
  });
}

/** Writes MP_UNREACH_NLRI with prefixes `[from, to)`. */
export function writeMpUnreach(
  w: ByteWriter,
  afi: Afi,
  list: PrefixList,
  from: number,
  to: number,
  addPath: boolean,
): void {
  w.attr(AttrFlag.Optional, AttrType.MpUnreachNlri, () => {
    w.u16(afi);
    w.u8(Safi.unicast);
    w.ensure(prefixesWireSize(list, from, to, addPath));
    w.len = writePrefixes(w.buf, w.len, list, from, to, addPath);
  });
}

/**
 * Encodes the body of one UPDATE (without header). Attributes are written MP_REACH_NLRI,
 * MP_UNREACH_NLRI first (RFC 7606 §5.1), then the others in ascending type order. Size limits
 * are checked by the caller.
 */
export function encodeUpdateBody(m: UpdateMessage, ctx: SessionContext): Uint8Array {
  const ap4 = ctx.addPathSend.ipv4;
  if (m.withdrawn.afi !== Afi.ipv4 || m.nlri.afi !== Afi.ipv4)
    throw new BgpEncodeError('UPDATE withdrawn/nlri fields carry IPv4 only; use mpReach/mpUnreach for IPv6');
  checkAddPath(m.withdrawn, ap4, 'withdrawn routes');
  checkAddPath(m.nlri, ap4, 'NLRI');
  const w = new ByteWriter(
    64 + prefixesWireSize(m.withdrawn, 0, m.withdrawn.count, ap4) + prefixesWireSize(m.nlri, 0, m.nlri.count, ap4),
  );
  const wsize = prefixesWireSize(m.withdrawn, 0, m.withdrawn.count, ap4);
  if (wsize > 0xffff) throw new BgpEncodeError('UPDATE withdrawn routes exceed 65535 octets');
  w.u16(wsize);
  w.ensure(wsize);
  w.len = writePrefixes(w.buf, w.len, m.withdrawn, 0, m.withdrawn.count, ap4);
  const lenAt = w.len;
  w.u16(0);
  if (m.mpReach) {
    const r = m.mpReach;
    if (r.nlri.afi !== r.afi) throw new BgpEncodeError('MP_REACH_NLRI prefixes do not match its AFI');
    const ap = sendAddPath(ctx, r.afi);
    checkAddPath(r.nlri, ap, 'MP_REACH_NLRI');
    writeMpReach(w, r.afi, encodeMpNextHop(r.afi, r.nextHop, r.linkLocalNextHop), r.nlri, 0, r.nlri.count, ap);
  }
  if (m.mpUnreach) {
    const u = m.mpUnreach;
    if (u.withdrawn.afi !== u.afi) throw new BgpEncodeError('MP_UNREACH_NLRI prefixes do not match its AFI');
    const ap = sendAddPath(ctx, u.afi);
    checkAddPath(u.withdrawn, ap, 'MP_UNREACH_NLRI');
    writeMpUnreach(w, u.afi, u.withdrawn, 0, u.withdrawn.count, ap);
  }
  w.bytes(encodePathAttributes(m.attributes, ctx));
  const alen = w.len - lenAt - 2;
  if (alen > 0xffff) throw new BgpEncodeError('UPDATE path attributes exceed 65535 octets');
  w.buf[lenAt] = alen >> 8;
  w.buf[lenAt + 1] = alen & 0xff;
  const nsize = prefixesWireSize(m.nlri, 0, m.nlri.count, ap4);
  w.ensure(nsize);
  w.len = writePrefixes(w.buf, w.len, m.nlri, 0, m.nlri.count, ap4);
  return w.result();
}
