import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareKeys, prefixKeyText, v4Key, v4Parts } from './prefix-key.js';

const prefix = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
  .map(([a, len]) => ({ addr: len === 0 ? 0 : ((((a >>> (32 - len)) << (32 - len)) >>> 0) as number), len }));

describe('IPv4 prefix keys', () => {
  it('round-trips every prefix, and keys up to /31 are int32 (V8 small integers)', () => {
    fc.assert(
      fc.property(prefix, (p) => {
        const k = v4Key(p.addr, p.len);
        expect(v4Parts(k)).toEqual(p);
        if (p.len < 32) expect(k).toBe(k | 0);
      }),
    );
  });

  it('gives distinct prefixes distinct keys', () => {
    fc.assert(
      fc.property(prefix, prefix, (a, b) => {
        if (a.addr !== b.addr || a.len !== b.len) expect(v4Key(a.addr, a.len)).not.toBe(v4Key(b.addr, b.len));
      }),
    );
  });

  it('formats and orders keys by address, then length', () => {
    const keys = [
      v4Key(0xc6120000, 15),
      v4Key(0x0a000000, 8),
      v4Key(0x0a000000, 32),
      v4Key(0, 0),
      v4Key(0xc6124000, 26),
    ];
    expect(keys.sort(compareKeys).map(prefixKeyText)).toEqual([
      '0.0.0.0/0',
      '10.0.0.0/8',
      '10.0.0.0/32',
      '198.18.0.0/15',
      '198.18.64.0/26',
    ]);
  });
});
