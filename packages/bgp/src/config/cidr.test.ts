import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressToBigInt, bigIntToAddress, parseCidr } from './cidr.js';

describe('cidr', () => {
  it.each([
    ['198.18.0.0/15', '198.18.0.0/15', false],
    ['198.19.1.7/15', '198.18.0.0/15', true],
    ['2001:db8::/32', '2001:db8::/32', false],
    ['2001:db8:0:0:1::1/64', '2001:db8::/64', true],
    ['::/0', '::/0', false],
    ['0.0.0.0/0', '0.0.0.0/0', false],
    ['::ffff:198.18.0.1/128', '::ffff:c612:1/128', false],
  ])('%s -> %s', (input, canonical, hostBits) => {
    expect(parseCidr(input)).toMatchObject({ canonical, hostBitsSet: hostBits });
  });

  it.each(['198.18.0.0', '198.18.0.0/33', '2001:db8::/129', 'x/8', '300.1.1.1/8', ''])('rejects %s', (input) => {
    expect(parseCidr(input)).toBeUndefined();
  });

  it('formats and parses IPv6 addresses as inverses (RFC 5952 output)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v) => {
        const text = bigIntToAddress(6, v);
        expect(addressToBigInt(text)).toEqual({ family: 6, value: v });
        expect(text).not.toMatch(/:::|(^|:)0\d/);
      }),
    );
  });

  it('formats and parses IPv4 addresses as inverses', () => {
    fc.assert(
      fc.property(fc.ipV4(), (a) => {
        const p = addressToBigInt(a)!;
        expect(bigIntToAddress(4, p.value)).toBe(a);
      }),
    );
  });
});
