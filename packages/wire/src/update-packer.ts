import { ByteWriter, encodePathAttributes, type PathAttributes } from './attributes.js';
import { Afi, HEADER_LENGTH, MessageType, Safi } from './constants.js';
import { BgpEncodeError } from './errors.js';
import { emptyPrefixList, prefixesWireSize, prefixWireSize, writePrefixes } from './nlri.js';
import type { PrefixList } from './prefix-list.js';
import { maxMessageLength, type SessionContext } from './session-context.js';
import { encodeMpNextHop, type UpdateMessage, writeMpReach, writeMpUnreach } from './update.js';

/**
 * An attribute set encoded once for one session, to announce any number of prefixes under it
 * with `packUpdates`. Build it with `encodeAttributeSet`.
 */
export interface AttributeSet {
  /** The encoded path attributes (everything but MP_REACH_NLRI / MP_UNREACH_NLRI). */
  readonly bytes: Uint8Array;
  /** MP_REACH_NLRI next hop octets (4, 16 or 32), when prefixes go in MP_REACH_NLRI. */
  readonly mpNextHop: Uint8Array | undefined;
  /** The session encoding it was built for. */
  readonly fourOctetAs: boolean;
}

/**
 * Encodes `attributes` once for `ctx`. `mpNextHop` is needed to announce IPv6 prefixes (or IPv4
 * prefixes with an IPv6 next hop, RFC 8950); IPv4 prefixes without it go in the NLRI field
 * under `attributes.nextHop`.
 */
export function encodeAttributeSet(
  attributes: PathAttributes,
  ctx: SessionContext,
  mpNextHop?: { readonly afi: Afi; readonly nextHop: string; readonly linkLocalNextHop?: string | undefined },
): AttributeSet {
  return {
    bytes: encodePathAttributes(attributes, ctx),
    mpNextHop: mpNextHop ? encodeMpNextHop(mpNextHop.afi, mpNextHop.nextHop, mpNextHop.linkLocalNextHop) : undefined,
    fourOctetAs: ctx.fourOctetAs,
  };
}

// Reused for the common case of small UPDATEs; each message is copied out with `result()`.
const packScratch = new ByteWriter(4096);

/** What `packUpdates` sends: withdrawals and/or announcements under one attribute set. */
export interface PackInput {
  /** Prefixes to withdraw: IPv4 ones in the Withdrawn Routes field, IPv6 ones in MP_UNREACH_NLRI. */
  readonly withdraw?: PrefixList | undefined;
  /** Prefixes to announce under `attributes`. */
  readonly announce?: PrefixList | undefined;
  readonly attributes?: AttributeSet | undefined;
}

function addPathFor(ctx: SessionContext, afi: Afi): boolean {
  return afi === Afi.ipv4 ? ctx.addPathSend.ipv4 : ctx.addPathSend.ipv6;
}

function checkIds(list: PrefixList, ap: boolean): void {
  if (list.count > 0 && !list.pathIds !== !ap) {
    throw new BgpEncodeError(
      ap
        ? 'ADD-PATH is negotiated for sending: prefixes need path identifiers'
        : 'prefixes carry path identifiers but ADD-PATH is not negotiated for sending',
    );
  }
}

/**
 * Encodes withdrawals and announcements into as few UPDATEs as fit the negotiated maximum size
 * (4096, or 65535 with RFC 8654), each a complete message with header. Withdrawals come first;
 * announcements fill the rest of the last withdrawal message and then further messages, each
 * carrying the attribute set. Returns [] when there is nothing to send.
 */
