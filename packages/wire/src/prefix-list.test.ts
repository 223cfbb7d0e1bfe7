import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prefixListArb } from './arbitraries.test-support.js';
import { Afi } from './constants.js';
import { ipv6At, parseIpv4, parseIpv6 } from './ip.js';
import { decodePrefixes, PrefixScratch, prefixesWireSize, writePrefixes } from './nlri.js';
import { PrefixList } from './prefix-list.js';

describe('PrefixList', () => {
  it('builds from text and gives it back', () => {
    const l = PrefixList.from(Afi.ipv4, ['10.0.0.0/8', '192.0.2.128/25', '0.0.0.0/0']);
    expect(l.count).toBe(3);
    expect([...l.lengths]).toEqual([8, 25, 0]);
    expect([...l.addrs]).toEqual([0x0a000000, 0xc0000280, 0]);
    expect(l.toStrings()).toEqual(['10.0.0.0/8', '192.0.2.128/25', '0.0.0.0/0']);
    expect(l.at(1)).toEqual({ afi: Afi.ipv4, address: '192.0.2.128', length: 25 });
    const v6 = PrefixList.from(Afi.ipv6, ['2001:db8::/32', '::/0', '2001:db8:0:1::/64', 'fe80::1/128']);
    expect(v6.toStrings()).toEqual(['2001:db8::/32', '::/0', '2001:db8:0:1::/64', 'fe80::1/128']);
    expect([...v6.addrs.slice(0, 4)]).toEqual([0x20010db8, 0, 0, 0]);
  });

  it('carries ADD-PATH path identifiers', () => {
    const l = PrefixList.from(Afi.ipv4, [
      { address: '10.0.0.0', length: 8, pathId: 1 },
      { address: '10.0.0.0', length: 8, pathId: 2 },
    ]);
    expect(l.toStrings()).toEqual(['10.0.0.0/8 path-id 1', '10.0.0.0/8 path-id 2']);
    expect([...l]).toEqual([
      { afi: 1, address: '10.0.0.0', length: 8, pathId: 1 },
      { afi: 1, address: '10.0.0.0', length: 8, pathId: 2 },
    ]);
  });

  it('rejects bad input: host bits, lengths, addresses, mixed path identifiers', () => {
    expect(() => PrefixList.from(Afi.ipv4, ['10.0.0.1/8'])).toThrow(/host bits/);
    expect(() => PrefixList.from(Afi.ipv4, ['10.0.0.0/33'])).toThrow(/out of range/);
    expect(() => PrefixList.from(Afi.ipv4, ['10.0.0/8'])).toThrow(TypeError);
    expect(() => PrefixList.from(Afi.ipv6, ['2001:db8::1/64'])).toThrow(/host bits/);
    expect(() =>
      PrefixList.from(Afi.ipv4, [
        { address: '10.0.0.0', length: 8 },
        { address: '11.0.0.0', length: 8, pathId: 1 },
      ]),
    ).toThrow(TypeError);
  });

  it('compares by content (a property test relies on this)', () => {
    expect(PrefixList.from(Afi.ipv4, ['10.0.0.0/8'])).toEqual(PrefixList.from(Afi.ipv4, ['10.0.0.0/8']));
    expect(PrefixList.from(Afi.ipv4, ['10.0.0.0/8'])).not.toEqual(PrefixList.from(Afi.ipv4, ['11.0.0.0/8']));
    expect(PrefixList.from(Afi.ipv4, ['10.0.0.0/8'])).not.toEqual(PrefixList.from(Afi.ipv4, ['10.0.0.0/9']));
  });

  it('slices and concatenates', () => {
    const l = PrefixList.from(Afi.ipv4, ['1.0.0.0/8', '2.0.0.0/8', '3.0.0.0/8']);
    expect(l.slice(1, 3).toStrings()).toEqual(['2.0.0.0/8', '3.0.0.0/8']);
    expect(l.slice(0, 1).concat(l.slice(2, 3)).toStrings()).toEqual(['1.0.0.0/8', '3.0.0.0/8']);
    expect(() => l.concat(PrefixList.empty(Afi.ipv6))).toThrow(TypeError);
  });

  it('wire form round trips for any list (RFC 4271 §4.3, RFC 7911 §3)', () => {
    fc.assert(
      fc.property(fc.constantFrom(Afi.ipv4, Afi.ipv6), fc.boolean(), (afi, ap) => {
        fc.assert(
          fc.property(prefixListArb(afi, ap, 50), (l) => {
            const size = prefixesWireSize(l, 0, l.count, ap);
            const buf = new Uint8Array(size);
            expect(writePrefixes(buf, 0, l, 0, l.count, ap)).toBe(size);
            expect(decodePrefixes(buf, 0, size, afi, ap)).toEqual(l);
          }),
          { numRuns: 50 },
        );
      }),
      { numRuns: 4 },
    );
  });
});

