import fc from 'fast-check';
import { AuthType, State } from './constants.js';
import type { AuthSection, ControlPacket } from './packet.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });

export const authArb: fc.Arbitrary<AuthSection> = fc.oneof(
  fc.record({
    type: fc.constant(AuthType.SimplePassword),
    keyId: fc.integer({ min: 0, max: 255 }),
    password: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc
    .tuple(
      fc.constantFrom(AuthType.KeyedMd5, AuthType.MeticulousKeyedMd5, AuthType.KeyedSha1, AuthType.MeticulousKeyedSha1),
      fc.integer({ min: 0, max: 255 }),
      u32,
    )
    .chain(([type, keyId, sequence]) =>
      fc
        .uint8Array({
          minLength: type <= AuthType.MeticulousKeyedMd5 ? 16 : 20,
          maxLength: type <= AuthType.MeticulousKeyedMd5 ? 16 : 20,
        })
        .map((digest) => ({ type, keyId, sequence, digest }) as AuthSection),
    ),
);

/** Any packet `decodeControl` accepts (nonzero My Discriminator, Your Discriminator rule, Detect Mult >= 1). */
export const packetArb: fc.Arbitrary<ControlPacket> = fc
  .record({
    diag: fc.integer({ min: 0, max: 31 }),
    state: fc.constantFrom(State.AdminDown, State.Down, State.Init, State.Up),
    poll: fc.boolean(),
    final: fc.boolean(),
    controlPlaneIndependent: fc.boolean(),
    demand: fc.boolean(),
    detectMult: fc.integer({ min: 1, max: 255 }),
    myDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
    yourDiscriminator: u32,
    desiredMinTxUs: u32,
    requiredMinRxUs: u32,
    requiredMinEchoRxUs: u32,
    auth: fc.option(authArb, { nil: undefined }),
  })
  .map((p) => {
    const fixed = p.yourDiscriminator === 0 && p.state >= State.Init ? { ...p, yourDiscriminator: 1 } : p;
    if (fixed.auth === undefined) {
      const { auth: _, ...rest } = fixed;
      return rest as ControlPacket;
    }
    return fixed as ControlPacket;
  });
