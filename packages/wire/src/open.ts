import { type Capability, decodeCapabilities, encodeCapability } from './capabilities.js';
import { BGP_VERSION, ErrorCode, HEADER_LENGTH, OpenSubcode, OptParamType } from './constants.js';
import { BgpDecodeError, BgpEncodeError } from './errors.js';
import { ipv4At, parseIpv4 } from './ip.js';

/** RFC 4271 §4.2 OPEN. */
export interface OpenMessage {
  readonly type: 'open';
  /** Always 4 after a successful decode. */
  readonly version: number;
  /** The 2-octet My Autonomous System field: AS_TRANS (23456) when the real AS needs 4 octets (see `openAsn`). */
  readonly myAs: number;
  /** Hold time in seconds: 0 or 3..65535. */
  readonly holdTime: number;
  /** BGP Identifier as a dotted quad. */
  readonly bgpId: string;
  /** Capabilities of every Capabilities optional parameter, in order. */
  readonly capabilities: readonly Capability[];
  /**
   * RFC 9072: the optional parameters use the extended length encoding. Set by decode when the
   * peer used it; on encode it is used when set or when the parameters exceed 255 octets.
   */
  readonly extendedOptionalParameters?: boolean;
}

/** The sender's AS: the 4-octet AS capability's value when present (RFC 6793 §3), else `myAs`. */
export function openAsn(open: OpenMessage): number {
  for (const c of open.capabilities) if (c.kind === 'four-octet-as') return c.asn;
  return open.myAs;
}

/** Decodes the body of an OPEN; `b` is the whole message, header included. */
export function decodeOpen(b: Uint8Array): OpenMessage {
  const end = b.length;
  const p = HEADER_LENGTH;
  // RFC 4271 §4.2: version (1), My AS (2), Hold Time (2), BGP Identifier (4), Opt Parm Len (1).
  const version = b[p]!;
  if (version !== BGP_VERSION) {
    // RFC 4271 §6.2: data is the largest locally supported version number, 2 octets.
    throw new BgpDecodeError(
      ErrorCode.Open,
      OpenSubcode.UnsupportedVersionNumber,
      Uint8Array.of(0, BGP_VERSION),
      `unsupported BGP version ${version}`,
    );
  }
  const myAs = (b[p + 1]! << 8) | b[p + 2]!;
  const holdTime = (b[p + 3]! << 8) | b[p + 4]!;
  if (holdTime === 1 || holdTime === 2) {
    // RFC 4271 §6.2: hold time must be zero or at least three seconds.
    throw new BgpDecodeError(
      ErrorCode.Open,
      OpenSubcode.UnacceptableHoldTime,
      new Uint8Array(0),
      `unacceptable hold time ${holdTime}`,
    );
  }
  const bgpId = ipv4At(b, p + 5);
  if (bgpId === '0.0.0.0') {
    // RFC 6286 §2.1: the BGP Identifier is a non-zero 4-octet value.
    throw new BgpDecodeError(
      ErrorCode.Open,
      OpenSubcode.BadBgpIdentifier,
      new Uint8Array(0),
      'BGP identifier is 0.0.0.0',
    );
  }
  let q = p + 9;
  let optLen = b[q]!;
  q += 1;
  let extended = false;
  // RFC 9072 §2: Non-Ext OP Len (1) != 0 and Non-Ext OP Type (1) == 255 → Extended Opt. Parm. Length (2),
  // then parameters with a 2-octet length.
  if (optLen !== 0 && q < end && b[q] === OptParamType.ExtendedLength) {
    if (q + 3 > end) throw badOpen('truncated extended optional parameters length');
    extended = true;
    optLen = (b[q + 1]! << 8) | b[q + 2]!;
    q += 3;
  }
  if (q + optLen !== end) throw badOpen(`optional parameters length ${optLen} does not match the message length`);
  const capabilities: Capability[] = [];
  const headLen = extended ? 3 : 2;
  while (q < end) {
    if (q + headLen > end) throw badOpen('truncated optional parameter');
    const type = b[q]!;
    const len = extended ? (b[q + 1]! << 8) | b[q + 2]! : b[q + 1]!;
    const v = q + headLen;
    if (v + len > end) throw badOpen('optional parameter overruns the OPEN message');
    if (type !== OptParamType.Capabilities) {
      // RFC 4271 §6.2: an unrecognised optional parameter.
      throw new BgpDecodeError(
        ErrorCode.Open,
        OpenSubcode.UnsupportedOptionalParameter,
        new Uint8Array(0),
        `unsupported optional parameter type ${type}`,
      );
    }
    decodeCapabilities(b, v, v + len, capabilities);
    q = v + len;
  }
  const base = { type: 'open' as const, version, myAs, holdTime, bgpId, capabilities };
  return extended ? { ...base, extendedOptionalParameters: true } : base;
}

function badOpen(what: string): BgpDecodeError {
  return new BgpDecodeError(ErrorCode.Open, 0, new Uint8Array(0), `malformed OPEN: ${what}`);
}

/** Encodes the body of an OPEN (without header). */
export function encodeOpenBody(m: OpenMessage): Uint8Array {
  const id = parseIpv4(m.bgpId);
  if (id === undefined) throw new BgpEncodeError(`OPEN BGP identifier is not a dotted quad: ${m.bgpId}`);
  if (!Number.isInteger(m.myAs) || m.myAs < 0 || m.myAs > 0xffff)
    throw new BgpEncodeError(
      `OPEN My AS ${m.myAs} does not fit 2 octets (use AS_TRANS and the four-octet-as capability)`,
    );
  if (!Number.isInteger(m.holdTime) || m.holdTime < 0 || m.holdTime > 0xffff)
    throw new BgpEncodeError(`OPEN hold time ${m.holdTime} out of range`);
  if (!Number.isInteger(m.version) || m.version < 0 || m.version > 255)
    throw new BgpEncodeError(`OPEN version ${m.version} out of range`);
  const caps = m.capabilities.map(encodeCapability);
  const capLen = caps.reduce((n, c) => n + c.length, 0);
  const extended = m.extendedOptionalParameters === true || capLen + 2 > 255;
  // One Capabilities parameter holding every capability; RFC 9072 framing when asked or needed.
  const paramsLen = caps.length === 0 ? 0 : capLen + (extended ? 3 : 2);
  const optHead = extended && caps.length > 0 ? 4 : 1;
  if (paramsLen > 0xffff) throw new BgpEncodeError('OPEN optional parameters too long');
  const out = new Uint8Array(9 + optHead + paramsLen);
  out[0] = m.version;
  out[1] = m.myAs >> 8;
  out[2] = m.myAs & 0xff;
  out[3] = m.holdTime >> 8;
  out[4] = m.holdTime & 0xff;
  out[5] = id >>> 24;
  out[6] = (id >>> 16) & 0xff;
  out[7] = (id >>> 8) & 0xff;
  out[8] = id & 0xff;
  let q = 9;
  if (caps.length === 0) {
    out[q] = 0;
    return out;
  }
  if (extended) {
    out[q] = 255;
    out[q + 1] = OptParamType.ExtendedLength;
    out[q + 2] = paramsLen >> 8;
    out[q + 3] = paramsLen & 0xff;
    q += 4;
    out[q] = OptParamType.Capabilities;
    out[q + 1] = capLen >> 8;
    out[q + 2] = capLen & 0xff;
    q += 3;
  } else {
    out[q] = paramsLen;
    out[q + 1] = OptParamType.Capabilities;
    out[q + 2] = capLen;
    q += 3;
  }
  for (const c of caps) {
    out.set(c, q);
    q += c.length;
  }
  return out;
}
