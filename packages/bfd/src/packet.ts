import { AuthType, HEADER_LENGTH, MIN_AUTH_LENGTH, State } from './constants.js';
import { BfdDiscardError, BfdEncodeError, DiscardCode } from './errors.js';

/** RFC 5880 §4.2 simple password section: Auth Len = 3 + password length (1-16 octets). */
export interface SimplePasswordAuth {
  readonly type: typeof AuthType.SimplePassword;
  readonly keyId: number;
  readonly password: Uint8Array;
}

/** RFC 5880 §4.3 / §4.4 keyed (or meticulous keyed) MD5 and SHA-1 sections: Auth Len 24 and 28. */
export interface DigestAuth {
  readonly type:
    | typeof AuthType.KeyedMd5
    | typeof AuthType.MeticulousKeyedMd5
    | typeof AuthType.KeyedSha1
    | typeof AuthType.MeticulousKeyedSha1;
  readonly keyId: number;
  /** Sequence number (uint32). */
  readonly sequence: number;
  /** 16 octets (MD5) or 20 (SHA-1): the digest as received, or the key in the to-be-signed form. */
  readonly digest: Uint8Array;
}

export type AuthSection = SimplePasswordAuth | DigestAuth;

/**
 * A BFD Control packet (RFC 5880 §4.1). Intervals are in microseconds, as on the wire. Decoded
 * packets always have version 1, the M bit clear and a nonzero My Discriminator.
 */
export interface ControlPacket {
  readonly diag: number;
  readonly state: State;
  readonly poll: boolean;
  readonly final: boolean;
  /** C bit: the sender's BFD does not share fate with its control plane. */
  readonly controlPlaneIndependent: boolean;
  readonly demand: boolean;
  readonly detectMult: number;
  readonly myDiscriminator: number;
  readonly yourDiscriminator: number;
  readonly desiredMinTxUs: number;
  readonly requiredMinRxUs: number;
  readonly requiredMinEchoRxUs: number;
  /** Present exactly when the A bit is set. */
  readonly auth?: AuthSection;
}

export type DecodeResult =
  | { readonly ok: true; readonly packet: ControlPacket }
  | { readonly ok: false; readonly error: BfdDiscardError };

const DIGEST_AUTH_LEN: Record<number, number> = {
  [AuthType.KeyedMd5]: 24,
  [AuthType.MeticulousKeyedMd5]: 24,
  [AuthType.KeyedSha1]: 28,
  [AuthType.MeticulousKeyedSha1]: 28,
};

/** Auth Len of a section (what `encodeControl` writes and `decodeControl` requires). */
export function authLength(auth: AuthSection): number {
  return auth.type === AuthType.SimplePassword ? 3 + auth.password.length : DIGEST_AUTH_LEN[auth.type]!;
}

