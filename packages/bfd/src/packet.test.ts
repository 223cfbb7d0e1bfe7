import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packetArb } from './arbitraries.test-support.js';
import { AuthType, State } from './constants.js';
import { BfdEncodeError, DiscardCode } from './errors.js';
import { type ControlPacket, decodeControl, encodeControl } from './packet.js';

const base: ControlPacket = {
  diag: 0,
  state: State.Down,
  poll: false,
  final: false,
  controlPlaneIndependent: false,
  demand: false,
  detectMult: 3,
  myDiscriminator: 0x01020304,
  yourDiscriminator: 0,
  desiredMinTxUs: 1_000_000,
  requiredMinRxUs: 300_000,
  requiredMinEchoRxUs: 0,
};

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function decoded(b: Uint8Array): ControlPacket {
  const r = decodeControl(b);
  if (!r.ok) throw new Error(`unexpected discard ${r.error.code}: ${r.error.message}`);
  return r.packet;
}

function discardCode(b: Uint8Array): string | null {
  const r = decodeControl(b);
  return r.ok ? null : r.error.code;
}

describe('encodeControl: RFC 5880 §4.1 layout, field by field', () => {
  it('writes the mandatory section', () => {
    // Version 1 (001), Diag 0 | Sta Down (01), no flags | mult 3 | length 24 | discriminators | intervals.
    expect(hex(encodeControl(base))).toBe('2040031801020304000000000' + '00f4240' + '000493e0' + '00000000');
  });

  it.each([
    ['diag', { diag: 7 }, 0, 0x27],
    ['diag (5 bits, max)', { diag: 31 }, 0, 0x3f],
    ['state AdminDown', { state: State.AdminDown }, 1, 0x00],
    ['state Init', { state: State.Init, yourDiscriminator: 9 }, 1, 0x80],
    ['state Up', { state: State.Up, yourDiscriminator: 9 }, 1, 0xc0],
    ['P bit', { poll: true }, 1, 0x60],
    ['F bit', { final: true }, 1, 0x50],
    ['C bit', { controlPlaneIndependent: true }, 1, 0x48],
    ['D bit', { demand: true }, 1, 0x42],
    ['Detect Mult', { detectMult: 255 }, 2, 0xff],
  ] as const)('%s', (_name, change, offset, byte) => {
    const p = { ...base, ...change } as ControlPacket;
    const b = encodeControl(p);
    expect(b[offset]).toBe(byte);
    expect(decoded(b)).toEqual(p);
  });

  it.each([
    ['myDiscriminator', 4],
    ['yourDiscriminator', 8],
    ['desiredMinTxUs', 12],
    ['requiredMinRxUs', 16],
    ['requiredMinEchoRxUs', 20],
  ] as const)('%s is a big-endian uint32 at offset %i', (field, offset) => {
    const p = { ...base, [field]: 0xfedcba98 };
    const b = encodeControl(p);
    expect(hex(b.subarray(offset, offset + 4))).toBe('fedcba98');
    expect(decoded(b)).toEqual(p);
  });

  it('writes a simple password section (Auth Len 3 + password) and the A bit', () => {
    const p = { ...base, auth: { type: AuthType.SimplePassword, keyId: 5, password: new Uint8Array([0x61, 0x62]) } };
    const b = encodeControl(p);
    expect(b[1]! & 0x04).toBe(0x04);
    expect(b[3]).toBe(29);
    expect(hex(b.subarray(24))).toBe('0105056162');
    expect(decoded(b)).toEqual(p);
  });

  it.each([
    [AuthType.KeyedMd5, 16, 24],
    [AuthType.MeticulousKeyedMd5, 16, 24],
    [AuthType.KeyedSha1, 20, 28],
    [AuthType.MeticulousKeyedSha1, 20, 28],
  ] as const)(
    'writes digest type %i: key ID, reserved, sequence, %i-octet digest (Auth Len %i)',
    (type, dlen, alen) => {
      const digest = new Uint8Array(dlen).fill(0xab);
      const p = { ...base, auth: { type, keyId: 9, sequence: 0x11223344, digest } };
      const b = encodeControl(p);
      expect(b[3]).toBe(24 + alen);
      expect(hex(b.subarray(24, 32))).toBe(
        `${type.toString(16).padStart(2, '0')}${alen.toString(16)}0900` + '11223344',
      );
      expect(decoded(b)).toEqual(p);
    },
  );

  it.each([
    ['diag 32', { diag: 32 }],
    ['detect mult 256', { detectMult: 256 }],
    ['negative discriminator', { myDiscriminator: -1 }],
    ['interval over 32 bits', { desiredMinTxUs: 2 ** 32 }],
    ['fractional interval', { requiredMinRxUs: 1.5 }],
    ['empty password', { auth: { type: AuthType.SimplePassword, keyId: 0, password: new Uint8Array() } }],
    ['17-octet password', { auth: { type: AuthType.SimplePassword, keyId: 0, password: new Uint8Array(17) } }],
    [
      'SHA-1 with a 16-octet digest',
      { auth: { type: AuthType.KeyedSha1, keyId: 0, sequence: 0, digest: new Uint8Array(16) } },
    ],
  ] as const)('refuses %s with BfdEncodeError', (_n, change) => {
    expect(() => encodeControl({ ...base, ...change } as ControlPacket)).toThrow(BfdEncodeError);
  });
});

