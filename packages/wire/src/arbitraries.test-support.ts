// fast-check arbitraries of valid messages, shared by the property tests.
import fc from 'fast-check';
import type { AsPathSegment, LargeCommunity, PathAttributes, RawAttribute } from './attributes.js';
import { EXPECTED_FLAGS } from './attributes.js';
import { type Capability, encodeCapability } from './capabilities.js';
import { Afi, AS_TRANS, type AsPathSegmentKind, BgpRole } from './constants.js';
import { ipv4ToString, ipv6At } from './ip.js';
import type { BgpMessage } from './message.js';
import type { NotificationMessage } from './notification.js';
import type { OpenMessage } from './open.js';
import { maskWord, PrefixList } from './prefix-list.js';
import type { RouteRefreshMessage } from './route-refresh.js';
import { type SessionContext, sessionContext } from './session-context.js';
import type { MpReach, MpUnreach, UpdateMessage } from './update.js';

/** A session context whose send and receive ADD-PATH settings agree, so encode and decode are symmetric. */
export const contextArb: fc.Arbitrary<SessionContext> = fc
  .record({ fourOctetAs: fc.boolean(), extendedMessage: fc.boolean(), ap4: fc.boolean(), ap6: fc.boolean() })
  .map(({ fourOctetAs, extendedMessage, ap4, ap6 }) =>
    sessionContext({
      fourOctetAs,
      extendedMessage,
      addPathReceive: { ipv4: ap4, ipv6: ap6 },
      addPathSend: { ipv4: ap4, ipv6: ap6 },
    }),
  );

const u32 = fc.nat({ max: 0xffffffff });
export const ipv4Arb = u32.map(ipv4ToString);
/** An IPv4 unicast host address (what NEXT_HOP may carry, RFC 4271 §6.3). */
export const hostIpv4Arb = fc.integer({ min: 0x01000000, max: 0xdfffffff }).map(ipv4ToString);
export const ipv6Arb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ipv6At(b, 0));

/** A list of prefixes of `afi`, with path identifiers exactly when `addPath`. */
export function prefixListArb(afi: Afi, addPath: boolean, maxLength = 12): fc.Arbitrary<PrefixList> {
  const words = afi === Afi.ipv4 ? 1 : 4;
  const max = afi === Afi.ipv4 ? 32 : 128;
  return fc
    .array(fc.record({ len: fc.nat({ max }), addr: fc.array(u32, { minLength: words, maxLength: words }), id: u32 }), {
      maxLength,
    })
    .map((items) => {
      const lengths = new Uint8Array(items.length);
      const addrs = new Uint32Array(items.length * words);
      const ids = new Uint32Array(items.length);
      items.forEach((it, i) => {
        lengths[i] = it.len;
        for (let w = 0; w < words; w++) addrs[i * words + w] = (it.addr[w]! & maskWord(it.len, w)) >>> 0;
        ids[i] = it.id;
      });
      return new PrefixList(afi, lengths, addrs, addPath ? ids : undefined);
    });
}

function segmentArb(kinds: AsPathSegmentKind[], asn: fc.Arbitrary<number>): fc.Arbitrary<AsPathSegment> {
  return fc.record({ kind: fc.constantFrom(...kinds), asns: fc.array(asn, { minLength: 1, maxLength: 8 }) });
}

/** An AS path whose confederation segments lead (RFC 5065 §5), as a merge after AS4_PATH returns it. */
function asPathArb(four: boolean): fc.Arbitrary<AsPathSegment[]> {
  const asn = fc.oneof(fc.nat({ max: 0xffff }), u32);
  // On a 2-octet session a confederation AS above 65535 cannot survive (AS4_PATH has no confederation segments).
  const confedAsn = four ? asn : fc.nat({ max: 0xffff });
  return fc
    .tuple(
      fc.array(segmentArb(['confed-sequence', 'confed-set'], confedAsn), { maxLength: 2 }),
      fc.array(segmentArb(['sequence', 'set'], asn), { maxLength: 4 }),
    )
    .map(([c, p]) => [...c, ...p]);
}

const RESERVED_TYPES = new Set(Object.keys(EXPECTED_FLAGS).map(Number));
const unknownAttrArb: fc.Arbitrary<RawAttribute[]> = fc
  .uniqueArray(
    fc.record({
      type: fc.integer({ min: 0, max: 255 }).filter((t) => !RESERVED_TYPES.has(t)),
      value: fc.uint8Array({ maxLength: 300 }),
    }),
    { selector: (a) => a.type, maxLength: 3 },
  )
  .map((list) => list.map((a) => ({ flags: 0xe0, type: a.type, value: a.value })).sort((x, y) => x.type - y.type));

