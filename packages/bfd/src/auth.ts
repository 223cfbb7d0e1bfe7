import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthType, HEADER_LENGTH } from './constants.js';
import { type AuthSection, type ControlPacket, copyBytes } from './packet.js';

/** Authentication a session uses (RFC 5880 §6.7). Both ends need the same type, key ID and secret. */
export interface AuthConfig {
  readonly type: AuthTypeName;
  /** Key ID carried in the packet, 0-255. */
  readonly keyId: number;
  /** The password or key: 1-16 octets (simple password, MD5) or 1-20 (SHA-1), UTF-8. */
  readonly secret: string;
}

export const AUTH_TYPE_NAMES = {
  simple: AuthType.SimplePassword,
  'keyed-md5': AuthType.KeyedMd5,
  'meticulous-keyed-md5': AuthType.MeticulousKeyedMd5,
  'keyed-sha1': AuthType.KeyedSha1,
  'meticulous-keyed-sha1': AuthType.MeticulousKeyedSha1,
} as const;
export type AuthTypeName = keyof typeof AUTH_TYPE_NAMES;

/** Longest secret each type carries. */
export function maxSecretLength(type: AuthTypeName): number {
  return type === 'keyed-sha1' || type === 'meticulous-keyed-sha1' ? 20 : 16;
}

function digestLength(type: number): number {
  return type === AuthType.KeyedSha1 || type === AuthType.MeticulousKeyedSha1 ? 20 : 16;
}

function isMeticulous(type: number): boolean {
  return type === AuthType.MeticulousKeyedMd5 || type === AuthType.MeticulousKeyedSha1;
}

function paddedKey(secret: Uint8Array, len: number): Uint8Array {
  const k = new Uint8Array(len);
  k.set(secret.subarray(0, len));
  return k;
}

function hash(type: number, bytes: Uint8Array): Uint8Array {
  const algo = digestLength(type) === 20 ? 'sha1' : 'md5';
  return createHash(algo).update(bytes).digest();
}

/**
 * The per-session authentication state of RFC 5880 §6.8.1 (bfd.AuthType, bfd.RcvAuthSeq,
 * bfd.XmitAuthSeq, bfd.AuthSeqKnown) with signing and verification.
 */
export class Authenticator {
  private readonly type: AuthType;
  private readonly secret: Uint8Array;
  private xmitSeq: number;
  private rcvSeq = 0;
  seqKnown = false;

  constructor(
    readonly config: AuthConfig,
    random: () => number,
  ) {
    this.type = AUTH_TYPE_NAMES[config.type];
    this.secret = new TextEncoder().encode(config.secret);
    // §6.8.1: bfd.XmitAuthSeq starts at a random 32-bit value.
    this.xmitSeq = Math.floor(random() * 0x1_0000_0000) >>> 0;
  }

  /** The section to put in the next packet (digest types carry the key until `sign` hashes it). */
  section(): AuthSection {
    if (this.type === AuthType.SimplePassword)
      return { type: this.type, keyId: this.config.keyId, password: this.secret };
    // §6.7.3/§6.7.4: meticulous types advance the sequence on every packet; keyed ones may
    // advance it occasionally, and doing so on every packet is also correct.
    this.xmitSeq = (this.xmitSeq + 1) >>> 0;
    return {
      type: this.type,
      keyId: this.config.keyId,
      sequence: this.xmitSeq,
      digest: paddedKey(this.secret, digestLength(this.type)),
    };
  }

  /** Replaces the key in an encoded packet's digest field by the digest of the packet (in place). */
  sign(bytes: Uint8Array): Uint8Array {
    if (this.type !== AuthType.SimplePassword) bytes.set(hash(this.type, bytes), HEADER_LENGTH + 8);
    return bytes;
  }

  /**
   * Checks a received packet's section (type, key ID, password or digest, sequence window) and
   * on success records its sequence number. `bytes` is the received payload. Returns
   * 'ok', 'failed' (wrong credentials) or 'sequence' (replay window).
   */
  verify(packet: ControlPacket, bytes: Uint8Array, length: number): 'ok' | 'failed' | 'sequence' {
    const a = packet.auth;
    if (!a || a.type !== this.type || a.keyId !== this.config.keyId) return 'failed';
    if (a.type === AuthType.SimplePassword)
      return a.password.length === this.secret.length && timingSafeEqual(a.password, this.secret) ? 'ok' : 'failed';
    const copy = copyBytes(bytes, 0, length);
    const dlen = digestLength(a.type);
    copy.set(paddedKey(this.secret, dlen), HEADER_LENGTH + 8);
    if (!timingSafeEqual(hash(a.type, copy), a.digest)) return 'failed';
    if (this.seqKnown) {
      // §6.7.3: within [RcvAuthSeq, RcvAuthSeq + 3 * DetectMult] (meticulous: excluding RcvAuthSeq), mod 2^32.
      const ahead = (a.sequence - this.rcvSeq) >>> 0;
      const lo = isMeticulous(a.type) ? 1 : 0;
      if (ahead < lo || ahead > 3 * packet.detectMult) return 'sequence';
    }
    this.rcvSeq = a.sequence;
    this.seqKnown = true;
    return 'ok';
  }
}
