import { AttributeKey, decode, encode, sessionContext, type UpdateMessage } from '@tabby/wire';
import { updateArb } from '@tabby/wire/arbitraries';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrTable, attrKey, compactAttrs } from './attr-table.js';
import type { AttrSet } from './path.js';

const key = (bytes: number[], hash?: number) => new AttributeKey(Uint8Array.from(bytes), 0, bytes.length, hash);

describe('AttrTable.internRaw (by received bytes: hash, then a byte compare)', () => {
  it('finds equal bytes again, and tells apart encodings, next hops, bytes and hash collisions', () => {
    const t = new AttrTable();
    const attrs = { origin: 'igp' as const };
    const a = t.internRaw(attrs, '198.18.0.2', key([64, 1, 1, 0]), true);
    expect(t.internRaw({ origin: 'igp' }, '198.18.0.2', key([64, 1, 1, 0]), true)).toBe(a);
    expect(a.attrs).toEqual(attrs); // a compact copy (only the attributes present)
    // The same bytes on a 2-octet-AS session mean something else; so does another next hop.
    const two = t.internRaw(attrs, '198.18.0.2', key([64, 1, 1, 0]), false);
    const nh = t.internRaw(attrs, '198.18.0.3', key([64, 1, 1, 0]), true);
    expect(new Set([a, two, nh]).size).toBe(3);
    // Forced collisions: same hash, different bytes.
    const c1 = t.internRaw(attrs, 'x', key([1, 2, 3], 7), true);
    const c2 = t.internRaw(attrs, 'x', key([1, 2, 4], 7), true);
    const c3 = t.internRaw(attrs, 'x', key([1, 2], 7), true);
    expect(new Set([c1, c2, c3]).size).toBe(3);
    expect(t.internRaw(attrs, 'x', key([1, 2, 4], 7), true)).toBe(c2);
    expect(t.size).toBe(6);
    // Unreferenced sets are forgotten; the others stay findable.
    for (const s of [a, two, nh, c1, c2, c3]) t.ref(s);
    t.unref(c2);
    expect(t.size).toBe(5);
    expect(t.internRaw(attrs, 'x', key([1, 2, 3], 7), true)).toBe(c1);
    expect(t.internRaw(attrs, 'x', key([1, 2], 7), true)).toBe(c3);
    expect(t.internRaw(attrs, 'x', key([1, 2, 4], 7), true)).not.toBe(c2);
    for (const s of [a, two, nh, c1, c3]) t.unref(s);
    expect(t.size).toBe(1); // the new set for [1, 2, 4], never referenced
  });
});

describe('AttrTable: received bytes live in one arena, compacted as sets leave', () => {
  it('keeps every live set findable with its bytes across growth and compaction', () => {
    const t = new AttrTable();
    const bytesOf = (i: number) => Array.from({ length: 20 + (i % 50) }, (_, j) => (i * 31 + j) & 255);
    const sets = new Map<number, AttrSet>();
    // 200,000 bytes' worth of sets in rounds: keep every 7th, drop the rest, so the arena fills
    // with freed room and is compacted and grown several times.
    for (let round = 0; round < 4; round++) {
      for (let i = round * 5000; i < (round + 1) * 5000; i++) {
        const s = t.internRaw({ origin: 'igp' }, 'nh', key(bytesOf(i)), i % 2 === 0);
        t.ref(s);
        sets.set(i, s);
      }
      for (const [i, s] of sets) {
        if (i % 7 === 0) continue;
        t.unref(s);
        sets.delete(i);
      }
    }
    expect(t.size).toBe(sets.size);
    for (const [i, s] of sets) {
      expect(s.key).toBe(String.fromCharCode(i % 2 === 0 ? 4 : 2) + Buffer.from(bytesOf(i)).toString('latin1'));
      expect(t.internRaw({ origin: 'igp' }, 'nh', key(bytesOf(i)), i % 2 === 0)).toBe(s);
      expect(t.internRaw({ origin: 'igp' }, 'nh', key(bytesOf(i)), i % 2 !== 0)).not.toBe(s);
    }
  });
});

describe('compactAttrs (the decoded attributes without their undefined slots)', () => {
  const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  const attrsArb = fc.record({
    origin: opt(fc.constantFrom('igp' as const, 'egp' as const, 'incomplete' as const)),
    asPath: opt(fc.array(fc.record({ kind: fc.constant('sequence' as const), asns: fc.array(fc.nat()) }))),
    nextHop: opt(fc.ipV4()),
    med: opt(fc.nat()),
    localPref: opt(fc.nat()),
    atomicAggregate: opt(fc.constant(true as const)),
    communities: opt(fc.array(fc.nat())),
    originatorId: opt(fc.ipV4()),
    otc: opt(fc.nat()),
  });

  it('keeps every present attribute (same values, same order), drops only undefined ones', () => {
    fc.assert(
      fc.property(attrsArb, (a) => {
        const c = compactAttrs(a, a.nextHop);
        expect(Object.keys(c)).toEqual(Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined));
        for (const k of Object.keys(c))
          expect((c as Record<string, unknown>)[k]).toBe((a as Record<string, unknown>)[k]);
        expect(c).toEqual(a);
        expect(attrKey(c, 'nh')).toBe(attrKey(a, 'nh'));
      }),
    );
  });

  it('internEncoded holds a set as bytes, decodes it back to the same attributes, and finds it again', () => {
    const ctx = sessionContext({ fourOctetAs: true, extendedMessage: true });
    fc.assert(
      fc.property(updateArb(ctx), (sent) => {
        const m = decode(encode(sent, ctx), ctx) as UpdateMessage;
        if (!m.attrKey) return;
        const nextHop = m.mpReach?.nextHop ?? m.attributes.nextHop ?? '';
        // As import policy hands it over: a new object with one attribute changed.
        const attrs = { ...m.attributes, localPref: 200 };
        const t = new AttrTable();
        const set = t.internEncoded(attrs, nextHop);
        expect(t.decoded).toBe(0);
        expect(set.attrs).toEqual(compactAttrs(attrs));
        expect(set.localPref).toBe(200);
        expect(set.nextHop).toBe(nextHop);
        expect(t.internEncoded({ ...m.attributes, localPref: 200 }, nextHop)).toBe(set);
        expect(t.internEncoded({ ...m.attributes, localPref: 201 }, nextHop)).not.toBe(set);
      }),
      { numRuns: 300 },
    );
  });

  it('internRaw keeps bytes only, and its attrs decode back to what the UPDATE carried', () => {
    for (const four of [false, true]) {
      const ctx = sessionContext({ fourOctetAs: four, extendedMessage: true });
      fc.assert(
        fc.property(updateArb(ctx), (sent) => {
          const m = decode(encode(sent, ctx), ctx) as UpdateMessage;
          if (!m.attrKey) return; // no announcement: nothing is interned
          const nextHop = m.mpReach?.nextHop ?? m.attributes.nextHop ?? '';
          const t = new AttrTable();
          const set = t.internRaw(m.attributes, nextHop, m.attrKey, four);
          expect(set.attrs).toEqual(compactAttrs(m.attributes));
          expect(set.nextHop).toBe(nextHop);
          expect(t.internRaw(m.attributes, nextHop, m.attrKey, four)).toBe(set);
        }),
        { numRuns: 300 },
      );
    }
  });
});