/** Path attributes without the mandatory ones (added by `updateArb` when announcing). */
function optionalAttributesArb(four: boolean): fc.Arbitrary<PathAttributes> {
  return fc.record(
    {
      med: u32,
      localPref: u32,
      atomicAggregate: fc.constant(true as const),
      aggregator: fc.record({ asn: fc.oneof(fc.nat({ max: 0xffff }), u32), address: ipv4Arb }),
      communities: fc.array(u32, { minLength: 1, maxLength: 10 }),
      originatorId: ipv4Arb,
      clusterList: fc.array(ipv4Arb, { minLength: 1, maxLength: 4 }),
      extendedCommunities: fc.array(
        fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex')),
        { minLength: 1, maxLength: 4 },
      ),
      largeCommunities: fc.array(fc.tuple(u32, u32, u32) as fc.Arbitrary<LargeCommunity>, {
        minLength: 1,
        maxLength: 4,
      }),
      otc: u32,
      unknown: unknownAttrArb.filter((l) => l.length > 0),
      origin: fc.constantFrom('igp' as const, 'egp' as const, 'incomplete' as const),
      asPath: asPathArb(four),
      nextHop: hostIpv4Arb,
    },
    { requiredKeys: [] },
  );
}

/**
 * RFC 6793 §4.2.3: an AGGREGATOR with an AS other than AS_TRANS tells a 2-octet receiver to ignore
 * AS4_PATH; a consistent sender then has no 4-octet AS in the path.
 */
function consistentFor2Octet(a: PathAttributes, four: boolean): PathAttributes {
  if (
    four ||
    a.aggregator === undefined ||
    a.aggregator.asn > 0xffff ||
    a.aggregator.asn === AS_TRANS ||
    a.asPath === undefined
  )
    return a;
  return { ...a, asPath: a.asPath.map((s) => ({ kind: s.kind, asns: s.asns.map((x) => x & 0xffff) })) };
}

function mpReachArb(ctx: SessionContext): fc.Arbitrary<MpReach> {
  return fc.oneof(
    fc.record({
      afi: fc.constant(Afi.ipv6),
      safi: fc.constant(1 as const),
      nextHop: ipv6Arb,
      linkLocalNextHop: fc.option(ipv6Arb, { nil: undefined }),
      nlri: prefixListArb(Afi.ipv6, ctx.addPathReceive.ipv6),
    }),
    fc.record({
      afi: fc.constant(Afi.ipv4),
      safi: fc.constant(1 as const),
      nextHop: fc.oneof(ipv4Arb, ipv6Arb),
      nlri: prefixListArb(Afi.ipv4, ctx.addPathReceive.ipv4),
    }),
  );
}

function mpUnreachArb(ctx: SessionContext): fc.Arbitrary<MpUnreach> {
  return fc.constantFrom(Afi.ipv4, Afi.ipv6).chain((afi) =>
    fc.record({
      afi: fc.constant(afi),
      safi: fc.constant(1 as const),
      withdrawn: prefixListArb(afi, afi === Afi.ipv4 ? ctx.addPathReceive.ipv4 : ctx.addPathReceive.ipv6),
    }),
  );
}

/** A valid UPDATE for `ctx`: announcing UPDATEs carry ORIGIN, AS_PATH and (for the NLRI field) NEXT_HOP. */
export function updateArb(ctx: SessionContext): fc.Arbitrary<UpdateMessage> {
  const four = ctx.fourOctetAs;
  const ap4 = ctx.addPathReceive.ipv4;
  return fc
    .record({
      withdrawn: prefixListArb(Afi.ipv4, ap4),
      nlri: prefixListArb(Afi.ipv4, ap4),
      attributes: optionalAttributesArb(four),
      mpReach: fc.option(mpReachArb(ctx), { nil: undefined }),
      mpUnreach: fc.option(mpUnreachArb(ctx), { nil: undefined }),
      mandatory: fc.record({
        origin: fc.constantFrom('igp' as const, 'egp' as const),
        asPath: asPathArb(four),
        nextHop: hostIpv4Arb,
      }),
    })
    .map(({ withdrawn, nlri, attributes, mpReach, mpUnreach, mandatory }) => {
      const announces = nlri.count > 0 || (mpReach !== undefined && mpReach.nlri.count > 0);
      let attrs: PathAttributes = attributes;
      if (announces) {
        attrs = {
          ...attrs,
          origin: attrs.origin ?? mandatory.origin,
          asPath: attrs.asPath ?? mandatory.asPath,
          nextHop: nlri.count > 0 ? (attrs.nextHop ?? mandatory.nextHop) : attrs.nextHop,
        };
      }
      const m: UpdateMessage = {
        type: 'update',
        withdrawn,
        attributes: consistentFor2Octet(attrs, four),
        mpReach,
        mpUnreach,
        nlri,
      };
      return m;
    });
}

