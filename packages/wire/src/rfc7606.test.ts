// One case per RFC 7606 (and RFC 4271 §6.3 / RFC 6793 §6) rule, with its expected outcome.
import { describe, expect, it } from 'vitest';
import { AttrType, ErrorCode, UpdateSubcode } from './constants.js';
import { BgpDecodeError } from './errors.js';
import { decode } from './message.js';
import { sessionContext } from './session-context.js';
import { h, updateBytes } from './test-bytes.test-support.js';
import type { UpdateMessage } from './update.js';

const four = sessionContext({ fourOctetAs: true });
const two = sessionContext({ fourOctetAs: false });

const ORIGIN = '40 01 01 00';
const AS_PATH = '40 02 06 02 01 0000fde9';
const NEXT_HOP = '40 03 04 c0000201';
const BASE = ORIGIN + AS_PATH + NEXT_HOP;
const NLRI = '08 0a 18 c00002'; // 10.0.0.0/8, 192.0.2.0/24
const MP6 = '80 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8'; // 2001:db8::/32

function upd(parts: { withdrawn?: string; attrs?: string; nlri?: string }, ctx = four): UpdateMessage {
  const m = decode(updateBytes(parts), ctx);
  if (m.type !== 'update') throw new Error('not an UPDATE');
  return m;
}

