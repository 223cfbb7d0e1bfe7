// Arbitrary and mutated bytes give a packet or a BfdDiscardError: never an exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packetArb } from './arbitraries.test-support.js';
import { BfdDiscardError, DiscardCode } from './errors.js';
import { decodeControl, encodeControl } from './packet.js';

const codes = new Set<string>(Object.values(DiscardCode));

function check(bytes: Uint8Array): void {
  const r = decodeControl(bytes);
  if (r.ok) {
    // Whatever decodes re-encodes to the same octets, except Length (the RFC allows octets after the
    // sections, as it only bounds Length from below) and the reserved octet of digest sections.
    const again = encodeControl(r.packet);
    expect(again.length).toBeLessThanOrEqual(bytes[3]!);
    const same = Buffer.from(bytes.subarray(0, again.length));
    same[3] = again.length;
    if (r.packet.auth && r.packet.auth.type !== 1) same[27] = 0;
    expect(Buffer.from(again).equals(same)).toBe(true);
  } else {
    expect(r.error).toBeInstanceOf(BfdDiscardError);
    expect(codes.has(r.error.code)).toBe(true);
    expect(r.error.message).not.toContain('\n');
  }
}

describe('fuzzing decodeControl', () => {
  it('arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), check), { numRuns: 5000 });
  });

  it('arbitrary bytes behind a plausible first octet and length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 24, maxLength: 64 }), fc.integer({ min: 0, max: 64 }), (b, len) => {
        b[0] = 0x20 | (b[0]! & 0x1f);
        b[3] = len;
        check(b);
      }),
      { numRuns: 5000 },
    );
  });

  it('mutated valid packets: flipped, removed and appended octets', () => {
    fc.assert(
      fc.property(
        packetArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.integer({ min: -8, max: 8 }),
        (p, flips, resize) => {
          const enc = encodeControl(p);
          const b = new Uint8Array(Math.max(0, enc.length + resize));
          b.set(enc.subarray(0, b.length));
          for (const [i, v] of flips) if (b.length) b[i % b.length] = v;
          check(b);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