function discard(code: DiscardCode, message: string): DecodeResult {
  return { ok: false, error: new BfdDiscardError(code, message) };
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * A plain Uint8Array copy of `b[start..end)`: a Node.js Buffer's `slice` (what dgram delivers)
 * is a view into the received datagram, not a copy.
 */
export function copyBytes(b: Uint8Array, start = 0, end = b.length): Uint8Array {
  const out = new Uint8Array(Math.max(0, end - start));
  out.set(b.subarray(start, end));
  return out;
}

function decodeAuth(b: Uint8Array, length: number): AuthSection | BfdDiscardError {
  const type = b[HEADER_LENGTH]!;
  const len = b[HEADER_LENGTH + 1]!;
  if (HEADER_LENGTH + len > length)
    return new BfdDiscardError(DiscardCode.BadLength, `Auth Len ${len} does not fit in Length ${length}`);
  const keyId = b[HEADER_LENGTH + 2] ?? 0;
  if (type === AuthType.SimplePassword) {
    if (len < 4 || len > 19)
      return new BfdDiscardError(DiscardCode.BadAuthSection, `simple password Auth Len ${len} is not 4-19`);
    return { type, keyId, password: copyBytes(b, HEADER_LENGTH + 3, HEADER_LENGTH + len) };
  }
  const want = DIGEST_AUTH_LEN[type];
  if (want === undefined) return new BfdDiscardError(DiscardCode.BadAuthSection, `reserved Auth Type ${type}`);
  if (len !== want)
    return new BfdDiscardError(DiscardCode.BadAuthSection, `Auth Type ${type} needs Auth Len ${want}, not ${len}`);
  return {
    type: type as DigestAuth['type'],
    keyId,
    sequence: u32(b, HEADER_LENGTH + 4),
    digest: copyBytes(b, HEADER_LENGTH + 8, HEADER_LENGTH + len),
  };
}

/**
 * Decodes one BFD Control packet (the UDP payload) and applies the packet-only reception checks of
 * RFC 5880 §6.8.6: version, length, Detect Mult, Multipoint, My Discriminator, and Your
 * Discriminator zero outside Down/AdminDown. Never throws: any input gives a packet or a
 * `BfdDiscardError`. Octets after Length are ignored (the RFC allows a shorter Length than the
 * payload).
 */
export function decodeControl(b: Uint8Array): DecodeResult {
  if (b.length < HEADER_LENGTH) return discard(DiscardCode.Truncated, `${b.length} octets, less than 24`);
  const version = b[0]! >> 5;
  if (version !== 1) return discard(DiscardCode.BadVersion, `version ${version}, expected 1`);
  const flags = b[1]!;
  const authPresent = (flags & 0x04) !== 0;
  const length = b[3]!;
  const min = authPresent ? MIN_AUTH_LENGTH : HEADER_LENGTH;
  if (length < min) return discard(DiscardCode.BadLength, `Length ${length}, less than ${min}`);
  if (length > b.length) return discard(DiscardCode.Truncated, `Length ${length}, but only ${b.length} octets`);
  const detectMult = b[2]!;
  if (detectMult === 0) return discard(DiscardCode.ZeroDetectMult, 'Detect Mult is zero');
  if (flags & 0x01) return discard(DiscardCode.Multipoint, 'Multipoint (M) bit set');
  const myDiscriminator = u32(b, 4);
  if (myDiscriminator === 0) return discard(DiscardCode.ZeroMyDiscriminator, 'My Discriminator is zero');
  const state = (flags >> 6) as State;
  const yourDiscriminator = u32(b, 8);
  if (yourDiscriminator === 0 && state !== State.Down && state !== State.AdminDown)
    return discard(DiscardCode.ZeroYourDiscriminator, `Your Discriminator is zero in state ${state}`);
  let auth: AuthSection | undefined;
  if (authPresent) {
    const a = decodeAuth(b, length);
    if (a instanceof BfdDiscardError) return { ok: false, error: a };
    auth = a;
  }
  const packet: ControlPacket = {
    diag: b[0]! & 0x1f,
    state,
    poll: (flags & 0x20) !== 0,
    final: (flags & 0x10) !== 0,
    controlPlaneIndependent: (flags & 0x08) !== 0,
    demand: (flags & 0x02) !== 0,
    detectMult,
    myDiscriminator,
    yourDiscriminator,
    desiredMinTxUs: u32(b, 12),
    requiredMinRxUs: u32(b, 16),
    requiredMinEchoRxUs: u32(b, 20),
    ...(auth ? { auth } : {}),
  };
  return { ok: true, packet };
}

function checkRange(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new BfdEncodeError(`${name} ${v} is not an integer in ${min}-${max}`);
}

/**
 * Encodes a Control packet (version 1, M bit clear, Length computed). Digest sections are written
 * as given: `auth.ts` fills in the key, hashes and overwrites the digest. Throws `BfdEncodeError`
 * for values the fields cannot hold.
 */
export function encodeControl(p: ControlPacket): Uint8Array {
  checkRange('diag', p.diag, 0, 31);
  checkRange('state', p.state, 0, 3);
  checkRange('detectMult', p.detectMult, 0, 255);
  for (const [name, v] of [
    ['myDiscriminator', p.myDiscriminator],
    ['yourDiscriminator', p.yourDiscriminator],
    ['desiredMinTxUs', p.desiredMinTxUs],
    ['requiredMinRxUs', p.requiredMinRxUs],
    ['requiredMinEchoRxUs', p.requiredMinEchoRxUs],
  ] as const)
    checkRange(name, v, 0, 0xffffffff);
  const auth = p.auth;
  if (auth) {
    checkRange('auth.keyId', auth.keyId, 0, 255);
    if (auth.type === AuthType.SimplePassword) {
      if (auth.password.length < 1 || auth.password.length > 16)
        throw new BfdEncodeError(`simple password of ${auth.password.length} octets, expected 1-16`);
    } else {
      checkRange('auth.sequence', auth.sequence, 0, 0xffffffff);
      const want = DIGEST_AUTH_LEN[auth.type];
      if (want === undefined) throw new BfdEncodeError(`auth type ${auth.type} is reserved`);
      if (auth.digest.length !== want - 8)
        throw new BfdEncodeError(`auth type ${auth.type} needs a ${want - 8}-octet digest, not ${auth.digest.length}`);
    }
  }
  const length = HEADER_LENGTH + (auth ? authLength(auth) : 0);
  const b = new Uint8Array(length);
  b[0] = (1 << 5) | p.diag;
  b[1] =
    (p.state << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.controlPlaneIndependent ? 0x08 : 0) |
    (auth ? 0x04 : 0) |
    (p.demand ? 0x02 : 0);
  b[2] = p.detectMult;
  b[3] = length;
  putU32(b, 4, p.myDiscriminator);
  putU32(b, 8, p.yourDiscriminator);
  putU32(b, 12, p.desiredMinTxUs);
  putU32(b, 16, p.requiredMinRxUs);
  putU32(b, 20, p.requiredMinEchoRxUs);
  if (auth) {
    b[HEADER_LENGTH] = auth.type;
    b[HEADER_LENGTH + 1] = authLength(auth);
    b[HEADER_LENGTH + 2] = auth.keyId;
    if (auth.type === AuthType.SimplePassword) b.set(auth.password, HEADER_LENGTH + 3);
    else {
      putU32(b, HEADER_LENGTH + 4, auth.sequence);
      b.set(auth.digest, HEADER_LENGTH + 8);
    }
  }
  return b;
}