function resetOf(parts: { withdrawn?: string; attrs?: string; nlri?: string }, ctx = four): BgpDecodeError {
  try {
    upd(parts, ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(BgpDecodeError);
    expect((err as BgpDecodeError).code).toBe('WIRE_UPDATE_MESSAGE_ERROR');
    return err as BgpDecodeError;
  }
  throw new Error('expected a session reset');
}

/** Asserts treat-as-withdraw: no announcements, the NLRI now withdrawn, one error with this subcode. */
function expectTreatAsWithdraw(m: UpdateMessage, subcode: number, attrType: number): void {
  expect(m.treatAsWithdraw).toBe(true);
  expect(m.nlri.count).toBe(0);
  expect(m.mpReach).toBeUndefined();
  expect(m.attrKey).toBeUndefined();
  expect(m.withdrawn.toStrings()).toEqual(['10.0.0.0/8', '192.0.2.0/24']);
  expect(m.errors?.find((e) => e.action === 'treat-as-withdraw')).toMatchObject({ subcode, attrType });
}

function expectDiscard(m: UpdateMessage, attrType: number): void {
  expect(m.treatAsWithdraw).toBeUndefined();
  expect(m.nlri.toStrings()).toEqual(['10.0.0.0/8', '192.0.2.0/24']);
  expect(m.errors).toEqual([expect.objectContaining({ action: 'attribute-discard', attrType })]);
}

describe('session reset (RFC 4271 §6.3, RFC 7606 §3)', () => {
  it('Withdrawn Routes Length overrunning the message: Malformed Attribute List', () => {
    const bytes = updateBytes({ attrs: BASE, nlri: NLRI });
    bytes[19] = 0x0f; // withdrawn routes length 0x0f00
    const err = (() => {
      try {
        decode(bytes, four);
      } catch (e) {
        return e as BgpDecodeError;
      }
      throw new Error('no error');
    })();
    expect(err.notification).toEqual({
      code: ErrorCode.Update,
      subcode: UpdateSubcode.MalformedAttributeList,
      data: new Uint8Array(0),
    });
  });

  it('Total Path Attribute Length overrunning the message: Malformed Attribute List', () => {
    const bytes = updateBytes({ attrs: BASE });
    bytes[22] = 0xff;
    expect(() => decode(bytes, four)).toThrow(BgpDecodeError);
    try {
      decode(bytes, four);
    } catch (e) {
      expect((e as BgpDecodeError).notification.subcode).toBe(UpdateSubcode.MalformedAttributeList);
    }
  });

  it('an NLRI prefix length above 32: Invalid Network Field (RFC 7606 §5.3)', () => {
    expect(resetOf({ attrs: BASE, nlri: '21 0a000000 00' }).notification.subcode).toBe(
      UpdateSubcode.InvalidNetworkField,
    );
  });

  it('an NLRI prefix overrunning the message: Invalid Network Field', () => {
    expect(resetOf({ attrs: BASE, nlri: '18 0a00' }).notification.subcode).toBe(UpdateSubcode.InvalidNetworkField);
  });

  it('a malformed withdrawn route: Invalid Network Field', () => {
    expect(resetOf({ withdrawn: '28 0a' }).notification.subcode).toBe(UpdateSubcode.InvalidNetworkField);
  });

  it('MP_REACH_NLRI twice: Malformed Attribute List (RFC 7606 §3(g))', () => {
    expect(resetOf({ attrs: MP6 + MP6 + ORIGIN + AS_PATH }).notification.subcode).toBe(
      UpdateSubcode.MalformedAttributeList,
    );
  });

  it('MP_UNREACH_NLRI twice: Malformed Attribute List', () => {
    expect(resetOf({ attrs: '80 0f 03 0002 01 80 0f 03 0002 01' }).notification.subcode).toBe(
      UpdateSubcode.MalformedAttributeList,
    );
  });

  it('MP_REACH_NLRI with bad flags: Attribute Flags Error with the attribute as data', () => {
    const e = resetOf({ attrs: `c0${MP6.slice(2)}${ORIGIN}${AS_PATH}` });
    expect(e.notification.subcode).toBe(UpdateSubcode.AttributeFlagsError);
    expect(e.notification.data).toEqual(h(`c0${MP6.slice(2)}`));
  });

  it('MP_REACH_NLRI too short, with a wrong next hop length, or with malformed NLRI (RFC 7606 §7.11)', () => {
    for (const mp of [
      '80 0e 04 0002 01 10',
      '80 0e 0e 0002 01 08 2001 0db8 0000 0000 00 00', // next hop of 8 octets for IPv6
      '80 0e 1a 0002 01 10 20010db8000000000000000000000001 00 30 20010db8', // prefix overruns
      '80 0e 16 0002 01 10 20010db8000000000000000000000001 00 81', // prefix length 129
      '80 0e 30 0002 01 10 20010db8000000000000000000000001 00', // attribute length beyond its content is an overrun of the list
    ]) {
      const bytes = mp + ORIGIN + AS_PATH;
      let outcome: string;
      try {
        const m = upd({ attrs: bytes });
        outcome = m.treatAsWithdraw ? 'taw' : 'ok';
      } catch (e) {
        outcome =
          (e as BgpDecodeError).notification.subcode === UpdateSubcode.OptionalAttributeError ? 'reset' : 'other';
      }
      // The last vector overruns the attribute list itself, which RFC 7606 §4 handles as treat-as-withdraw.
      expect(outcome).toBe(mp.startsWith('80 0e 30') ? 'taw' : 'reset');
    }
  });

  it('MP_UNREACH_NLRI too short or malformed: Optional Attribute Error', () => {
    expect(resetOf({ attrs: '80 0f 02 0002' }).notification.subcode).toBe(UpdateSubcode.OptionalAttributeError);
    expect(resetOf({ attrs: '80 0f 05 0002 01 81 20' }).notification.subcode).toBe(
      UpdateSubcode.OptionalAttributeError,
    );
  });

  it('an unrecognised well-known attribute: Unrecognized Well-known Attribute with the attribute as data', () => {
    const e = resetOf({ attrs: `${BASE} 40 63 01 05`, nlri: NLRI });
    expect(e.notification.subcode).toBe(UpdateSubcode.UnrecognizedWellKnownAttribute);
    expect(e.notification.data).toEqual(h('40 63 01 05'));
  });

  it('a reset wins over treat-as-withdraw found earlier (RFC 7606 §3(h))', () => {
    expect(resetOf({ attrs: `40 01 01 07 ${AS_PATH} ${NEXT_HOP} 40 63 00`, nlri: NLRI }).notification.subcode).toBe(
      UpdateSubcode.UnrecognizedWellKnownAttribute,
    );
  });
});

describe('treat-as-withdraw (RFC 7606 §2)', () => {
  it('fewer than three octets left for an attribute header (RFC 7606 §4)', () => {
    expectTreatAsWithdraw(upd({ attrs: `${BASE} c0 08`, nlri: NLRI }), UpdateSubcode.MalformedAttributeList, 0);
  });

  it('an attribute length overrunning the attribute list (RFC 7606 §4)', () => {
    expectTreatAsWithdraw(
      upd({ attrs: `${BASE} c0 08 08 ffffff01`, nlri: NLRI }),
      UpdateSubcode.AttributeLengthError,
      AttrType.Communities,
    );
  });

  it('Optional/Transitive flags in conflict with the attribute (RFC 7606 §3(c))', () => {
    expectTreatAsWithdraw(
      upd({ attrs: `c0 01 01 00 ${AS_PATH} ${NEXT_HOP}`, nlri: NLRI }),
      UpdateSubcode.AttributeFlagsError,
      AttrType.Origin,
    );
    expectTreatAsWithdraw(
      upd({ attrs: `${BASE} 40 04 04 00000001`, nlri: NLRI }),
      UpdateSubcode.AttributeFlagsError,
      AttrType.MultiExitDisc,
    );
  });

  it('the Partial bit on a well-known attribute (RFC 4271 §4.3)', () => {
    expectTreatAsWithdraw(
      upd({ attrs: `60 01 01 00 ${AS_PATH} ${NEXT_HOP}`, nlri: NLRI }),
      UpdateSubcode.AttributeFlagsError,
      AttrType.Origin,
    );
  });

  it('a missing well-known mandatory attribute (RFC 7606 §3(d))', () => {
    expectTreatAsWithdraw(
      upd({ attrs: AS_PATH + NEXT_HOP, nlri: NLRI }),
      UpdateSubcode.MissingWellKnownAttribute,
      AttrType.Origin,
    );
    expectTreatAsWithdraw(
      upd({ attrs: ORIGIN + NEXT_HOP, nlri: NLRI }),
      UpdateSubcode.MissingWellKnownAttribute,
      AttrType.AsPath,
    );
    expectTreatAsWithdraw(
      upd({ attrs: ORIGIN + AS_PATH, nlri: NLRI }),
      UpdateSubcode.MissingWellKnownAttribute,
      AttrType.NextHop,
    );
    expectTreatAsWithdraw(upd({ nlri: NLRI }), UpdateSubcode.MissingWellKnownAttribute, AttrType.Origin);
  });

  it('NEXT_HOP is not required when only MP_REACH_NLRI announces (RFC 4760 §3)', () => {
    const m = upd({ attrs: MP6 + ORIGIN + AS_PATH });
    expect(m.errors).toBeUndefined();
    expect(m.mpReach?.nlri.toStrings()).toEqual(['2001:db8::/32']);
  });

  it('ORIGIN of the wrong length or an undefined value (RFC 7606 §7.1)', () => {
    expectTreatAsWithdraw(
      upd({ attrs: `40 01 02 0000 ${AS_PATH} ${NEXT_HOP}`, nlri: NLRI }),
      UpdateSubcode.AttributeLengthError,
      AttrType.Origin,
    );
    expectTreatAsWithdraw(
      upd({ attrs: `40 01 01 03 ${AS_PATH} ${NEXT_HOP}`, nlri: NLRI }),
      UpdateSubcode.InvalidOriginAttribute,
      AttrType.Origin,
    );
  });

  it('a malformed AS_PATH: unknown segment type, zero-length segment, overrun, lone octet (RFC 7606 §7.2)', () => {
    for (const path of [
      '40 02 06 05 01 0000fde9',
      '40 02 02 02 00',
      '40 02 06 02 02 0000fde9',
      '40 02 07 02 01 0000fde9 02',
    ]) {
      expectTreatAsWithdraw(
        upd({ attrs: ORIGIN + path + NEXT_HOP, nlri: NLRI }),
        UpdateSubcode.MalformedAsPath,
        AttrType.AsPath,
      );
    }
  });

  it('an AS_PATH read with the wrong AS size is malformed: 2-octet bytes on a 4-octet session', () => {
    expectTreatAsWithdraw(
      upd({ attrs: `${ORIGIN} 40 02 04 02 01 fde9 ${NEXT_HOP}`, nlri: NLRI }),
      UpdateSubcode.MalformedAsPath,
      AttrType.AsPath,
    );
  });

  it('NEXT_HOP, MULTI_EXIT_DISC, LOCAL_PREF, ORIGINATOR_ID of the wrong length (RFC 7606 §7.3-7.5, 7.9)', () => {
    expectTreatAsWithdraw(
      upd({ attrs: `${ORIGIN}${AS_PATH} 40 03 05 c000020100`, nlri: NLRI }),
      UpdateSubcode.AttributeLengthError,
      AttrType.NextHop,
    );
    expectTreatAsWithdraw(
      upd({ attrs: `${BASE} 80 04 03 000001`, nlri: NLRI }),
      UpdateSubcode.AttributeLengthError,
      AttrType.MultiExitDisc,
    );
    expectTreatAsWithdraw(
      upd({ attrs: `${BASE} 40 05 02 0001`, nlri: NLRI }),
      UpdateSubcode.AttributeLengthError,
      AttrType.LocalPref,
    );
    expectTreatAsWithdraw(
      upd({ attrs: `${BASE} 80 09 03 0a0000`, nlri: NLRI }),
      UpdateSubcode.AttributeLengthError,
      AttrType.OriginatorId,
    );
  });

  it('a NEXT_HOP that is not a host address: 0.0.0.0/8, multicast, class E, broadcast (RFC 4271 §6.3, RFC 7606 §7.3)', () => {
    for (const nh of ['00000000', '00010203', 'e0000005', 'f0000001', 'ffffffff']) {
      expectTreatAsWithdraw(
        upd({ attrs: `${ORIGIN}${AS_PATH} 40 03 04 ${nh}`, nlri: NLRI }),
        UpdateSubcode.InvalidNextHopAttribute,
        AttrType.NextHop,
      );
    }
    expect(upd({ attrs: `${ORIGIN}${AS_PATH} 40 03 04 dfffffff`, nlri: NLRI }).errors).toBeUndefined();
  });

  it('COMMUNITIES, CLUSTER_LIST, EXTENDED_COMMUNITIES, LARGE_COMMUNITIES not a non-zero multiple of their unit', () => {
    const cases: [string, number][] = [
      ['c0 08 00', AttrType.Communities],
      ['c0 08 05 ffffff0100', AttrType.Communities],
      ['80 0a 06 0a0000010a00', AttrType.ClusterList],
      ['80 0a 00', AttrType.ClusterList],
      ['c0 10 09 000200000000006400', AttrType.ExtendedCommunities],
      ['c0 20 0d 00000001000000020000000300', AttrType.LargeCommunities],
    ];
    for (const [attr, type] of cases) {
      const m = upd({ attrs: BASE + attr, nlri: NLRI });
      expect(m.treatAsWithdraw).toBe(true);
      expect(m.errors?.[0]?.attrType).toBe(type);
    }
  });

  it('OTC of the wrong length (RFC 9234 §5)', () => {
    expectTreatAsWithdraw(
      upd({ attrs: `${BASE} c0 23 03 000001`, nlri: NLRI }),
      UpdateSubcode.AttributeLengthError,
      35,
    );
  });

  it('turns MP_REACH_NLRI announcements into withdrawals: IPv6 in MP_UNREACH_NLRI, IPv4 in Withdrawn Routes', () => {
    const m = upd({ attrs: `${MP6} 80 0f 08 0002 01 20 20010db9 40 01 01 09 ${AS_PATH}` });
    expect(m.treatAsWithdraw).toBe(true);
    expect(m.mpUnreach?.withdrawn.toStrings()).toEqual(['2001:db9::/32', '2001:db8::/32']);
    const v4 = upd({
      withdrawn: '10 0b01',
      attrs: `80 0e 0c 0001 01 04 c0000201 00 10 0c01 80 0f 06 0001 01 10 0d01 40 01 01 09 ${AS_PATH}`,
      nlri: '10 0e01',
    });
    expect(v4.withdrawn.toStrings()).toEqual(['11.1.0.0/16', '13.1.0.0/16', '14.1.0.0/16', '12.1.0.0/16']);
    expect(v4.mpUnreach).toBeUndefined();
  });

  it('treat-as-withdraw wins over attribute-discard, and both are listed', () => {
    const m = upd({ attrs: `${BASE} 40 06 01 00 80 04 01 00`, nlri: NLRI });
    expect(m.treatAsWithdraw).toBe(true);
    expect(m.errors?.map((e) => e.action)).toEqual(['attribute-discard', 'treat-as-withdraw']);
  });
});

describe('attribute-discard (RFC 7606 §2)', () => {
  it('a repeated attribute other than MP_REACH/MP_UNREACH: later copies discarded (RFC 7606 §3(g))', () => {
    const m = upd({ attrs: `${BASE} 80 04 04 00000001 80 04 04 00000002`, nlri: NLRI });
    expectDiscard(m, AttrType.MultiExitDisc);
    expect(m.attributes.med).toBe(1);
    // The discarded copy is not part of the attribute key.
    expect(m.attrKey?.bytes).toEqual(h(`${BASE} 80 04 04 00000001`));
    expect(m.attrKey?.equals(h(`${BASE} 80 04 04 00000001`))).toBe(true);
  });

  it('ATOMIC_AGGREGATE of non-zero length (RFC 7606 §7.6)', () => {
    const m = upd({ attrs: `${BASE} 40 06 01 00`, nlri: NLRI });
    expectDiscard(m, AttrType.AtomicAggregate);
    expect(m.attributes.atomicAggregate).toBeUndefined();
  });

  it('AGGREGATOR of the wrong length for the session (RFC 7606 §7.7)', () => {
    expectDiscard(upd({ attrs: `${BASE} c0 07 06 fde9 c0000201`, nlri: NLRI }), AttrType.Aggregator);
    const m = upd({ attrs: `${ORIGIN} 40 02 04 02 01 fde9 ${NEXT_HOP} c0 07 08 0000fde9 c0000201`, nlri: NLRI }, two);
    expectDiscard(m, AttrType.Aggregator);
    expect(m.attributes.aggregator).toBeUndefined();
  });

  it('a malformed AS4_PATH or one with confederation segments; AS_PATH is kept (RFC 6793 §6)', () => {
    const path2 = '40 02 04 02 01 5ba0';
    for (const as4 of ['c0 11 05 02 01 fa56ea', 'c0 11 06 03 01 fa56ea00']) {
      const m = upd({ attrs: ORIGIN + path2 + NEXT_HOP + as4, nlri: NLRI }, two);
      expectDiscard(m, AttrType.As4Path);
      expect(m.attributes.asPath).toEqual([{ kind: 'sequence', asns: [23456] }]);
    }
  });

  it('a malformed AS4_AGGREGATOR (RFC 6793 §6)', () => {
    const m = upd(
      {
        attrs: `${ORIGIN} 40 02 04 02 01 5ba0 ${NEXT_HOP} c0 07 06 5ba0 c0000201 c0 12 07 fa56ea00 c00002`,
        nlri: NLRI,
      },
      two,
    );
    expectDiscard(m, AttrType.As4Aggregator);
    expect(m.attributes.aggregator).toEqual({ asn: 23456, address: '192.0.2.1' });
  });

  it('AS4_PATH from a 4-octet speaker is ignored (RFC 6793 §4.2.2)', () => {
    const m = upd({ attrs: `${BASE} c0 11 06 02 01 fa56ea00`, nlri: NLRI });
    expectDiscard(m, AttrType.As4Path);
    expect(m.attributes.asPath).toEqual([{ kind: 'sequence', asns: [65001] }]);
  });

  it('an AGGREGATOR AS other than AS_TRANS makes a 2-octet receiver ignore AS4_PATH (RFC 6793 §4.2.3)', () => {
    const m = upd(
      { attrs: `${ORIGIN} 40 02 04 02 01 5ba0 ${NEXT_HOP} c0 07 06 fde9 c0000201 c0 11 06 02 01 fa56ea00`, nlri: NLRI },
      two,
    );
    expect(m.attributes.asPath).toEqual([{ kind: 'sequence', asns: [23456] }]);
    expect(m.attributes.aggregator).toEqual({ asn: 65001, address: '192.0.2.1' });
  });

  it('AS4_PATH with a bad Transitive flag', () => {
    expectDiscard(
      upd({ attrs: `${ORIGIN} 40 02 04 02 01 5ba0 ${NEXT_HOP} 80 11 06 02 01 fa56ea00`, nlri: NLRI }, two),
      AttrType.As4Path,
    );
  });

  it('MP_REACH_NLRI for an AFI/SAFI this codec does not handle', () => {
    const m = upd({ attrs: `80 0e 09 0001 80 04 c0000201 00 ${BASE}`, nlri: NLRI });
    expectDiscard(m, AttrType.MpReachNlri);
  });
});