describe('decoding into a scratch', () => {
  it('gives the same IPv4 lists, in storage reused from one decode to the next', () => {
    const scratch = new PrefixScratch();
    const buffers = new Set<ArrayBufferLike>();
    let most = 64; // the scratch starts with room for 64 prefixes
    fc.assert(
      fc.property(fc.boolean(), (ap) => {
        fc.assert(
          fc.property(prefixListArb(Afi.ipv4, ap, 100), (l) => {
            const size = prefixesWireSize(l, 0, l.count, ap);
            const buf = new Uint8Array(size);
            writePrefixes(buf, 0, l, 0, l.count, ap);
            const got = decodePrefixes(buf, 0, size, Afi.ipv4, ap, scratch);
            const own = decodePrefixes(buf, 0, size, Afi.ipv4, ap);
            if (typeof got === 'string' || typeof own === 'string') throw new Error('did not decode');
            // The same prefixes, path IDs included; the arrays may be longer than the list.
            expect(got.count).toBe(own.count);
            expect(got.toStrings()).toEqual(own.toStrings());
            expect(got.toStrings()).toEqual(l.toStrings());
            if (l.count === 0) return; // the shared empty list
            if (l.count > most)
              most = l.count; // the scratch grows to the longest list so far
            else if (buffers.size) expect(buffers.has(got.addrs.buffer)).toBe(true);
            buffers.add(got.addrs.buffer);
            // A list over the scratch's arrays is a list like any other: it copies out right.
            expect(got.slice(0, got.count).toStrings()).toEqual(l.toStrings());
            expect(got.concat(own).toStrings()).toEqual([...l.toStrings(), ...l.toStrings()]);
          }),
          { numRuns: 100 },
        );
      }),
      { numRuns: 4 },
    );
    // Not IPv6 (MP_REACH lists are few and short): those are allocated as before.
    const v6 = PrefixList.from(Afi.ipv6, ['2001:db8::/32']);
    const b6 = new Uint8Array(prefixesWireSize(v6, 0, 1, false));
    writePrefixes(b6, 0, v6, 0, 1, false);
    expect(decodePrefixes(b6, 0, b6.length, Afi.ipv6, false, scratch)).toEqual(v6);
  });
});

describe('addresses', () => {
  it('parses and prints IPv4', () => {
    expect(parseIpv4('192.0.2.1')).toBe(0xc0000201);
    for (const bad of ['192.0.2', '192.0.2.256', '1.2.3.4.5', '', '1..2.3', 'a.b.c.d', '1.2.3.4 ', '0001.2.3.4'])
      expect(parseIpv4(bad)).toBeUndefined();
  });

  it('prints IPv6 per RFC 5952 and parses it back', () => {
    const cases: [string, string][] = [
      ['20010db8000000000000000000000001', '2001:db8::1'],
      ['00000000000000000000000000000000', '::'],
      ['20010db8000000010000000000000000', '2001:db8:0:1::'],
      ['20010db8000100000001000000000001', '2001:db8:1:0:1::1'],
      ['fe800000000000000000000000000001', 'fe80::1'],
      ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
    ];
    for (const [hex, text] of cases) {
      expect(ipv6At(Buffer.from(hex, 'hex'), 0)).toBe(text);
      expect(Buffer.from(parseIpv6(text)!).toString('hex')).toBe(hex);
    }
    expect(Buffer.from(parseIpv6('::ffff:192.0.2.1')!).toString('hex')).toBe('00000000000000000000ffffc0000201');
    for (const bad of ['1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7', ':::', '1:2:3:4:5:6:7:8:9'])
      expect(parseIpv6(bad)).toBeUndefined();
  });

  it('IPv6 text round trips for any address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect([...parseIpv6(ipv6At(b, 0))!]).toEqual([...b]);
      }),
    );
  });
});