export function packUpdates(input: PackInput, ctx: SessionContext): Uint8Array[] {
  const max = maxMessageLength(ctx);
  const wl = input.withdraw;
  const al = input.announce;
  const W = wl?.count ?? 0;
  const A = al?.count ?? 0;
  const attrs = input.attributes;
  if (A > 0 && !attrs) throw new BgpEncodeError('announcements need an attribute set');
  if (attrs && attrs.fourOctetAs !== ctx.fourOctetAs)
    throw new BgpEncodeError('attribute set was encoded for another session encoding (4-octet AS)');
  const wAp = wl ? addPathFor(ctx, wl.afi) : false;
  const aAp = al ? addPathFor(ctx, al.afi) : false;
  if (wl) checkIds(wl, wAp);
  if (al) checkIds(al, aAp);
  const aMp = al !== undefined && (al.afi === Afi.ipv6 || attrs?.mpNextHop !== undefined);
  if (al && A > 0 && aMp && !attrs?.mpNextHop)
    throw new BgpEncodeError('IPv6 announcements need an attribute set with an MP_REACH_NLRI next hop');
  const out: Uint8Array[] = [];
  let wi = 0;
  let ai = 0;
  const estimate =
    HEADER_LENGTH +
    4 +
    16 +
    (attrs ? attrs.bytes.length + 40 : 0) +
    (wl ? prefixesWireSize(wl, 0, W, wAp) : 0) +
    (al ? prefixesWireSize(al, 0, A, aAp) : 0);
  const w = estimate <= packScratch.buf.length ? packScratch : new ByteWriter(Math.min(max, estimate));
  while (wi < W || ai < A) {
    let room = max - HEADER_LENGTH - 4;
    // Withdrawals.
    const wFrom = wi;
    if (wl && wi < W) {
      if (wl.afi === Afi.ipv6) room -= 7; // MP_UNREACH_NLRI: header (at most 4) + AFI/SAFI (3)
      while (wi < W) {
        const s = prefixWireSize(wl, wi, wAp);
        if (s > room) break;
        room -= s;
        wi++;
      }
    }
    // Announcements.
    const aFrom = ai;
    if (al && ai < A && attrs) {
      const overhead = attrs.bytes.length + (aMp ? 4 + 5 + attrs.mpNextHop!.length : 0);
      if (overhead + prefixWireSize(al, ai, aAp) <= room) {
        room -= overhead;
        while (ai < A) {
          const s = prefixWireSize(al, ai, aAp);
          if (s > room) break;
          room -= s;
          ai++;
        }
      }
    }
    if (wi === wFrom && ai === aFrom)
      throw new BgpEncodeError(
        `attribute set of ${attrs?.bytes.length ?? 0} octets leaves no room for a prefix in a ${max}-octet UPDATE`,
      );
    // Build: header, withdrawn routes, attributes (MP_REACH, MP_UNREACH, the set), NLRI.
    w.len = 0;
    w.ensure(HEADER_LENGTH);
    w.buf.fill(0xff, 0, 16);
    w.buf[18] = MessageType.Update;
    w.len = HEADER_LENGTH;
    const v4w = wl && wl.afi === Afi.ipv4 && wi > wFrom;
    const wlenAt = w.len;
    w.u16(0);
    if (v4w) {
      w.len = writePrefixes(w.buf, w.len, wl, wFrom, wi, wAp);
      const n = w.len - wlenAt - 2;
      w.buf[wlenAt] = n >> 8;
      w.buf[wlenAt + 1] = n & 0xff;
    }
    const alenAt = w.len;
    w.u16(0);
    const hasAnn = al !== undefined && ai > aFrom;
    if (hasAnn && aMp) writeMpReach(w, al.afi, attrs!.mpNextHop!, al, aFrom, ai, aAp);
    if (wl && wl.afi === Afi.ipv6 && wi > wFrom) writeMpUnreach(w, Afi.ipv6, wl, wFrom, wi, wAp);
    if (hasAnn) w.bytes(attrs!.bytes);
    const alen = w.len - alenAt - 2;
    w.buf[alenAt] = alen >> 8;
    w.buf[alenAt + 1] = alen & 0xff;
    if (hasAnn && !aMp) w.len = writePrefixes(w.buf, w.len, al, aFrom, ai, aAp);
    w.buf[16] = w.len >> 8;
    w.buf[17] = w.len & 0xff;
    out.push(w.result());
  }
  return out;
}

/** RFC 4724 §2 End-of-RIB marker for IPv4 unicast (an empty UPDATE) or IPv6 unicast (an empty MP_UNREACH_NLRI). */
export function endOfRib(afi: Afi): UpdateMessage {
  const base = {
    type: 'update' as const,
    withdrawn: emptyPrefixList(Afi.ipv4, false),
    attributes: {},
    nlri: emptyPrefixList(Afi.ipv4, false),
  };
  return afi === Afi.ipv4
    ? base
    : { ...base, mpUnreach: { afi, safi: Safi.unicast, withdrawn: emptyPrefixList(afi, false) } };
}

/** The family whose End-of-RIB marker `m` is (RFC 4724 §2), or undefined when it is not one. */
export function endOfRibFamily(m: UpdateMessage): Afi | undefined {
  if (m.withdrawn.count > 0 || m.nlri.count > 0 || m.mpReach !== undefined || m.treatAsWithdraw) return undefined;
  for (const v of Object.values(m.attributes)) if (v !== undefined) return undefined;
  if (m.mpUnreach === undefined) return Afi.ipv4;
  return m.mpUnreach.withdrawn.count === 0 ? m.mpUnreach.afi : undefined;
}