const capabilityArb: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ kind: fc.constant('multiprotocol' as const), afi: fc.nat({ max: 0xffff }), safi: fc.nat({ max: 255 }) }),
  fc.constant({ kind: 'route-refresh' as const }),
  fc.constant({ kind: 'enhanced-route-refresh' as const }),
  fc.constant({ kind: 'extended-message' as const }),
  fc.record({
    kind: fc.constant('extended-next-hop' as const),
    entries: fc.array(
      fc.record({ afi: fc.nat({ max: 0xffff }), safi: fc.nat({ max: 0xffff }), nextHopAfi: fc.nat({ max: 0xffff }) }),
      { maxLength: 3 },
    ),
  }),
  fc.record({
    kind: fc.constant('graceful-restart' as const),
    restarting: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.nat({ max: 4095 }),
    families: fc.array(
      fc.record({ afi: fc.nat({ max: 0xffff }), safi: fc.nat({ max: 255 }), forwarding: fc.boolean() }),
      { maxLength: 3 },
    ),
  }),
  fc.record({ kind: fc.constant('four-octet-as' as const), asn: u32 }),
  fc.record({
    kind: fc.constant('add-path' as const),
    families: fc.array(
      fc.record({
        afi: fc.nat({ max: 0xffff }),
        safi: fc.nat({ max: 255 }),
        mode: fc.constantFrom('receive' as const, 'send' as const, 'both' as const),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  }),
  fc.record({
    kind: fc.constant('fqdn' as const),
    hostname: fc.string({ maxLength: 40, unit: 'grapheme-ascii' }),
    domain: fc.string({ maxLength: 40, unit: 'grapheme-ascii' }),
  }),
  fc.record({
    kind: fc.constant('role' as const),
    role: fc.oneof(
      fc.constantFrom(...(Object.keys(BgpRole) as (keyof typeof BgpRole)[])),
      fc.integer({ min: 5, max: 255 }),
    ),
  }),
  fc.record({
    kind: fc.constant('unknown' as const),
    code: fc.constantFrom(0, 3, 4, 7, 8, 66, 71, 128, 200, 255),
    value: fc.uint8Array({ maxLength: 20 }),
  }),
);

export const openArb: fc.Arbitrary<OpenMessage> = fc
  .record({
    myAs: fc.nat({ max: 0xffff }),
    holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 0xffff })),
    bgpId: u32.filter((x) => x !== 0).map(ipv4ToString),
    capabilities: fc.array(capabilityArb, { maxLength: 40 }),
    extended: fc.boolean(),
  })
  .map(({ myAs, holdTime, bgpId, capabilities, extended }) => {
    const size = capabilities.reduce((n, c) => n + encodeCapability(c).length, 0);
    const ext = capabilities.length > 0 && (extended || size + 2 > 255);
    const base: OpenMessage = { type: 'open', version: 4, myAs, holdTime, bgpId, capabilities };
    return ext ? { ...base, extendedOptionalParameters: true } : base;
  });

export const notificationArb: fc.Arbitrary<NotificationMessage> = fc.record({
  type: fc.constant('notification' as const),
  code: fc.nat({ max: 255 }),
  subcode: fc.nat({ max: 255 }),
  data: fc.uint8Array({ maxLength: 64 }),
});

export const routeRefreshArb: fc.Arbitrary<RouteRefreshMessage> = fc.oneof(
  fc.record({
    type: fc.constant('route-refresh' as const),
    afi: fc.nat({ max: 0xffff }),
    safi: fc.nat({ max: 255 }),
    subtype: fc.oneof(
      fc.constantFrom('normal' as const, 'borr' as const, 'eorr' as const),
      fc.integer({ min: 3, max: 255 }),
    ),
  }),
  fc.record({
    type: fc.constant('route-refresh' as const),
    afi: fc.nat({ max: 0xffff }),
    safi: fc.nat({ max: 255 }),
    subtype: fc.constant('normal' as const),
    orf: fc.uint8Array({ minLength: 1, maxLength: 30 }),
  }),
);

/** Any valid message for `ctx`. */
export function messageArb(ctx: SessionContext): fc.Arbitrary<BgpMessage> {
  return fc.oneof(
    { arbitrary: updateArb(ctx), weight: 4 },
    openArb,
    notificationArb,
    fc.constant({ type: 'keepalive' as const }),
    routeRefreshArb,
  );
}

/** Drops what only decode sets, to compare a decoded message with the one encoded. */
export function comparable(m: BgpMessage): unknown {
  if (m.type === 'update') {
    const { attrKey: _k, errors: _e, treatAsWithdraw: _t, ...rest } = m;
    return rest;
  }
  if (m.type === 'notification') {
    const { shutdownMessage: _s, ...rest } = m;
    return rest;
  }
  return m;
}
