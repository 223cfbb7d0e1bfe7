// Hand-written byte vectors, worked out from the RFC text, for each attribute and capability.
import { describe, expect, it } from 'vitest';
import { Afi, AttrType, WellKnownCommunity } from './constants.js';
import { formatMessage, messageToJson } from './format.js';
import { decode, encode } from './message.js';
import { maxPrefixNotification, shutdownNotification } from './notification.js';
import type { OpenMessage } from './open.js';
import { PrefixList } from './prefix-list.js';
import { sessionContext } from './session-context.js';
import { h, hex, msg, updateBytes } from './test-bytes.test-support.js';
import type { UpdateMessage } from './update.js';
import { endOfRib, endOfRibFamily } from './update-packer.js';

const four = sessionContext({ fourOctetAs: true });
const two = sessionContext({ fourOctetAs: false });

// Mandatory attributes for a 4-octet session: ORIGIN IGP, AS_PATH (AS_SEQUENCE 65001), NEXT_HOP 192.0.2.1.
const ORIGIN = '40 01 01 00';
const AS_PATH4 = '40 02 06 02 01 0000fde9';
const NEXT_HOP = '40 03 04 c0000201';
const BASE = ORIGIN + AS_PATH4 + NEXT_HOP;
const NLRI = '08 0a'; // 10.0.0.0/8

function upd(bytes: Uint8Array, ctx = four): UpdateMessage {
  const m = decode(bytes, ctx);
  if (m.type !== 'update') throw new Error('not an UPDATE');
  return m;
}

/** Decodes `attrs` (plus mandatory ones when `withBase`) and checks re-encoding is byte-exact. */
function attrs(extra: string, ctx = four, canonical = true) {
  const bytes = updateBytes({ attrs: BASE + extra, nlri: NLRI });
  const m = upd(bytes, ctx);
  expect(m.errors).toBeUndefined();
  if (canonical) expect(hex(encode(m, ctx))).toBe(hex(bytes));
  return m.attributes;
}

