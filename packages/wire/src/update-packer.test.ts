import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prefixListArb } from './arbitraries.test-support.js';
import { Afi, MAX_MESSAGE_LENGTH } from './constants.js';
import { BgpEncodeError } from './errors.js';
import { decode } from './message.js';
import { PrefixList } from './prefix-list.js';
import { sessionContext } from './session-context.js';
import type { UpdateMessage } from './update.js';
import { encodeAttributeSet, packUpdates } from './update-packer.js';

const attrs = {
  origin: 'igp' as const,
  asPath: [{ kind: 'sequence' as const, asns: [65001, 65002] }],
  nextHop: '192.0.2.1',
  localPref: 100,
};

function decodeAll(msgs: Uint8Array[], ctx = sessionContext({ fourOctetAs: true })): UpdateMessage[] {
  return msgs.map((b) => {
    const m = decode(b, ctx);
    if (m.type !== 'update') throw new Error('not an UPDATE');
    expect(m.errors).toBeUndefined();
    return m;
  });
}

function v4(n: number): PrefixList {
  return PrefixList.from(
    Afi.ipv4,
    Array.from({ length: n }, (_, i) => `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`),
  );
}

describe('packUpdates', () => {
  const ctx = sessionContext({ fourOctetAs: true });

  it('packs prefixes up to 4096 octets per UPDATE and splits at the limit', () => {
    const set = encodeAttributeSet(attrs, ctx);
    const list = v4(5000);
    const msgs = packUpdates({ announce: list, attributes: set }, ctx);
    // Each /24 takes 4 octets; room per message = 4096 - 23 - attribute bytes.
    const perMsg = Math.floor((MAX_MESSAGE_LENGTH - 23 - set.bytes.length) / 4);
    expect(msgs.length).toBe(Math.ceil(5000 / perMsg));
    for (const b of msgs) expect(b.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(msgs[0]!.length).toBe(23 + set.bytes.length + 4 * perMsg);
    const decoded = decodeAll(msgs);
    expect(decoded.flatMap((m) => m.nlri.toStrings())).toEqual(list.toStrings());
    for (const m of decoded) expect(m.attributes).toMatchObject(attrs);
    expect(new Set(decoded.map((m) => m.attrKey?.hash)).size).toBe(1);
  });

  it('uses 65535-octet UPDATEs when extended messages are negotiated', () => {
    const ext = sessionContext({ fourOctetAs: true, extendedMessage: true });
    const msgs = packUpdates({ announce: v4(20000), attributes: encodeAttributeSet(attrs, ext) }, ext);
    expect(msgs.length).toBe(2);
    expect(msgs[0]!.length).toBeGreaterThan(60000);
    expect(msgs[0]!.length).toBeLessThanOrEqual(65535);
    expect(decodeAll(msgs, ext).reduce((n, m) => n + m.nlri.count, 0)).toBe(20000);
  });

  it('puts withdrawals and announcements in one UPDATE when they fit', () => {
    const msgs = packUpdates(
      {
        withdraw: PrefixList.from(Afi.ipv4, ['172.16.0.0/16', '172.17.0.0/16', '172.18.0.0/16']),
        announce: v4(5),
        attributes: encodeAttributeSet(attrs, ctx),
      },
      ctx,
    );
    expect(msgs.length).toBe(1);
    const [m] = decodeAll(msgs);
    expect(m!.withdrawn.count).toBe(3);
    expect(m!.nlri.count).toBe(5);
  });

  it('packs IPv6 in MP_REACH_NLRI / MP_UNREACH_NLRI with ADD-PATH', () => {
    const ap = sessionContext({ fourOctetAs: true, addPathSend: { ipv6: true }, addPathReceive: { ipv6: true } });
    const set = encodeAttributeSet(attrs, ap, { afi: Afi.ipv6, nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1' });
    fc.assert(
      fc.property(prefixListArb(Afi.ipv6, true, 600), prefixListArb(Afi.ipv6, true, 600), (ann, wd) => {
        const msgs = packUpdates({ announce: ann, withdraw: wd, attributes: set }, ap);
        for (const b of msgs) expect(b.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
        const decoded = decodeAll(msgs, ap);
        expect(decoded.flatMap((m) => m.mpReach?.nlri.toStrings() ?? [])).toEqual(ann.toStrings());
        expect(decoded.flatMap((m) => m.mpUnreach?.withdrawn.toStrings() ?? [])).toEqual(wd.toStrings());
        for (const m of decoded) if (m.mpReach) expect(m.mpReach.linkLocalNextHop).toBe('fe80::1');
      }),
      { numRuns: 60 },
    );
  });

  it('splits any mix of IPv4 withdrawals and announcements without loss, each message within the limit', () => {
    const set = encodeAttributeSet(attrs, ctx);
    fc.assert(
      fc.property(prefixListArb(Afi.ipv4, false, 2500), prefixListArb(Afi.ipv4, false, 2500), (ann, wd) => {
        const msgs = packUpdates({ announce: ann, withdraw: wd, attributes: set }, ctx);
        for (const b of msgs) expect(b.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
        const decoded = decodeAll(msgs);
        expect(decoded.flatMap((m) => m.nlri.toStrings())).toEqual(ann.toStrings());
        expect(decoded.flatMap((m) => m.withdrawn.toStrings())).toEqual(wd.toStrings());
        // Only the last message may be partly empty: every earlier one could not take the next prefix.
        for (let i = 0; i + 1 < msgs.length; i++)
          expect(msgs[i]!.length).toBeGreaterThan(MAX_MESSAGE_LENGTH - 5 - 4 - set.bytes.length - 9);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses prefixes without path identifiers on an ADD-PATH session, and an attribute set from another encoding', () => {
    const ap = sessionContext({ fourOctetAs: true, addPathSend: { ipv4: true } });
    expect(() => packUpdates({ announce: v4(1), attributes: encodeAttributeSet(attrs, ap) }, ap)).toThrow(
      BgpEncodeError,
    );
    const two = sessionContext();
    expect(() => packUpdates({ announce: v4(1), attributes: encodeAttributeSet(attrs, ctx) }, two)).toThrow(
      BgpEncodeError,
    );
  });

  it('returns no message when there is nothing to send', () => {
    expect(packUpdates({}, ctx)).toEqual([]);
  });
});
