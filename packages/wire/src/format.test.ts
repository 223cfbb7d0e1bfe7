import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contextArb, messageArb } from './arbitraries.test-support.js';
import { Afi } from './constants.js';
import {
  communityToString,
  extendedCommunityToString,
  formatMessage,
  messageToJson,
  notificationName,
} from './format.js';
import { decode, encode, KEEPALIVE } from './message.js';
import { PrefixList } from './prefix-list.js';
import { sessionContext } from './session-context.js';
import { h, updateBytes } from './test-bytes.test-support.js';
import type { UpdateMessage } from './update.js';

const ctx = sessionContext({ fourOctetAs: true });

describe('human-readable and JSON forms', () => {
  it('formats an UPDATE the way logs show it', () => {
    const m: UpdateMessage = {
      type: 'update',
      withdrawn: PrefixList.from(Afi.ipv4, ['192.0.2.0/24']),
      attributes: {
        origin: 'igp',
        asPath: [
          { kind: 'confed-sequence', asns: [65010] },
          { kind: 'sequence', asns: [65001, 65002] },
          { kind: 'set', asns: [65003, 65004] },
        ],
        nextHop: '198.18.0.1',
        localPref: 100,
        communities: [0xffffff01, 65000 * 65536 + 7],
        largeCommunities: [[65000, 1, 2]],
      },
      nlri: PrefixList.from(Afi.ipv4, ['10.0.0.0/8']),
    };
    expect(formatMessage(m)).toBe(
      [
        'UPDATE',
        '  withdrawn: 192.0.2.0/24',
        '  origin: igp',
        '  as-path: (65010) 65001 65002 {65003,65004}',
        '  next-hop: 198.18.0.1',
        '  local-pref: 100',
        '  communities: NO_EXPORT 65000:7',
        '  large-communities: 65000:1:2',
        '  nlri: 10.0.0.0/8',
      ].join('\n'),
    );
    expect(messageToJson(m)).toEqual({
      type: 'update',
      withdrawn: ['192.0.2.0/24'],
      attributes: {
        origin: 'igp',
        as_path: [
          { kind: 'confed-sequence', asns: [65010] },
          { kind: 'sequence', asns: [65001, 65002] },
          { kind: 'set', asns: [65003, 65004] },
        ],
        next_hop: '198.18.0.1',
        local_pref: 100,
        communities: ['NO_EXPORT', '65000:7'],
        large_communities: ['65000:1:2'],
      },
      nlri: ['10.0.0.0/8'],
    });
  });

  it('shows RFC 7606 outcomes', () => {
    const m = decode(updateBytes({ attrs: '40 01 01 07 40 02 00 40 03 04 c0000201', nlri: '08 0a' }), ctx);
    expect(formatMessage(m)).toBe(
      'UPDATE (treat-as-withdraw)\n  withdrawn: 10.0.0.0/8\n  treat-as-withdraw: malformed ORIGIN',
    );
    expect(messageToJson(m)).toMatchObject({
      treat_as_withdraw: true,
      withdrawn: ['10.0.0.0/8'],
      errors: [{ action: 'treat-as-withdraw', subcode: 6, attr_type: 1 }],
    });
  });

  it('formats the other messages', () => {
    expect(formatMessage(KEEPALIVE)).toBe('KEEPALIVE');
    expect(formatMessage(decode(updateBytes({}), ctx))).toBe('UPDATE End-of-RIB (IPv4 unicast)');
    expect(formatMessage({ type: 'route-refresh', afi: 2, safi: 1, subtype: 'borr' })).toBe('ROUTE-REFRESH 2/1 BORR');
    expect(
      formatMessage({
        type: 'open',
        version: 4,
        myAs: 23456,
        holdTime: 90,
        bgpId: '192.0.2.1',
        capabilities: [{ kind: 'four-octet-as', asn: 4200000000 }, { kind: 'route-refresh' }],
      }),
    ).toBe('OPEN version 4 AS 23456 hold 90s id 192.0.2.1\n  4-octet AS 4200000000\n  route refresh');
    expect(messageToJson({ type: 'notification', code: 6, subcode: 4, data: h('00') })).toEqual({
      type: 'notification',
      code: 6,
      subcode: 4,
      name: 'Cease / Administrative Reset',
      data: '00',
    });
  });

  it('names notification codes, communities and extended communities', () => {
    expect(notificationName(2, 7)).toBe('OPEN Message Error / Unsupported Capability');
    expect(notificationName(3, 0)).toBe('UPDATE Message Error / Unspecific');
    expect(notificationName(6, 9)).toBe('Cease / Hard Reset');
    expect(notificationName(99, 1)).toBe('error code 99 / subcode 1');
    expect(communityToString(0xffff029a)).toBe('BLACKHOLE');
    expect(extendedCommunityToString('0002fde800000064')).toBe('rt:65000:100');
    expect(extendedCommunityToString('0103c00002010007')).toBe('soo:192.0.2.1:7');
    expect(extendedCommunityToString('0202fa56ea000001')).toBe('rt:4200000000:1');
    expect(extendedCommunityToString('4300000000000000')).toBe('0x4300000000000000');
  });

  it('every message has a JSON form that survives JSON.stringify and a text form', () => {
    fc.assert(
      fc.property(
        contextArb.chain((c) => fc.tuple(fc.constant(c), messageArb(c))),
        ([c, m]) => {
          const d = decode(encode(m, c), c);
          const json = JSON.parse(JSON.stringify(messageToJson(d)));
          expect(json.type).toBe(m.type);
          expect(formatMessage(d).length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
