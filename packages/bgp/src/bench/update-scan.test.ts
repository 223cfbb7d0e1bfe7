import { Afi, decode, encodeAttributeSet, PrefixList, packUpdates, sessionContext } from '@tabby/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScannedPrefixes, scanUpdate } from './update-scan.js';

const ctx = sessionContext({ fourOctetAs: true });

const prefix = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
  .map(([a, len]) => ({ address: (len === 0 ? 0 : (a >>> (32 - len)) << (32 - len)) >>> 0, length: len }))
  .map(
    ({ address, length }) =>
      `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}/${length}`,
  );

const pairs = (l: { count: number; addrs: Uint32Array; lengths: Uint8Array }) =>
  Array.from({ length: l.count }, (_, i) => [l.addrs[i], l.lengths[i]]);

describe('scanUpdate reads the prefixes of an UPDATE as decode does', () => {
  it('withdrawn routes and NLRI of any IPv4 UPDATE, in order', () => {
    const attrs = encodeAttributeSet(
      {
        origin: 'igp',
        asPath: [],
        nextHop: '198.19.0.5',
        localPref: 100,
        originatorId: '198.19.0.5',
        clusterList: ['198.18.0.100'],
      },
      ctx,
    );
    const w = new ScannedPrefixes();
    const n = new ScannedPrefixes();
    fc.assert(
      fc.property(fc.uniqueArray(prefix, { maxLength: 300 }), fc.uniqueArray(prefix, { maxLength: 300 }), (wd, an) => {
        const msgs = packUpdates(
          { withdraw: PrefixList.from(Afi.ipv4, wd), announce: PrefixList.from(Afi.ipv4, an), attributes: attrs },
          ctx,
        );
        for (const bytes of msgs) {
          const m = decode(bytes, ctx);
          if (m.type !== 'update') throw new Error('not an update');
          scanUpdate(bytes, w, n);
          expect(pairs(w)).toEqual(pairs(m.withdrawn));
          expect(pairs(n)).toEqual(pairs(m.nlri));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('throws on lengths that do not add up, whatever the bytes', () => {
    const [bytes] = packUpdates(
      {
        announce: PrefixList.from(Afi.ipv4, ['11.0.0.0/24', '11.0.1.0/24']),
        attributes: encodeAttributeSet({ origin: 'igp', asPath: [], nextHop: '198.19.0.5' }, ctx),
      },
      ctx,
    );
    const cut = bytes!.slice(0, bytes!.length - 1);
    expect(() => scanUpdate(cut, new ScannedPrefixes(), new ScannedPrefixes())).toThrow(/NLRI prefix of length 24/);
    const longWithdrawn = bytes!.slice();
    longWithdrawn[20] = 200;
    expect(() => scanUpdate(longWithdrawn, new ScannedPrefixes(), new ScannedPrefixes())).toThrow(/withdrawn/);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (tail) => {
        const b = new Uint8Array(19 + tail.length);
        b[18] = 2;
        b.set(tail, 19);
        try {
          scanUpdate(b, new ScannedPrefixes(), new ScannedPrefixes());
        } catch (err) {
          expect((err as Error).message).toMatch(/UPDATE/);
        }
      }),
    );
  });
});
