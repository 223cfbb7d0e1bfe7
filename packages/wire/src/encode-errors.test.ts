import { describe, expect, it } from 'vitest';
import { Afi } from './constants.js';
import { BgpDecodeError, BgpEncodeError } from './errors.js';
import { decode, encode, tryDecode } from './message.js';
import { shutdownNotification } from './notification.js';
import { PrefixList } from './prefix-list.js';
import { sessionContext } from './session-context.js';
import { msg } from './test-bytes.test-support.js';
import type { UpdateMessage } from './update.js';

const ctx = sessionContext({ fourOctetAs: true });
const base: UpdateMessage = {
  type: 'update',
  withdrawn: PrefixList.empty(Afi.ipv4),
  attributes: { origin: 'igp', asPath: [], nextHop: '192.0.2.1' },
  nlri: PrefixList.from(Afi.ipv4, ['10.0.0.0/8']),
};

describe('encode refuses what the wire cannot carry', () => {
  it('an UPDATE above the negotiated size', () => {
    const many = PrefixList.from(
      Afi.ipv4,
      Array.from({ length: 1100 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
    );
    expect(() => encode({ ...base, nlri: many }, ctx)).toThrow(BgpEncodeError);
    expect(
      encode({ ...base, nlri: many }, sessionContext({ fourOctetAs: true, extendedMessage: true })).length,
    ).toBeGreaterThan(4096);
  });

  it('path identifiers that do not match the negotiated ADD-PATH mode', () => {
    const ap = sessionContext({ fourOctetAs: true, addPathSend: { ipv4: true } });
    expect(() => encode(base, ap)).toThrow(/path identifier/);
    const withIds = PrefixList.from(Afi.ipv4, [{ address: '10.0.0.0', length: 8, pathId: 1 }]);
    expect(() => encode({ ...base, nlri: withIds }, ctx)).toThrow(/not negotiated/);
  });

  it('out-of-range values', () => {
    expect(() => encode({ ...base, attributes: { ...base.attributes, med: -1 } }, ctx)).toThrow(BgpEncodeError);
    expect(() => encode({ ...base, attributes: { ...base.attributes, nextHop: '300.0.0.1' } }, ctx)).toThrow(
      BgpEncodeError,
    );
    expect(() => encode({ ...base, attributes: { ...base.attributes, communities: [] } }, ctx)).toThrow(BgpEncodeError);
    expect(() => encode({ ...base, attributes: { ...base.attributes, extendedCommunities: ['xyz'] } }, ctx)).toThrow(
      BgpEncodeError,
    );
    expect(() =>
      encode(
        { ...base, attributes: { ...base.attributes, unknown: [{ flags: 0xc0, type: 8, value: new Uint8Array(4) }] } },
        ctx,
      ),
    ).toThrow(/modelled/);
    const wellKnown = { flags: 0x40, type: 99, value: new Uint8Array(1) };
    expect(() => encode({ ...base, attributes: { ...base.attributes, unknown: [wellKnown] } }, ctx)).toThrow(
      /Optional/,
    );
    expect(() =>
      encode({ type: 'open', version: 4, myAs: 70000, holdTime: 90, bgpId: '1.2.3.4', capabilities: [] }, ctx),
    ).toThrow(/AS_TRANS/);
    expect(() => shutdownNotification('x'.repeat(256))).toThrow(BgpEncodeError);
  });
});

describe('decode errors', () => {
  it('carry a stable code per NOTIFICATION error code', () => {
    const cases: [Uint8Array, string, number, number][] = [
      [msg(1, '03 fde9 00b4 c0000201 00'), 'WIRE_OPEN_MESSAGE_ERROR', 2, 1],
      [msg(1, '04 fde9 0002 c0000201 00'), 'WIRE_OPEN_MESSAGE_ERROR', 2, 6],
      [msg(1, '04 fde9 00b4 00000000 00'), 'WIRE_OPEN_MESSAGE_ERROR', 2, 3],
      [msg(1, '04 fde9 00b4 c0000201 03 01 01 00'), 'WIRE_OPEN_MESSAGE_ERROR', 2, 4],
      [msg(1, '04 fde9 00b4 c0000201 05 02 03 41 01 00'), 'WIRE_OPEN_MESSAGE_ERROR', 2, 0],
      [msg(5, '0001 01 01 00'), 'WIRE_ROUTE_REFRESH_MESSAGE_ERROR', 7, 1],
    ];
    for (const [bytes, code, c, s] of cases) {
      const r = tryDecode(bytes, ctx);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toBeInstanceOf(BgpDecodeError);
        expect(r.error.code).toBe(code);
        expect([r.error.notification.code, r.error.notification.subcode]).toEqual([c, s]);
      }
    }
    // RFC 4271 §6.2: Unsupported Version Number carries the largest supported version (2 octets).
    expect(() => decode(cases[0]![0], ctx)).toThrow(
      expect.objectContaining({ notification: { code: 2, subcode: 1, data: Uint8Array.of(0, 4) } }),
    );
    // RFC 7313 §5: the data of an Invalid Message Length is the whole ROUTE-REFRESH message.
    const rr = tryDecode(cases[5]![0], ctx);
    expect(!rr.ok && rr.error.notification.data).toEqual(cases[5]![0]);
  });
});
