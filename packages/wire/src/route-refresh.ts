import { copyBytes } from './bytes.js';
import {
  ErrorCode,
  HEADER_LENGTH,
  RouteRefreshSubcode,
  RouteRefreshSubtype,
  type RouteRefreshSubtypeName,
} from './constants.js';
import { BgpDecodeError, BgpEncodeError } from './errors.js';

/** RFC 2918 §3 ROUTE-REFRESH, with the RFC 7313 §3 message subtype. */
export interface RouteRefreshMessage {
  readonly type: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
  /** `normal` (0), `borr` (1, Beginning of Route Refresh), `eorr` (2, End); other values as numbers (RFC 7313 §5: to be ignored). */
  readonly subtype: RouteRefreshSubtypeName | number;
  /** Outbound Route Filtering entries (RFC 5291) after AFI/SAFI, kept raw; absent when there are none. */
  readonly orf?: Uint8Array | undefined;
}

const NAMES: Record<number, RouteRefreshSubtypeName> = { 0: 'normal', 1: 'borr', 2: 'eorr' };

/** Decodes the body of a ROUTE-REFRESH; `b` is the whole message. */
export function decodeRouteRefresh(b: Uint8Array): RouteRefreshMessage {
  const bodyLen = b.length - HEADER_LENGTH;
  const p = HEADER_LENGTH;
  // RFC 2918 §3: AFI (2), Reserved / Message Subtype (1), SAFI (1). RFC 7313 §5: a BoRR or EoRR whose
  // body is not 4 octets is a ROUTE-REFRESH Message Error / Invalid Message Length, data = the message.
  const subtype = bodyLen >= 3 ? b[p + 2]! : 0;
  if (bodyLen < 4 || ((subtype === 1 || subtype === 2) && bodyLen !== 4)) {
    throw new BgpDecodeError(
      ErrorCode.RouteRefresh,
      RouteRefreshSubcode.InvalidMessageLength,
      copyBytes(b),
      `ROUTE-REFRESH body of ${bodyLen} octets`,
    );
  }
  const base = {
    type: 'route-refresh' as const,
    afi: (b[p]! << 8) | b[p + 1]!,
    safi: b[p + 3]!,
    subtype: NAMES[subtype] ?? subtype,
  };
  return bodyLen > 4 ? { ...base, orf: copyBytes(b, p + 4) } : base;
}

/** Encodes the body of a ROUTE-REFRESH. */
export function encodeRouteRefreshBody(m: RouteRefreshMessage): Uint8Array {
  const st = typeof m.subtype === 'number' ? m.subtype : RouteRefreshSubtype[m.subtype];
  const ok = (n: number, max: number) => Number.isInteger(n) && n >= 0 && n <= max;
  if (st === undefined || !ok(st, 255) || !ok(m.afi, 0xffff) || !ok(m.safi, 255))
    throw new BgpEncodeError('ROUTE-REFRESH AFI/SAFI/subtype out of range');
  const orf = m.orf ?? new Uint8Array(0);
  if (orf.length > 0 && st !== 0) throw new BgpEncodeError('only a normal ROUTE-REFRESH may carry ORF entries');
  const out = new Uint8Array(4 + orf.length);
  out[0] = m.afi >> 8;
  out[1] = m.afi & 0xff;
  out[2] = st;
  out[3] = m.safi;
  out.set(orf, 4);
  return out;
}