describe('decodeControl: RFC 5880 §6.8.6 reception checks, each a typed discard', () => {
  const good = () => encodeControl(base);

  it('accepts a valid packet and ignores octets after Length', () => {
    const b = new Uint8Array(30);
    b.set(good());
    expect(decoded(b)).toEqual(base);
  });

  it('less than 24 octets', () => {
    expect(discardCode(good().subarray(0, 23))).toBe(DiscardCode.Truncated);
    expect(discardCode(new Uint8Array())).toBe(DiscardCode.Truncated);
  });

  it.each([0, 2, 7])('version %i', (v) => {
    const b = good();
    b[0] = (v << 5) | (b[0]! & 0x1f);
    expect(discardCode(b)).toBe(DiscardCode.BadVersion);
  });

  it('Length below 24, or below 26 with the A bit', () => {
    const b = good();
    b[3] = 23;
    expect(discardCode(b)).toBe(DiscardCode.BadLength);
    const a = new Uint8Array(40);
    a.set(good());
    a[1]! |= 0x04;
    a[3] = 25;
    expect(discardCode(a)).toBe(DiscardCode.BadLength);
  });

  it('Length beyond the payload', () => {
    const b = good();
    b[3] = 25;
    expect(discardCode(b)).toBe(DiscardCode.Truncated);
  });

  it('Detect Mult zero', () => {
    const b = good();
    b[2] = 0;
    expect(discardCode(b)).toBe(DiscardCode.ZeroDetectMult);
  });

  it('Multipoint bit', () => {
    const b = good();
    b[1]! |= 0x01;
    expect(discardCode(b)).toBe(DiscardCode.Multipoint);
  });

  it('My Discriminator zero', () => {
    expect(discardCode(encodeControl({ ...base, myDiscriminator: 0 }))).toBe(DiscardCode.ZeroMyDiscriminator);
  });

  it('Your Discriminator zero is allowed in Down and AdminDown only', () => {
    expect(discardCode(encodeControl({ ...base, state: State.Down }))).toBeNull();
    expect(discardCode(encodeControl({ ...base, state: State.AdminDown }))).toBeNull();
    expect(discardCode(encodeControl({ ...base, state: State.Init }))).toBe(DiscardCode.ZeroYourDiscriminator);
    expect(discardCode(encodeControl({ ...base, state: State.Up }))).toBe(DiscardCode.ZeroYourDiscriminator);
  });

  it('authentication sections: reserved types, wrong Auth Len, Auth Len past Length', () => {
    const withAuth = (type: number, len: number, total = 24 + len) => {
      const b = new Uint8Array(Math.max(total, 26));
      b.set(good());
      b[1]! |= 0x04;
      b[3] = total;
      b[24] = type;
      b[25] = len;
      return b;
    };
    expect(discardCode(withAuth(0, 24))).toBe(DiscardCode.BadAuthSection);
    expect(discardCode(withAuth(6, 24))).toBe(DiscardCode.BadAuthSection);
    expect(discardCode(withAuth(AuthType.SimplePassword, 3))).toBe(DiscardCode.BadAuthSection);
    expect(discardCode(withAuth(AuthType.SimplePassword, 20))).toBe(DiscardCode.BadAuthSection);
    expect(discardCode(withAuth(AuthType.KeyedSha1, 24))).toBe(DiscardCode.BadAuthSection);
    expect(discardCode(withAuth(AuthType.KeyedMd5, 28))).toBe(DiscardCode.BadAuthSection);
    expect(discardCode(withAuth(AuthType.KeyedMd5, 24, 40))).toBe(DiscardCode.BadLength);
    expect(discardCode(withAuth(AuthType.KeyedMd5, 24))).toBeNull();
  });

  it('messages are one line naming the field', () => {
    const r = decodeControl(encodeControl({ ...base, state: State.Up }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/^Your Discriminator is zero in state 3$/);
  });
});

describe('round trip', () => {
  it('decode(encode(p)) equals p for every valid packet', () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        expect(decoded(encodeControl(p))).toEqual(p);
      }),
      { numRuns: 3000 },
    );
  });

  it('encode(decode(b)) gives b back for every encoded packet', () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        const b = encodeControl(p);
        expect(hex(encodeControl(decoded(b)))).toBe(hex(b));
      }),
      { numRuns: 2000 },
    );
  });
});