describe('path attribute vectors', () => {
  it('ORIGIN (RFC 4271 §4.3 type 1): 0 IGP, 1 EGP, 2 INCOMPLETE', () => {
    for (const [v, name] of [
      ['00', 'igp'],
      ['01', 'egp'],
      ['02', 'incomplete'],
    ] as const) {
      const m = upd(updateBytes({ attrs: `400101${v}${AS_PATH4}${NEXT_HOP}`, nlri: NLRI }));
      expect(m.attributes.origin).toBe(name);
    }
  });

  it('AS_PATH (type 2) with 4-octet ASes: AS_SEQUENCE and AS_SET', () => {
    const bytes = updateBytes({
      attrs: `${ORIGIN} 40 02 14 02 02 0000fde9 fa56ea00 01 02 00000001 00000002 ${NEXT_HOP}`,
      nlri: NLRI,
    });
    const m = upd(bytes);
    expect(m.attributes.asPath).toEqual([
      { kind: 'sequence', asns: [65001, 4200000000] },
      { kind: 'set', asns: [1, 2] },
    ]);
    expect(hex(encode(m, four))).toBe(hex(bytes));
  });

  it('AS_PATH with confederation segments (RFC 5065 §3: types 3 and 4)', () => {
    const bytes = updateBytes({
      attrs: `${ORIGIN} 40 02 16 03 01 0000fde8 04 02 00000001 00000002 02 01 0000fde9 ${NEXT_HOP}`,
      nlri: NLRI,
    });
    expect(upd(bytes).attributes.asPath).toEqual([
      { kind: 'confed-sequence', asns: [65000] },
      { kind: 'confed-set', asns: [1, 2] },
      { kind: 'sequence', asns: [65001] },
    ]);
  });

  it('AS_PATH with 2-octet ASes on a 2-octet session', () => {
    const bytes = updateBytes({ attrs: `${ORIGIN} 40 02 08 02 03 fde9 fdea 0001 ${NEXT_HOP}`, nlri: NLRI });
    const m = upd(bytes, two);
    expect(m.attributes.asPath).toEqual([{ kind: 'sequence', asns: [65001, 65002, 1] }]);
    expect(hex(encode(m, two))).toBe(hex(bytes));
  });

  it('AS4_PATH (type 17) restores 4-octet ASes hidden behind AS_TRANS (RFC 6793 §4.2.3)', () => {
    // AS_PATH: 65001 23456 65002 ; AS4_PATH: 4200000000 65002 → 65001 4200000000 65002.
    const bytes = updateBytes({
      attrs: `${ORIGIN} 40 02 08 02 03 fde9 5ba0 fdea ${NEXT_HOP} c0 11 0a 02 02 fa56ea00 0000fdea`,
      nlri: NLRI,
    });
    const m = upd(bytes, two);
    expect(m.attributes.asPath).toEqual([{ kind: 'sequence', asns: [65001, 4200000000, 65002] }]);
    expect(m.errors).toBeUndefined();
  });

  it('encodes a 4-octet path for a 2-octet session as AS_TRANS plus AS4_PATH', () => {
    const m: UpdateMessage = {
      type: 'update',
      withdrawn: PrefixList.empty(Afi.ipv4),
      attributes: { origin: 'igp', asPath: [{ kind: 'sequence', asns: [65001, 4200000000] }], nextHop: '192.0.2.1' },
      nlri: PrefixList.from(Afi.ipv4, ['10.0.0.0/8']),
    };
    expect(hex(encode(m, two))).toBe(
      hex(
        updateBytes({
          attrs: `${ORIGIN} 40 02 06 02 02 fde9 5ba0 ${NEXT_HOP} c0 11 0a 02 02 0000fde9 fa56ea00`,
          nlri: NLRI,
        }),
      ),
    );
  });

  it('AS4_PATH is ignored when AS_PATH is shorter (RFC 6793 §4.2.3)', () => {
    const bytes = updateBytes({
      attrs: `${ORIGIN} 40 02 04 02 01 5ba0 ${NEXT_HOP} c0 11 0a 02 02 fa56ea00 0000fdea`,
      nlri: NLRI,
    });
    expect(upd(bytes, two).attributes.asPath).toEqual([{ kind: 'sequence', asns: [23456] }]);
  });

  it('NEXT_HOP (type 3), MULTI_EXIT_DISC (4), LOCAL_PREF (5), ATOMIC_AGGREGATE (6)', () => {
    const a = attrs('80 04 04 00000064 40 05 04 000000c8 40 06 00');
    expect(a.nextHop).toBe('192.0.2.1');
    expect(a.med).toBe(100);
    expect(a.localPref).toBe(200);
    expect(a.atomicAggregate).toBe(true);
  });

  it('AGGREGATOR (type 7): 8 octets on 4-octet sessions, 6 on 2-octet ones; AS4_AGGREGATOR (type 18)', () => {
    expect(attrs('c0 07 08 fa56ea00 c0000202').aggregator).toEqual({ asn: 4200000000, address: '192.0.2.2' });
    const two6 = upd(
      updateBytes({ attrs: `${ORIGIN} 40 02 04 02 01 fde9 ${NEXT_HOP} c0 07 06 fde9 c0000202`, nlri: NLRI }),
      two,
    );
    expect(two6.attributes.aggregator).toEqual({ asn: 65001, address: '192.0.2.2' });
    const merged = upd(
      updateBytes({
        attrs: `${ORIGIN} 40 02 04 02 01 fde9 ${NEXT_HOP} c0 07 06 5ba0 c0000202 c0 12 08 fa56ea00 c0000202`,
        nlri: NLRI,
      }),
      two,
    );
    expect(merged.attributes.aggregator).toEqual({ asn: 4200000000, address: '192.0.2.2' });
  });

  it('COMMUNITIES (type 8, RFC 1997) with well-known values named', () => {
    const a = attrs('c0 08 0c ffffff01 ffffff02 fde80064');
    expect(a.communities).toEqual([WellKnownCommunity.NO_EXPORT, WellKnownCommunity.NO_ADVERTISE, 65000 * 65536 + 100]);
    const text = formatMessage(upd(updateBytes({ attrs: `${BASE} c0 08 0c ffffff01 ffffff02 fde80064`, nlri: NLRI })));
    expect(text).toContain('communities: NO_EXPORT NO_ADVERTISE 65000:100');
  });

  it('ORIGINATOR_ID (type 9) and CLUSTER_LIST (type 10), RFC 4456', () => {
    const a = attrs('80 09 04 0a000001 80 0a 08 0a000001 0a000002');
    expect(a.originatorId).toBe('10.0.0.1');
    expect(a.clusterList).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('EXTENDED_COMMUNITIES (type 16, RFC 4360): route target 65000:100', () => {
    const a = attrs('c0 10 08 0002fde800000064');
    expect(a.extendedCommunities).toEqual(['0002fde800000064']);
    const json = messageToJson(upd(updateBytes({ attrs: `${BASE} c0 10 08 0002fde800000064`, nlri: NLRI })));
    expect((json.attributes as Record<string, unknown>).extended_communities).toEqual(['rt:65000:100']);
  });

  it('LARGE_COMMUNITIES (type 32, RFC 8092) and OTC (type 35, RFC 9234)', () => {
    const a = attrs('c0 20 0c 0000fde8 00000001 00000002 c0 23 04 0000fde8');
    expect(a.largeCommunities).toEqual([[65000, 1, 2]]);
    expect(a.otc).toBe(65000);
  });

  it('an unknown optional transitive attribute is kept with the Partial bit set (RFC 4271 §5)', () => {
    const bytes = updateBytes({ attrs: `${BASE} c0 63 02 abcd`, nlri: NLRI });
    const m = upd(bytes);
    expect(m.attributes.unknown).toEqual([{ flags: 0xe0, type: 99, value: h('abcd') }]);
    expect(hex(encode(m, four))).toBe(hex(updateBytes({ attrs: `${BASE} e0 63 02 abcd`, nlri: NLRI })));
  });

  it('an unknown optional non-transitive attribute is dropped quietly', () => {
    const m = upd(updateBytes({ attrs: `${BASE} 80 63 02 abcd`, nlri: NLRI }));
    expect(m.attributes.unknown).toBeUndefined();
    expect(m.errors).toBeUndefined();
  });

  it('accepts the Extended Length flag on short attributes and sets it only above 255 octets', () => {
    const bytes = updateBytes({ attrs: `50 01 0001 00 50 02 0006 02 01 0000fde9 ${NEXT_HOP}`, nlri: NLRI });
    const m = upd(bytes);
    expect(m.attributes.origin).toBe('igp');
    expect(m.attributes.asPath).toEqual([{ kind: 'sequence', asns: [65001] }]);
    expect(hex(encode(m, four))).toBe(hex(updateBytes({ attrs: BASE, nlri: NLRI })));
    const communities = Array.from({ length: 70 }, (_, i) => i);
    const big = encode({ ...m, attributes: { ...m.attributes, communities } }, four);
    // 70 communities = 280 octets: flags 0xd0 (optional, transitive, extended length), length 0x0118.
    expect(hex(big)).toContain('d008' + '0118');
    expect(upd(big).attributes.communities).toEqual(communities);
  });

  it('MP_REACH_NLRI (type 14, RFC 4760 §3) for IPv6 with a global next hop', () => {
    // AFI 2, SAFI 1, next hop length 16, 2001:db8::1, reserved 0, NLRI 2001:db8::/32.
    const mp = '80 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8';
    const bytes = updateBytes({ attrs: mp + ORIGIN + AS_PATH4 });
    const m = upd(bytes);
    expect(m.mpReach?.nextHop).toBe('2001:db8::1');
    expect(m.mpReach?.linkLocalNextHop).toBeUndefined();
    expect(m.mpReach?.nlri.toStrings()).toEqual(['2001:db8::/32']);
    expect(hex(encode(m, four))).toBe(hex(bytes));
  });

  it('MP_REACH_NLRI with a global and a link-local IPv6 next hop (32 octets, RFC 2545 §3)', () => {
    const mp = '80 0e 2a 0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00 20 20010db8';
    const bytes = updateBytes({ attrs: mp + ORIGIN + AS_PATH4 });
    const m = upd(bytes);
    expect(m.mpReach?.nextHop).toBe('2001:db8::1');
    expect(m.mpReach?.linkLocalNextHop).toBe('fe80::1');
    expect(hex(encode(m, four))).toBe(hex(bytes));
  });

  it('MP_REACH_NLRI for IPv4 NLRI with an IPv6 next hop (RFC 8950)', () => {
    const mp = '80 0e 19 0001 01 10 20010db8000000000000000000000001 00 18 c00002';
    const m = upd(updateBytes({ attrs: mp + ORIGIN + AS_PATH4 }));
    expect(m.mpReach).toMatchObject({ afi: 1, safi: 1, nextHop: '2001:db8::1' });
    expect(m.mpReach?.nlri.toStrings()).toEqual(['192.0.2.0/24']);
  });

  it('MP_UNREACH_NLRI (type 15, RFC 4760 §4) for IPv6', () => {
    const bytes = updateBytes({ attrs: '80 0f 08 0002 01 20 20010db8' });
    const m = upd(bytes);
    expect(m.mpUnreach?.withdrawn.toStrings()).toEqual(['2001:db8::/32']);
    expect(hex(encode(m, four))).toBe(hex(bytes));
  });

  it('attribute key: identical attribute sets give identical keys regardless of NLRI', () => {
    const a = upd(updateBytes({ attrs: BASE, nlri: '08 0a' }));
    const b = upd(updateBytes({ attrs: BASE, nlri: '10 0a01 10 0a02' }));
    const c = upd(updateBytes({ attrs: `${ORIGIN}${AS_PATH4}40 03 04 c0000202`, nlri: '08 0a' }));
    expect(a.attrKey?.hash).toBe(b.attrKey?.hash);
    expect(hex(a.attrKey!.bytes)).toBe(hex(b.attrKey!.bytes));
    expect(hex(a.attrKey!.bytes)).toBe(hex(h(BASE)));
    expect(hex(c.attrKey!.bytes)).not.toBe(hex(a.attrKey!.bytes));
    expect(a.attrKey!.equals(b.attrKey!)).toBe(true);
    expect(a.attrKey!.equals(c.attrKey!)).toBe(false);
    expect(a.attrKey!.equals(h(BASE))).toBe(true);
    expect(a.attrKey!.equals(h(BASE).subarray(1))).toBe(false);
    const kept = a.attrKey!.copy();
    expect(kept.buffer).not.toBe(a.attrKey!.bytes.buffer);
    expect(a.attrKey!.equals(kept)).toBe(true);
    // MP_REACH: the key keeps the next hop but not the NLRI.
    const mp = (nlri: string) =>
      `80 0e ${(21 + h(nlri).length).toString(16)} 0002 01 10 20010db8000000000000000000000001 00 ${nlri}`;
    const x = upd(updateBytes({ attrs: mp('20 20010db8') + ORIGIN + AS_PATH4 }));
    const y = upd(updateBytes({ attrs: mp('30 20010db80001') + ORIGIN + AS_PATH4 }));
    expect(hex(x.attrKey!.bytes)).toBe(hex(y.attrKey!.bytes));
    expect(x.attrKey!.hash).toBe(y.attrKey!.hash);
    expect(hex(x.attrKey!.bytes)).toBe(
      hex(h(`${ORIGIN}${AS_PATH4} 80 0e 15 0002 01 10 20010db8000000000000000000000001 00`)),
    );
  });

  it('attribute key on a 2-octet session: AS4_PATHs that merge into different paths give different keys', () => {
    // AS_PATH 65001 23456 (2-octet); AS4_PATH 65001 4200000000 or 65001 4200000001.
    const path2 = '40 02 06 02 02 fde9 5ba0';
    const as4 = (last: string) => `c0 11 0a 02 02 0000fde9 ${last}`;
    const a = upd(updateBytes({ attrs: ORIGIN + path2 + NEXT_HOP + as4('fa56ea00'), nlri: NLRI }), two);
    const b = upd(updateBytes({ attrs: ORIGIN + path2 + NEXT_HOP + as4('fa56ea01'), nlri: NLRI }), two);
    expect(a.attributes.asPath).toEqual([{ kind: 'sequence', asns: [65001, 4200000000] }]);
    expect(b.attributes.asPath).toEqual([{ kind: 'sequence', asns: [65001, 4200000001] }]);
    expect(a.attrKey!.equals(b.attrKey!)).toBe(false);
    // On a 4-octet session AS4_PATH is ignored (RFC 6793 4.2.2), so it is not part of the key.
    const c = upd(updateBytes({ attrs: BASE + as4('fa56ea00'), nlri: NLRI }), four);
    expect(hex(c.attrKey!.bytes)).toBe(hex(h(BASE)));
  });
});

describe('NLRI vectors', () => {
  it('IPv4 prefixes use the fewest octets and ignore trailing host bits (RFC 4271 §4.3)', () => {
    const m = upd(updateBytes({ attrs: BASE, nlri: '00 08 0a 11 c0a880 18 c0a801 20 c0a80101 0f 0aff' }));
    expect(m.nlri.toStrings()).toEqual([
      '0.0.0.0/0',
      '10.0.0.0/8',
      '192.168.128.0/17',
      '192.168.1.0/24',
      '192.168.1.1/32',
      '10.254.0.0/15',
    ]);
  });

  it('ADD-PATH path identifiers precede each prefix (RFC 7911 §3)', () => {
    const ctx = sessionContext({ fourOctetAs: true, addPathReceive: { ipv4: true }, addPathSend: { ipv4: true } });
    const bytes = updateBytes({
      withdrawn: '00000002 18 c0a802',
      attrs: BASE,
      nlri: '00000001 18 c0a801 00000007 08 0a',
    });
    const m = upd(bytes, ctx);
    expect(m.withdrawn.toStrings()).toEqual(['192.168.2.0/24 path-id 2']);
    expect(m.nlri.toStrings()).toEqual(['192.168.1.0/24 path-id 1', '10.0.0.0/8 path-id 7']);
    expect(hex(encode(m, ctx))).toBe(hex(bytes));
    // Without ADD-PATH the same bytes are a different (here: malformed) NLRI: the context decides.
    expect(() => decode(bytes, four)).toThrow();
  });

  it('encodes End-of-RIB markers (RFC 4724 §2)', () => {
    expect(hex(encode(endOfRib(Afi.ipv4), four))).toBe(hex(updateBytes({})));
    expect(hex(encode(endOfRib(Afi.ipv6), four))).toBe(hex(updateBytes({ attrs: '80 0f 03 0002 01' })));
  });

  it('splits AS_PATH runs longer than 255 ASes into several segments (RFC 4271 §4.3)', () => {
    const asns = Array.from({ length: 300 }, (_, i) => 64512 + i);
    const m: UpdateMessage = {
      type: 'update',
      withdrawn: PrefixList.empty(Afi.ipv4),
      attributes: { origin: 'igp', asPath: [{ kind: 'sequence', asns }], nextHop: '192.0.2.1' },
      nlri: PrefixList.from(Afi.ipv4, ['10.0.0.0/8']),
    };
    const back = upd(encode(m, four));
    expect(back.attributes.asPath?.map((s) => [s.kind, s.asns.length])).toEqual([
      ['sequence', 255],
      ['sequence', 45],
    ]);
    expect(back.attributes.asPath?.flatMap((s) => s.asns)).toEqual(asns);
  });

  it('recognises End-of-RIB for IPv4 (empty UPDATE) and IPv6 (empty MP_UNREACH_NLRI), RFC 4724 §2', () => {
    expect(endOfRibFamily(upd(updateBytes({})))).toBe(Afi.ipv4);
    expect(endOfRibFamily(upd(updateBytes({ attrs: '80 0f 03 0002 01' })))).toBe(Afi.ipv6);
    expect(endOfRibFamily(upd(updateBytes({ attrs: '80 0f 08 0002 01 20 20010db8' })))).toBeUndefined();
    expect(endOfRibFamily(upd(updateBytes({ attrs: BASE, nlri: NLRI })))).toBeUndefined();
  });
});

function open(caps: string): OpenMessage {
  const c = h(caps);
  const body =
    c.length === 0
      ? '04 fde9 00b4 c0000201 00'
      : `04 fde9 00b4 c0000201 ${(c.length + 2).toString(16).padStart(2, '0')} 02 ${c.length.toString(16).padStart(2, '0')} ${caps}`;
  const m = decode(msg(1, body), four);
  if (m.type !== 'open') throw new Error('not an OPEN');
  expect(hex(encode(m, four))).toBe(hex(msg(1, body)));
  return m;
}

describe('capability vectors', () => {
  it('OPEN fixed fields (RFC 4271 §4.2)', () => {
    const m = open('');
    expect(m).toMatchObject({ version: 4, myAs: 65001, holdTime: 180, bgpId: '192.0.2.1', capabilities: [] });
  });

  it('multiprotocol (code 1, RFC 4760 §8), route refresh (2), enhanced route refresh (70)', () => {
    expect(open('01 04 0002 00 01 02 00 46 00').capabilities).toEqual([
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'enhanced-route-refresh' },
    ]);
  });

  it('extended next hop (code 5, RFC 8950 §3) and extended message (code 6, RFC 8654)', () => {
    expect(open('05 06 0001 0001 0002 06 00').capabilities).toEqual([
      { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
      { kind: 'extended-message' },
    ]);
  });

  it('graceful restart (code 64, RFC 4724 §3) with the N bit (RFC 8538) and forwarding bits', () => {
    // Flags R=1, N=1, restart time 120 → 0xc078; IPv4 unicast forwarding preserved; IPv6 unicast not.
    expect(open('40 0a c078 0001 01 80 0002 01 00').capabilities).toEqual([
      {
        kind: 'graceful-restart',
        restarting: true,
        notification: true,
        restartTime: 120,
        families: [
          { afi: 1, safi: 1, forwarding: true },
          { afi: 2, safi: 1, forwarding: false },
        ],
      },
    ]);
  });

  it('4-octet AS (code 65, RFC 6793 §3) and ADD-PATH (code 69, RFC 7911 §4)', () => {
    expect(open('41 04 fa56ea00 45 08 0001 01 03 0002 01 01').capabilities).toEqual([
      { kind: 'four-octet-as', asn: 4200000000 },
      {
        kind: 'add-path',
        families: [
          { afi: 1, safi: 1, mode: 'both' },
          { afi: 2, safi: 1, mode: 'receive' },
        ],
      },
    ]);
  });

  it('FQDN (code 73) and BGP role (code 9, RFC 9234 §4.1)', () => {
    expect(open('49 0e 05 6e6f646531 07 6578616d706c65 09 01 02').capabilities).toEqual([
      { kind: 'fqdn', hostname: 'node1', domain: 'example' },
      { kind: 'role', role: 'rs-client' },
    ]);
  });

  it('unknown capabilities are kept as raw bytes', () => {
    expect(open('80 02 abcd').capabilities).toEqual([{ kind: 'unknown', code: 128, value: h('abcd') }]);
  });

  it('several Capabilities parameters are merged, in order', () => {
    // Opt Parm Len 8: two parameters of type 2, each holding one capability.
    const m = decode(msg(1, '04 fde9 00b4 c0000201 08 02 02 02 00 02 02 46 00'), four);
    expect(m.type === 'open' && m.capabilities).toEqual([
      { kind: 'route-refresh' },
      { kind: 'enhanced-route-refresh' },
    ]);
  });

  it('RFC 9072 extended optional parameters length', () => {
    // Non-Ext OP Len 255, Non-Ext OP Type 255, Extended Opt. Parm. Length 5, then type 2 with a 2-octet length 2.
    const bytes = msg(1, '04 fde9 00b4 c0000201 ff ff 0005 02 0002 02 00');
    const m = decode(bytes, four);
    expect(m).toMatchObject({
      type: 'open',
      capabilities: [{ kind: 'route-refresh' }],
      extendedOptionalParameters: true,
    });
    expect(hex(encode(m, four))).toBe(hex(bytes));
  });
});

describe('NOTIFICATION and ROUTE-REFRESH vectors', () => {
  it('decodes an RFC 8203 shutdown communication as text', () => {
    const bytes = msg(3, '06 02 0b 6d61696e74656e616e6365');
    const m = decode(bytes, four);
    expect(m).toMatchObject({ type: 'notification', code: 6, subcode: 2, shutdownMessage: 'maintenance' });
    expect(hex(encode(shutdownNotification('maintenance'), four))).toBe(hex(bytes));
    expect(formatMessage(m)).toBe('NOTIFICATION 6/2 Cease / Administrative Shutdown: "maintenance"');
  });

  it('keeps malformed shutdown data as bytes only', () => {
    const m = decode(msg(3, '06 04 05 6d61'), four);
    expect(m).toMatchObject({ type: 'notification', code: 6, subcode: 4, data: h('05 6d61') });
    expect(m.type === 'notification' && m.shutdownMessage).toBeUndefined();
  });

  it('names the codes and subcodes of RFC 4271 and RFC 4486', () => {
    expect(formatMessage(decode(msg(3, '03 0b'), four))).toBe(
      'NOTIFICATION 3/11 UPDATE Message Error / Malformed AS_PATH',
    );
    expect(formatMessage(decode(msg(3, '06 01 0001 01 00000064'), four))).toBe(
      'NOTIFICATION 6/1 Cease / Maximum Number of Prefixes Reached (AFI 1 SAFI 1 limit 100)',
    );
    expect(hex(encode(maxPrefixNotification(1, 1, 100), four))).toBe(hex(msg(3, '06 01 0001 01 00000064')));
    expect(formatMessage(decode(msg(3, '02 02'), four))).toBe('NOTIFICATION 2/2 OPEN Message Error / Bad Peer AS');
    expect(formatMessage(decode(msg(3, '05 03'), four))).toBe(
      'NOTIFICATION 5/3 Finite State Machine Error / Receive Unexpected Message in Established State',
    );
    expect(formatMessage(decode(msg(3, '06 07'), four))).toContain('Cease / Connection Collision Resolution');
    expect(formatMessage(decode(msg(3, '01 02 0fff'), four))).toBe(
      'NOTIFICATION 1/2 Message Header Error / Bad Message Length data 0x0fff',
    );
  });

  it('ROUTE-REFRESH (RFC 2918) with the BoRR / EoRR subtypes (RFC 7313)', () => {
    expect(decode(msg(5, '0001 00 01'), four)).toEqual({ type: 'route-refresh', afi: 1, safi: 1, subtype: 'normal' });
    expect(decode(msg(5, '0002 01 01'), four)).toEqual({ type: 'route-refresh', afi: 2, safi: 1, subtype: 'borr' });
    expect(decode(msg(5, '0001 02 01'), four)).toEqual({ type: 'route-refresh', afi: 1, safi: 1, subtype: 'eorr' });
    expect(hex(encode({ type: 'route-refresh', afi: 1, safi: 1, subtype: 'eorr' }, four))).toBe(
      hex(msg(5, '0001 02 01')),
    );
  });

  it('KEEPALIVE is a bare header', () => {
    expect(hex(encode({ type: 'keepalive' }, four))).toBe('ffffffffffffffffffffffffffffffff001304');
  });
});

it('AttrType values match the IANA registry entries used here', () => {
  expect([AttrType.MpReachNlri, AttrType.As4Path, AttrType.LargeCommunities]).toEqual([14, 17, 32]);
});
