import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalPrefix, formatIpv4, ipv4InPrefix, kernelPrefix, parseIpv4, prefixContains } from './cidr.js';
import { InvalidCidrError } from './errors.js';

describe('prefixes', () => {
  it('round-trips every IPv4 address', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => parseIpv4(formatIpv4(n)) === n));
  });

  it('rejects malformed IPv4', () => {
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', '', 'a.b.c.d', '1.2.3.4 '])
      expect(parseIpv4(bad), bad).toBeUndefined();
  });

  it('canonicalises: host routes get a length, IPv6 in RFC 5952 form; host bits are refused', () => {
    expect(canonicalPrefix('198.18.1.5')).toBe('198.18.1.5/32');
    expect(canonicalPrefix('198.18.1.0/26')).toBe('198.18.1.0/26');
    expect(canonicalPrefix('default')).toBe('0.0.0.0/0');
    expect(canonicalPrefix('2001:0db8:0:0::1')).toBe('2001:db8::1/128');
    expect(canonicalPrefix('2001:db8::/64')).toBe('2001:db8::/64');
    expect(() => canonicalPrefix('198.18.1.5/24')).toThrow(InvalidCidrError);
    expect(() => canonicalPrefix('198.18.1.0/33')).toThrow(InvalidCidrError);
    expect(() => canonicalPrefix('2001:db8::1/64')).toThrow(InvalidCidrError);
    expect(kernelPrefix('198.18.1.5/32')).toBe('198.18.1.5');
    expect(kernelPrefix('2001:db8::1/128')).toBe('2001:db8::1');
  });

  it('containment', () => {
    expect(prefixContains('198.19.0.0/16', '198.19.4.0/26')).toBe(true);
    expect(prefixContains('198.19.0.0/16', '198.18.4.0/26')).toBe(false);
    expect(prefixContains('198.19.4.0/26', '198.19.0.0/16')).toBe(false);
    expect(prefixContains('2001:db8::/48', '2001:db8:0:1::/64')).toBe(true);
    expect(prefixContains('2001:db8::/48', '198.19.0.0/16')).toBe(false);
    expect(ipv4InPrefix('198.18.0.200', '198.18.0.1/24')).toBe(true);
    expect(ipv4InPrefix('198.18.1.2', '198.18.0.1/24')).toBe(false);
  });
});

describe('canonical IPv4 prefixes', () => {
  it('accepts exactly the prefixes without host bits, in their one spelling', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }), (n, len) => {
        const masked = len === 0 ? 0 : (n & (0xffffffff << (32 - len))) >>> 0;
        expect(canonicalPrefix(`${formatIpv4(masked)}/${len}`)).toBe(`${formatIpv4(masked)}/${len}`);
        if (masked !== n) expect(() => canonicalPrefix(`${formatIpv4(n)}/${len}`)).toThrow(InvalidCidrError);
      }),
    );
    for (const bad of [
      '198.18.0.0/',
      '198.18.0.0/033',
      '198.18.0.0/08',
      '198.18.0.0/3a',
      '198.18.0.0/-1',
      '198.18.0/24',
    ])
      expect(() => canonicalPrefix(bad), bad).toThrow(InvalidCidrError);
  });
});
